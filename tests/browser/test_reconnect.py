"""A page whose socket drops: a banner says so; it reconnects and shows each missed message once."""

import pytest
from playwright.async_api import expect

from tests.browser.people import People
from tests.browser.proxy import CuttableProxy
from tests.live.server import LiveServer

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]


async def test_after_a_dropped_socket_every_missed_message_shows_once(
    server: LiveServer, people: People
):
    async with CuttableProxy(server.port) as proxy:
        alice = await people.guest("Alice", base_url=proxy.url)
        bob = await people.guest("Bob")
        await people.meet(alice, bob, "Harbour talk", "harbour")
        await bob.send("Before the drop")
        await expect(alice.message("Before the drop")).to_have_count(1)

        proxy.cut()
        banner = alice.page.locator(".banner")
        await expect(banner).to_have_text("Connection lost. Reconnecting…")
        await expect(bob.member(alice)).to_have_attribute("data-online", "false")
        missed = [f"While you were away ({n})" for n in range(1, 4)]
        for text in missed:
            await bob.send(text)
        composer = alice.page.get_by_label("Message", exact=True)
        await composer.fill("Written while offline")
        await composer.press("Enter")
        await expect(alice.page.locator(".pending-status")).to_have_text("Sending…")

        proxy.restore()
        await expect(banner).to_have_text("Connected again.")
        await expect(bob.member(alice)).to_have_attribute("data-online", "true")
        await bob.send("Live again")

        expected = ["Hi, Alice!", "Before the drop", *missed, "Written while offline", "Live again"]
        await expect(alice.messages).to_have_text(expected)
        await expect(bob.messages).to_have_text(expected)
        await expect(alice.page.locator(".pending-list li")).to_have_count(0)
        await expect(banner).to_be_hidden()
