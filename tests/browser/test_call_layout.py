"""Where the call sits on the page: beside the room's chat on a wide screen, above it otherwise."""

import os
from pathlib import Path

import pytest
from playwright.async_api import FloatRect, Locator, Page, ViewportSize, expect

from tests.browser.people import People, Person
from tests.browser.test_calls import remote_video_plays

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]

WIDE: ViewportSize = {"width": 1400, "height": 900}
NARROW: ViewportSize = {"width": 900, "height": 900}
# Set it to a folder to keep a screenshot of each layout (to look at, not compared).
SHOTS = os.environ.get("PARLEY_LAYOUT_SHOTS")


async def box(locator: Locator) -> FloatRect:
    shown = await locator.bounding_box()
    assert shown, f"{locator} is not on the page"
    return shown


def inside(rect: FloatRect, viewport: ViewportSize) -> bool:
    return (
        rect["x"] >= 0
        and rect["y"] >= 0
        and rect["x"] + rect["width"] <= viewport["width"]
        and rect["y"] + rect["height"] <= viewport["height"]
    )


def overlap(a: FloatRect, b: FloatRect) -> bool:
    return (
        a["x"] < b["x"] + b["width"]
        and b["x"] < a["x"] + a["width"]
        and a["y"] < b["y"] + b["height"]
        and b["y"] < a["y"] + a["height"]
    )


async def in_a_call(people: People) -> tuple[Person, Person]:
    """Alice and Bob in a room, in a call whose video Alice sees."""
    alice, bob = await people.alice_and_bob()
    await alice.page.set_viewport_size(WIDE)
    await alice.call(bob)
    await bob.ring(alice).get_by_role("button", name="Accept").click()
    await remote_video_plays(alice.page)
    return alice, bob


async def keep(page: Page, name: str) -> None:
    if SHOTS:
        await page.screenshot(path=str(Path(SHOTS) / f"{name}.png"))


async def test_during_a_call_the_chat_stays_beside_the_video_on_a_wide_screen(people: People):
    alice, bob = await in_a_call(people)

    await bob.send("Can you read me while we talk?")

    said = alice.message_item("Can you read me while we talk?")
    await expect(said).to_be_in_viewport(ratio=1)
    await remote_video_plays(alice.page)
    video = await box(alice.page.locator("video.remote-video"))
    chat = [
        await box(said),
        await box(alice.page.locator(".chat-scroll")),
        await box(alice.page.locator("form.composer")),
    ]
    for rect in (video, *chat):
        assert inside(rect, WIDE), rect
    for rect in chat:
        assert not overlap(video, rect), (video, rect)
        assert video["x"] + video["width"] <= rect["x"]  # the video on the left, the chat right
    await keep(alice.page, "call-wide")


async def test_during_a_call_on_a_narrow_screen_the_chat_comes_under_the_video(people: People):
    alice, bob = await in_a_call(people)
    await alice.page.set_viewport_size(NARROW)

    await bob.send("Still there?")

    await expect(alice.message("Still there?")).to_have_count(1)
    video = await box(alice.page.locator("video.remote-video"))
    composer = await box(alice.page.locator("form.composer"))
    assert video["y"] + video["height"] <= composer["y"]
    assert video["width"] > NARROW["width"] / 2  # the call spans the page
    await keep(alice.page, "call-narrow")
