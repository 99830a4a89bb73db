"""The staff dashboard during a real call in Chromium: each party's quality as it changes, and
a call's detail with its quality charts."""

import re

import pytest
from channels.db import database_sync_to_async
from playwright.async_api import expect

from tests.browser.people import People
from tests.browser.test_calls import SCREENSHOTS, make_staff
from tests.browser.test_trusted_calls import in_a_call

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]


async def test_the_dashboard_shows_each_partys_quality_live_and_a_calls_charts(people: People):
    await database_sync_to_async(make_staff)("operator", "Operator")
    staff = await people.person("Operator")
    await staff.sign_in("operator", "correct horse battery staple")
    await staff.page.get_by_role("link", name="Dashboard").click()
    alice, bob = await people.alice_and_bob()
    await in_a_call(alice, bob)

    row = staff.page.locator("table.dashboard-table tbody tr")
    await expect(row).to_have_attribute("data-state", "accepted")
    for person in (alice, bob):
        line = row.locator(f'.quality-line[data-user-id="{person.id}"]')
        await expect(line).to_have_text(re.compile(rf"^{person.name}: RTT \d+ ms · loss "))
    alices = row.locator(f'.quality-line[data-user-id="{alice.id}"]')
    first = await alices.text_content()
    await expect(alices).not_to_have_text(first or "", timeout=15_000)  # the next sample
    await expect(row.locator(".quality .quality-badge")).to_have_text(re.compile("good|fair|poor"))

    # The table redraws every second during a call: a focused row keeps its focus.
    details = row.get_by_role("button", name=re.compile(r"Details of call #\d+"))
    await details.focus()
    ticking = await row.locator(".duration").text_content()
    await expect(row.locator(".duration")).not_to_have_text(ticking or "")
    await expect(details).to_be_focused()
    await staff.page.keyboard.press("Enter")
    detail = staff.page.locator(".call-detail")
    await expect(detail.locator(".call-chart canvas")).to_have_count(3)
    await expect(detail.locator(".call-chart figcaption")).to_have_text(
        ["Round-trip time (ms)", "Packets lost (%)", "Received (kbit/s)"]
    )
    await expect(detail.locator(".u-legend").first).to_contain_text("Alice")
    charts = detail.locator(".call-charts")
    await expect(charts).to_have_attribute("data-points", re.compile(r"^([3-9]|\d\d+)$"))
    points = int(await charts.get_attribute("data-points") or 0)
    await expect(charts).not_to_have_attribute("data-points", str(points), timeout=15_000)
    await staff.screenshot(SCREENSHOTS / "dashboard-call.png")

    await bob.page.get_by_role("button", name="Hang up").click()
    await expect(detail.locator(".call-facts")).to_contain_text("Ended by")
    await expect(detail.locator(".call-facts")).to_contain_text("hangup")
