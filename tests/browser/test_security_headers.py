"""Every page runs under a Content-Security-Policy that allows nothing inline or from elsewhere:
the browser app (every browser test fails on a policy violation, see people.py) and the docs."""

import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
from playwright.async_api import expect

from tests.browser.people import People
from tests.live.server import LiveServer, uvicorn

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]


async def test_the_api_docs_render_under_the_policy(people: People):
    reader = await people.person("Reader")
    await reader.open("/api/docs/")
    # Swagger UI draws the schema's operations only if its scripts ran.
    await expect(reader.page.get_by_text("/api/rooms/", exact=True).first).to_be_visible()


@pytest.fixture(scope="module")
def production(tmp_path_factory, django_db_blocker) -> Iterator[LiveServer]:
    """A server as production runs it: DEBUG unset (debug pages would be exempt)."""
    with django_db_blocker.unblock():
        with uvicorn(tmp_path_factory.mktemp("prod"), "prod", extra_env={"DEBUG": None}) as run:
            yield run


@pytest.mark.parametrize("path", ["/", "/api/docs/", "/api/schema/", "/admin/login/", "/nothing/"])
def test_every_response_carries_the_security_headers(production: LiveServer, path):
    try:
        response = urllib.request.urlopen(production.url + path, timeout=10)
    except urllib.error.HTTPError as refused:  # the 404 carries them too
        response = refused
    headers = response.headers
    policy = dict(
        directive.strip().split(" ", 1)
        for directive in headers["Content-Security-Policy"].split(";")
    )
    assert policy["script-src"] == "'self'" and policy["default-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'" and policy["object-src"] == "'none'"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
