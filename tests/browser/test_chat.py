"""Two people in two browser contexts: the lobby, live chat, presence, typing, history."""

import pytest
from channels.db import database_sync_to_async
from django.contrib.auth import get_user_model
from playwright.async_api import expect

from rooms.models import Message, Room
from tests.browser.people import People
from tests.consumers.test_messages_stream import store_without_push
from tests.consumers.test_paging import crowded_room, many_rooms
from tests.live.server import ROOT

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = ROOT / "docs" / "img"
XSS = "<img src=x onerror=alert(1)>"


async def test_a_room_created_elsewhere_appears_in_the_lobby_live(people: People):
    alice = await people.guest("Alice")
    bob = await people.guest("Bob")
    await expect(bob.page.get_by_role("heading", name="Rooms")).to_be_visible()

    await alice.create_room("Harbour talk", "harbour")
    await alice.create_room("Night owls", "night-owls", private=True)
    await alice.create_room("Release planning", "release")

    await expect(bob.page.get_by_role("link", name="Harbour talk")).to_be_visible()
    await expect(bob.page.get_by_role("link", name="Release planning")).to_be_visible()
    await expect(bob.page.get_by_role("link", name="Night owls")).to_have_count(0)
    await alice.page.get_by_role("link", name="Rooms", exact=True).click()
    await expect(alice.page.get_by_role("link", name="Night owls")).to_be_visible()
    await alice.screenshot(SCREENSHOTS / "lobby.png")


async def test_an_account_can_register_sign_out_and_sign_in_again(people: People):
    dana = await people.person("dana")
    await dana.open()
    await dana.page.locator("#register-username").fill("dana")
    await dana.page.locator("#register-password").fill("a long and unusual passphrase")
    await dana.page.get_by_role("button", name="Create account").click()
    await dana.signed_in()

    await dana.page.get_by_role("button", name="Sign out").click()
    await expect(dana.page.get_by_role("heading", name="Continue as a guest")).to_be_visible()
    await dana.page.reload()
    await expect(dana.page.get_by_role("heading", name="Continue as a guest")).to_be_visible()
    await dana.sign_in("dana", "a long and unusual passphrase")
    await expect(dana.page.get_by_role("heading", name="Rooms")).to_be_visible()


async def test_signing_out_in_one_tab_signs_out_the_others(people: People):
    erin = await people.guest("Erin")
    other_tab = await erin.context.new_page()
    await other_tab.goto(erin.base_url + "/")
    await expect(other_tab.locator(".me-name")).to_have_text("Erin")

    await erin.page.get_by_role("button", name="Sign out").click()
    # The server closes the other tab's socket (4401): it does not go on as a ghost.
    await expect(
        other_tab.get_by_text("Your session has ended. Please sign in again.")
    ).to_be_visible()
    await expect(other_tab.get_by_role("heading", name="Continue as a guest")).to_be_visible()


async def test_two_people_chat_live_see_each_other_online_and_typing(people: People):
    alice = await people.guest("Alice")
    bob = await people.guest("Bob")
    room = await alice.create_room("Harbour talk", "harbour")
    await bob.open_room(room)
    await bob.join_room()

    await bob.page.get_by_label("Message", exact=True).press_sequentially("Hel")
    await expect(alice.page.locator(".typing")).to_have_text("Bob is typing…")
    await alice.sees_online(bob)
    await bob.sees_online(alice)

    await bob.page.get_by_label("Message", exact=True).fill("")
    await bob.send("Hello Alice, the ferry is late again.")
    await expect(alice.message("Hello Alice, the ferry is late again.")).to_have_count(1)
    await expect(alice.page.locator(".typing")).to_have_text("")
    await alice.send("Typical! I'll save you a seat.")
    await expect(bob.message("Typical! I'll save you a seat.")).to_have_count(1)
    await bob.send(XSS)

    await expect(alice.message(XSS)).to_have_count(1)
    assert await alice.page.locator("ol.message-log img").count() == 0
    await alice.screenshot(SCREENSHOTS / "room.png")


async def test_my_own_messages_can_be_edited_and_deleted_live(people: People):
    alice = await people.guest("Alice")
    bob = await people.guest("Bob")
    room = await people.meet(alice, bob, "Harbour talk", "harbour")
    await alice.send("See you at 9")
    await alice.send("Wrong room, sorry")

    mine = alice.message_item("See you at 9")
    await mine.get_by_role("button", name="Edit").click()
    await alice.page.get_by_label("Edit your message").fill("See you at 10")
    await alice.page.get_by_label("Edit your message").press("Enter")
    await expect(bob.message("See you at 10")).to_have_count(1)
    await expect(bob.message_item("See you at 10")).to_contain_text("(edited)")
    wrong = alice.message_item("Wrong room, sorry")
    await wrong.get_by_role("button", name="Delete").click()
    await expect(bob.message("Wrong room, sorry")).to_have_count(0)
    await expect(alice.message("Wrong room, sorry")).to_have_count(0)

    theirs = alice.message_item(f"Hi, {alice.name}!")
    await expect(theirs.get_by_role("button")).to_have_count(0)
    await bob.open_room(room)
    await expect(bob.messages).to_have_text([f"Hi, {alice.name}!", "See you at 10"])


