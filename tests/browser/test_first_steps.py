"""What a newcomer meets first: a signed-out first load with nothing failing, errors in sentences,
a room that does not exist said so, and an empty room inviting the first message."""

from typing import Any

import pytest
from playwright.async_api import Page, expect

from tests.browser.people import People

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]

NO_SUCH_ROOM = 987654


def failures(page: Page) -> list[str]:
    """Every response that failed and every console error the page shows from now on."""
    seen: list[str] = []

    def response(answer: Any) -> None:
        if answer.status >= 400:
            seen.append(f"{answer.status} {answer.request.method} {answer.url}")

    def console(message: Any) -> None:
        if message.type == "error":
            seen.append(f"console: {message.text}")

    page.on("response", response)
    page.on("console", console)
    page.on("requestfailed", lambda request: seen.append(f"failed: {request.url}"))
    return seen


async def test_the_signed_out_first_load_has_nothing_failing(people: People):
    newcomer = await people.person("Newcomer")
    seen = failures(newcomer.page)

    await newcomer.open()
    await expect(newcomer.page.get_by_label("Display name")).to_be_visible()
    await newcomer.page.wait_for_load_state("networkidle")

    assert seen == []


async def test_a_reload_knows_who_is_signed_in_without_asking(people: People):
    ada = await people.guest("Ada")
    asked: list[str] = []
    ada.page.on("request", lambda request: asked.append(request.url))
    seen = failures(ada.page)

    await ada.page.reload()
    await expect(ada.page.locator(".me-name")).to_have_text("Ada")
    await expect(ada.page.get_by_role("heading", name="Rooms")).to_be_visible()

    assert not [url for url in asked if "/api/auth/me/" in url]
    assert seen == []


async def test_a_taken_room_name_is_said_in_a_sentence(people: People):
    alice = await people.guest("Alice")
    await alice.create_room("Harbour talk", "harbour")

    await alice.page.goto(alice.base_url + "/#/")
    await alice.page.get_by_label("Title").fill("Another harbour")
    await alice.page.get_by_label("Name", exact=True).fill("harbour")
    await alice.page.get_by_role("button", name="Create room").click()

    await expect(alice.page.locator(".form-error")).to_have_text(
        "A room with this name already exists."
    )


async def test_a_room_that_does_not_exist_says_so(people: People):
    bob = await people.guest("Bob")

    await bob.open_room(NO_SUCH_ROOM)

    await expect(bob.page.get_by_role("heading", level=1)).to_have_text("Room not found")
    await expect(bob.page.locator(".room-notice")).to_have_text(
        "This room does not exist, or you cannot see it."
    )
    await expect(bob.page.get_by_text("Loading…")).to_have_count(0)
    await expect(bob.page.get_by_role("heading", name="Members")).to_be_hidden()
    await expect(bob.page.get_by_role("log", name="Chat history")).to_be_hidden()
    assert await bob.page.title() == "Room not found · Parley"


async def test_an_empty_room_invites_the_first_message_until_one_arrives(people: People):
    alice = await people.guest("Alice")
    bob = await people.guest("Bob")
    room = await alice.create_room("Harbour talk", "harbour")
    await expect(alice.page.get_by_text("No messages yet. Say hello!")).to_be_visible()

    await bob.open_room(room)
    # Not a member yet: nothing to say hello with.
    await expect(bob.page.locator(".chat-scroll > .empty")).to_have_text("No messages yet.")
    await bob.join_room()
    await expect(bob.page.get_by_text("No messages yet. Say hello!")).to_be_visible()
    await bob.send("Hello, Alice!")

    await expect(bob.page.get_by_text("No messages yet.")).to_be_hidden()
    await expect(alice.message("Hello, Alice!")).to_have_count(1)
    await expect(alice.page.get_by_text("No messages yet.")).to_be_hidden()
