"""1:1 video calls in real Chromium: ring, answer, see each other, hang up; declined; missed."""

import re
import time
from typing import Any

import pytest
from channels.db import database_sync_to_async
from playwright.async_api import Page, expect

from calls.models import Call
from tests.browser.people import People
from tests.calls.test_calls_stream import wait_until
from tests.conftest import make_user
from tests.live.server import ROOT

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = ROOT / "docs" / "img"
VIDEO_TIMEOUT_MS = 20_000

# True once the remote <video> shows the other party's camera: it has a picture (videoWidth)
# and decodes new frames (the count at the first poll is kept on the element, then exceeded).
REMOTE_VIDEO_PLAYING = """() => {
  const video = document.querySelector("video.remote-video");
  if (!video || video.videoWidth === 0 || video.paused) return false;
  const frames = video.getVideoPlaybackQuality().totalVideoFrames;
  if (video.firstFrames === undefined) { video.firstFrames = frames; return false; }
  return frames > video.firstFrames + 5;
}"""


async def remote_video_plays(page: Page) -> dict:
    await page.wait_for_function(REMOTE_VIDEO_PLAYING, timeout=VIDEO_TIMEOUT_MS, polling=100)
    return await page.locator("video.remote-video").evaluate(
        "(v) => ({width: v.videoWidth, height: v.videoHeight,"
        " frames: v.getVideoPlaybackQuality().totalVideoFrames})"
    )


async def test_a_video_call_shows_each_camera_to_the_other_until_hang_up(people: People):
    alice, bob = await people.alice_and_bob()

    clicked = time.monotonic()
    await alice.call(bob)
    await expect(alice.page.locator(".call-title")).to_have_text("Calling Bob…")
    await bob.ring(alice).get_by_role("button", name="Accept").click()

    alice_sees, bob_sees = await remote_video_plays(alice.page), await remote_video_plays(bob.page)
    connected = time.monotonic() - clicked
    print(f"\nvideo call: Call click to remote video playing in both pages: {connected:.2f} s")
    print(f"alice sees {alice_sees}; bob sees {bob_sees}")
    assert alice_sees["width"] > 0 and bob_sees["width"] > 0
    for person, other in ((alice, bob), (bob, alice)):
        page = person.page
        await expect(page.locator(".call-title")).to_have_text(f"In a call with {other.name}")
        await expect(page.locator(".call-status")).to_have_text("Connected")
        await expect(page.locator(".call-timer")).to_have_text(re.compile(r"^0:0[1-9]$"))

    # The clients told Parley when media flowed: the call's set-up time is known.
    await wait_until(lambda: Call.objects.filter(connected_at__isnull=False).exists())
    await alice.screenshot(SCREENSHOTS / "call.png")
    mute = bob.page.get_by_role("button", name="Mute microphone")
    await mute.click()
    await expect(bob.page.get_by_role("button", name="Unmute microphone")).to_have_attribute(
        "aria-pressed", "true"
    )
    await bob.page.get_by_role("button", name="Turn camera off").click()
    await expect(bob.page.get_by_role("button", name="Turn camera on")).to_be_visible()

    await alice.page.get_by_role("button", name="Hang up").click()
    await expect(alice.notice("Call with Bob ended after")).to_be_visible()
    await expect(bob.notice("Call with Alice ended after")).to_be_visible()
    for person in (alice, bob):
        await expect(person.page.locator(".call-panel")).to_have_count(0)
        assert await person.page.evaluate("document.querySelectorAll('video').length") == 0


async def test_a_camera_that_cannot_start_ends_the_call_saying_why(people: People):
    alice, bob = await people.alice_and_bob()
    await bob.page.evaluate(
        "() => { navigator.mediaDevices.getUserMedia = () =>"
        " Promise.reject(new DOMException('Permission denied', 'NotAllowedError')); }"
    )
    await alice.call(bob)
    await bob.ring(alice).get_by_role("button", name="Accept").click()
    await expect(bob.notice("Camera and microphone unavailable (Permission denied)"))\
        .to_be_visible()
    await expect(bob.notice("You answered Alice on another tab")).to_have_count(0)
    await expect(alice.notice("Call with Bob ended: a camera or microphone could not start"))\
        .to_be_visible()
    ended = await database_sync_to_async(Call.objects.get)()
    assert (ended.state, ended.end_reason) == ("ended", "user_media_failed")


async def test_a_ringing_call_flashes_the_title_until_answered(people: People):
    alice, bob = await people.alice_and_bob()
    before = await bob.page.title()
    await alice.call(bob)
    await expect(bob.page).to_have_title("📞 Alice is calling you")
    await expect(bob.page).to_have_title(before)  # it flashes
    await bob.ring(alice).get_by_role("button", name="Accept").click()
    await expect(bob.page.locator(".call-title")).to_have_text("In a call with Alice")
    await expect(bob.page).to_have_title(before)
    assert await bob.page.title() == before


async def test_a_declined_call_is_told_to_both(people: People):
    alice, bob = await people.alice_and_bob()

    await alice.call(bob)
    await bob.ring(alice).get_by_role("button", name="Decline").click()

    await expect(alice.notice("Bob declined the call")).to_be_visible()
    await expect(bob.notice("You declined the call from Alice")).to_be_visible()
    await expect(alice.page.locator(".call-panel")).to_have_count(0)
    await expect(bob.ring(alice)).to_have_count(0)