async def test_scrolling_up_loads_older_messages(people: People):
    alice = await people.guest("Alice")
    room = await alice.create_room("Archive", "archive")
    await database_sync_to_async(post_history)(room, alice.id, count=120)

    await alice.open_room(room)
    await expect(alice.messages).to_have_count(50)
    await expect(alice.messages.last).to_have_text("Old message 120")
    for shown in (100, 120):
        await alice.page.locator(".chat-scroll").evaluate("(el) => { el.scrollTop = 0; }")
        await expect(alice.messages).to_have_count(shown)
    await expect(alice.messages.first).to_have_text("Old message 1")
    await expect(alice.page.get_by_role("button", name="Load older messages")).to_be_hidden()


async def test_the_owner_invites_someone_to_a_private_room(people: People):
    alice = await people.guest("Alice")
    bob = await people.guest("Bob")
    await alice.create_room("Night owls", "night-owls", private=True)
    await expect(bob.page.get_by_role("link", name="Night owls")).to_have_count(0)

    await alice.page.get_by_label("…or their user id").fill(str(bob.id))
    await alice.page.get_by_role("button", name="Invite").click()
    invited = alice.page.get_by_role("status").filter(has_text="Bob can now see this room")
    await expect(invited).to_be_visible()
    await expect(alice.member(bob)).to_be_visible()

    await bob.page.get_by_role("link", name="Night owls").click()
    await bob.room_ready()
    await bob.send("Thanks for the invite")
    await expect(alice.message("Thanks for the invite")).to_have_count(1)


async def test_leaving_a_room_ends_it_on_every_tab_and_it_can_be_joined_again(people: People):
    alice = await people.guest("Alice")
    bob = await people.guest("Bob")
    room = await people.meet(alice, bob, "Harbour talk", "harbour")
    second_tab = await bob.context.new_page()
    await second_tab.goto(f"{bob.base_url}/#/room/{room}")
    await expect(second_tab.get_by_label("Message", exact=True)).to_be_visible()

    await bob.page.get_by_role("button", name="Leave room").click()

    await expect(bob.page.get_by_role("heading", name="Rooms")).to_be_visible()
    await expect(second_tab.get_by_text("You are no longer a member of this room.")).to_be_visible()
    await expect(second_tab.get_by_label("Message", exact=True)).to_be_hidden()
    await expect(second_tab.get_by_role("button", name="Join room")).to_be_hidden()
    await bob.open_room(room)
    await expect(bob.page.get_by_label("Message", exact=True)).to_be_hidden()
    await bob.join_room()
    await bob.send("Back again")
    await expect(alice.message("Back again")).to_have_count(1)


def post_history(room_id: int, author_id: int, count: int) -> None:
    room = Room.objects.get(pk=room_id)
    author = get_user_model().objects.get(pk=author_id)
    Message.objects.bulk_create(
        Message(room=room, author=author, body=f"Old message {n}", seq=n)
        for n in range(1, count + 1)
    )
    Room.objects.filter(pk=room_id).update(last_seq=count)


def crowded_lobby(rooms: int, members: int) -> int:
    owner = get_user_model().objects.create(username="owner")
    many_rooms(owner, rooms)
    return crowded_room(owner, members)[0]


async def test_the_lobby_and_the_members_show_more_than_a_page(people: People):
    alice = await people.guest("Alice")
    crowd = await database_sync_to_async(crowded_lobby)(rooms=150, members=120)
    await alice.page.reload()
    await expect(alice.page.get_by_role("link", name="Room 149", exact=True)).to_be_visible()
    await alice.open_room(crowd)
    await expect(alice.page.locator("li.member")).to_have_count(120)


def store_quietly(room_id: int, author_id: int, body: str) -> None:
    room = Room.objects.get(pk=room_id)
    store_without_push(room, get_user_model().objects.get(pk=author_id), body)


async def test_a_message_whose_push_was_lost_shows_up_with_the_next_one(people: People):
    alice = await people.guest("Alice")
    bob = await people.guest("Bob")
    room = await people.meet(alice, bob, "Harbour talk", "harbour")
    await database_sync_to_async(store_quietly)(room, bob.id, "Stored, never pushed")
    await expect(alice.message("Stored, never pushed")).to_have_count(0)
    await bob.send("Did you get my last one?")
    await expect(alice.messages).to_have_text(
        [f"Hi, {alice.name}!", "Stored, never pushed", "Did you get my last one?"]
    )
