"""Calls people can trust, in real Chromium: the page says what the connection really does —
audio only without a camera, its quality as the browsers measure it — and a dropped signaling
socket does not drop the call."""

import re

import pytest
from playwright.async_api import expect

from tests.browser.people import People, Person
from tests.browser.proxy import CuttableProxy
from tests.browser.test_calls import REMOTE_VIDEO_PLAYING, VIDEO_TIMEOUT_MS, remote_video_plays
from tests.live.server import LiveServer

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]

NO_CAMERA = """() => {
  const real = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
  navigator.mediaDevices.getUserMedia = (constraints) => constraints.video
    ? Promise.reject(new DOMException("Permission denied", "NotAllowedError"))
    : real(constraints);
}"""

# REMOTE_VIDEO_PLAYING counts new frames from its first poll: start counting again.
FRAMES_FROM_NOW = "() => { delete document.querySelector('video.remote-video').firstFrames; }"


async def in_a_call(caller: Person, callee: Person) -> None:
    await caller.call(callee)
    await callee.ring(caller).get_by_role("button", name="Accept").click()
    for person in (caller, callee):
        await expect(person.page.locator(".call-status")).to_have_text("Connected")


async def test_without_a_camera_the_call_goes_on_with_audio_only_and_both_are_told(
    people: People,
):
    alice, bob = await people.alice_and_bob()
    await alice.page.evaluate(NO_CAMERA)
    await in_a_call(alice, bob)
    await expect(alice.page.locator(".call-note")).to_have_text(
        "Your camera is unavailable (Permission denied): audio only."
    )
    await expect(bob.page.locator(".call-note")).to_have_text("Alice has no camera: audio only.")
    # Alice still sees Bob; her own camera button has nothing to turn off.
    await remote_video_plays(alice.page)
    await expect(alice.page.get_by_role("button", name="Turn camera off")).to_be_disabled()
    # Bob receives her sound and no picture.
    tracks = await bob.page.locator("video.remote-video").evaluate(
        "(v) => v.srcObject.getTracks().filter((t) => t.readyState === 'live')"
        ".map((t) => t.kind).sort()"
    )
    assert "audio" in tracks
    await expect(bob.page.locator(".call-panel")).to_have_attribute("data-remote-video", "false")


async def test_the_call_shows_its_quality_as_measured_and_it_changes(people: People):
    alice, bob = await people.alice_and_bob()
    await in_a_call(alice, bob)
    for person in (alice, bob):
        quality = person.page.locator(".call-quality")
        await expect(quality).to_have_attribute("data-rating", re.compile("good|fair|poor"))
        numbers = person.page.locator(".call-quality .quality-numbers")
        shape = re.compile(r"RTT \d+ ms · loss [\d.]+ % · \d+ kbit/s in")
        await expect(numbers).to_have_text(shape)
        first = await numbers.text_content()
        # A sample every 4 s: the bitrate (and more) moves from one to the next.
        await expect(numbers).not_to_have_text(first or "", timeout=15_000)


async def test_a_signaling_socket_dropped_mid_call_keeps_the_call_and_its_video(
    server: LiveServer, people: People
):
    async with CuttableProxy(server.port) as proxy:
        alice, bob = await people.alice_and_bob(alice_url=proxy.url)
        await in_a_call(alice, bob)
        await remote_video_plays(alice.page)

        proxy.cut()
        banner = alice.page.locator(".banner")
        await expect(banner).to_have_text("Connection lost. Reconnecting…")
        # The media is peer to peer: Alice keeps seeing Bob while her socket is down.
        await alice.page.evaluate(FRAMES_FROM_NOW)
        await alice.page.wait_for_function(
            REMOTE_VIDEO_PLAYING, timeout=VIDEO_TIMEOUT_MS, polling=100
        )
        await expect(alice.page.locator(".call-status")).to_have_text("Connected")

        proxy.restore()
        await expect(banner).to_have_text("Connected again.")
        await expect(alice.page.locator(".call-panel")).to_have_count(1)
        await expect(bob.page.locator(".call-panel")).to_have_count(1)
        # Resubscribed: Bob's hang-up reaches her.
        await bob.page.get_by_role("button", name="Hang up").click()
        await expect(alice.notice("Call with Bob ended after")).to_be_visible()
