"""The browser app through a Redis outage: a message not taken is sent again, not lost."""

import pytest
from playwright.async_api import expect

from tests.browser.conftest import live_server
from tests.browser.people import People

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def server_on_private_redis(bundle, transactional_db, tmp_path, private_redis):
    with live_server(tmp_path, redis_url=private_redis.url) as running:
        yield running


async def test_a_message_sent_while_redis_is_down_goes_once_it_is_back(
    server_on_private_redis, browser, private_redis
):
    async with People(server_on_private_redis.url, browser) as people:
        alice = await people.guest("Alice")
        bob = await people.guest("Bob")
        await people.meet(alice, bob, "Harbour talk", "harbour")

        private_redis.stop()
        composer = alice.page.get_by_label("Message", exact=True)
        await composer.fill("Sent during the outage")
        await composer.press("Enter")
        pending = alice.page.locator(".pending-list .pending-status")
        await expect(pending).to_contain_text("Not sent yet")
        await expect(pending).to_contain_text("try again")

        private_redis.start()
        await expect(alice.message("Sent during the outage")).to_have_count(1, timeout=30_000)
        await expect(pending).to_have_count(0)
        await expect(bob.message("Sent during the outage")).to_have_count(1)