async def test_calling_someone_already_in_a_call_says_they_are_busy(people: People):
    alice = await people.guest("Alice")
    bob = await people.guest("Bob")
    carol = await people.guest("Carol")
    room = await people.meet(alice, bob, "Harbour talk", "harbour")
    await carol.open_room(room)
    await carol.join_room()
    await carol.send("Anyone around?")
    await expect(bob.message("Anyone around?")).to_have_count(1)
    await carol.sees_online(bob)
    await alice.call(bob)
    await bob.ring(alice).get_by_role("button", name="Accept").click()
    await expect(bob.page.locator(".call-title")).to_have_text("In a call with Alice")

    await carol.call(bob)

    await expect(carol.notice("Bob is busy in another call")).to_be_visible()
    await expect(bob.notice("Missed call from Carol (you were in another call)")).to_be_visible()
    await expect(bob.page.locator(".call-title")).to_have_text("In a call with Alice")
    await expect(carol.page.locator(".call-panel")).to_have_count(0)


async def test_an_unanswered_call_rings_on_every_tab_then_is_missed(people_quick_ring: People):
    alice = await people_quick_ring.guest("Alice")
    bob = await people_quick_ring.guest("Bob")
    await people_quick_ring.meet(alice, bob, "Harbour talk", "harbour")
    second_tab = await bob.context.new_page()
    await second_tab.goto(bob.base_url + "/#/")
    await expect(second_tab.locator(".me-name")).to_have_text("Bob")

    await alice.call(bob)
    await expect(bob.ring(alice)).to_be_visible()
    await expect(second_tab.get_by_role("alertdialog", name="Alice is calling you")).to_be_visible()

    await expect(alice.notice("Bob did not answer")).to_be_visible()
    await expect(bob.notice("Missed call from Alice")).to_be_visible()
    missed_on_second_tab = second_tab.locator(".call-notice").filter(has_text="Missed call from")
    await expect(missed_on_second_tab).to_have_text(re.compile("Missed call from Alice"))
    await expect(bob.ring(alice)).to_have_count(0)


async def test_the_dashboard_shows_calls_ring_connect_and_end_live(people: People):
    await database_sync_to_async(make_staff)("operator", "Operator")
    staff = await people.person("Operator")
    await staff.sign_in("operator", "correct horse battery staple")
    await staff.page.get_by_role("link", name="Dashboard").click()
    await expect(staff.page.get_by_role("heading", name="Call dashboard")).to_be_visible()
    alice, bob = await people.alice_and_bob()

    await alice.call(bob)
    row = staff.page.locator("table.dashboard-table tbody tr")

    def figure(name: str) -> Any:
        return staff.page.locator(f'.figures [data-figure="{name}"] dd')

    await expect(row).to_have_count(1)
    await expect(row).to_have_attribute("data-state", "ringing")
    await expect(figure("ringing")).to_have_text("1")
    await expect(row.locator(".caller")).to_have_text("Alice")
    await expect(row.locator(".callee")).to_have_text("Bob")
    await expect(row.locator(".state")).to_have_text("Ringing")

    await bob.ring(alice).get_by_role("button", name="Accept").click()
    await expect(row).to_have_attribute("data-state", "accepted")
    await expect(row.locator(".state")).to_have_text("In progress")
    await expect(row.locator(".duration")).to_have_text(re.compile(r"^0:0[1-9]$"))
    await expect(figure("in-progress")).to_have_text("1")
    await expect(figure("ringing")).to_have_text("0")

    await bob.page.get_by_role("button", name="Hang up").click()
    await expect(row).to_have_attribute("data-state", "ended")
    await expect(row.locator(".state")).to_have_text("Ended")
    await expect(row.locator(".duration")).to_have_text(re.compile(r"^\d:\d\d$"))
    await expect(figure("in-progress")).to_have_text("0")
    await expect(figure("calls")).to_have_text("1")
    await expect(figure("answer-rate")).to_have_text("100 %")
    await expect(figure("outcomes")).to_have_text("1 accepted")
    await staff.screenshot(SCREENSHOTS / "dashboard.png")


async def test_a_dashboard_opened_during_a_call_shows_it_at_once(people: People):
    alice, bob = await people.alice_and_bob()
    await alice.call(bob)
    await bob.ring(alice).get_by_role("button", name="Accept").click()
    await expect(bob.page.locator(".call-title")).to_have_text("In a call with Alice")

    await database_sync_to_async(make_staff)("operator", "Operator")
    staff = await people.person("Operator")
    await staff.sign_in("operator", "correct horse battery staple")
    await staff.page.get_by_role("link", name="Dashboard").click()
    row = staff.page.locator("table.dashboard-table tbody tr")
    await expect(row).to_have_count(1)
    await expect(row).to_have_attribute("data-state", "accepted")
    await expect(row.locator(".caller")).to_have_text("Alice")
    await bob.page.get_by_role("button", name="Hang up").click()
    await expect(row).to_have_attribute("data-state", "ended")


async def test_the_dashboard_is_for_staff_only(people: People):
    alice = await people.guest("Alice")
    await expect(alice.page.get_by_role("link", name="Dashboard")).to_be_hidden()
    await alice.open("/#/dashboard")
    await expect(alice.page.get_by_text("The call dashboard is for staff.")).to_be_visible()


def make_staff(username: str, name: str) -> Any:
    user = make_user(username, name)
    user.is_staff = True
    user.save()
    return user
