"""Login CSRF: another site's page must not sign a visitor's browser into any account."""

import json

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

pytestmark = pytest.mark.django_db

EVIL = "http://evil.example"
OWN = "http://testserver"  # the test client's host: Parley's own pages
ENDPOINTS = {
    "/api/auth/guest/": {"display_name": "Mallory"},
    "/api/auth/token/": {"username": "mallory", "password": "correct horse battery staple"},
    "/api/auth/register/": {"username": "mallory2", "password": "correct horse battery staple"},
}


@pytest.fixture(autouse=True)
def mallory(db):
    get_user_model().objects.create_user("mallory", password="correct horse battery staple")


def signed_in(client: Client) -> bool:
    return "sessionid" in client.cookies


@pytest.mark.parametrize("path", ENDPOINTS)
def test_a_cross_site_form_post_starts_no_session(path):
    browser = Client()
    reply = browser.post(path, ENDPOINTS[path], HTTP_ORIGIN=EVIL)  # urlencoded, as forms post
    assert reply.status_code == 403
    assert not signed_in(browser)


@pytest.mark.parametrize("path", ENDPOINTS)
def test_a_form_post_is_refused_even_from_our_own_pages(path):
    browser = Client()
    reply = browser.post(path, ENDPOINTS[path], HTTP_ORIGIN=OWN)
    assert reply.status_code == 415
    assert not signed_in(browser)


@pytest.mark.parametrize(
    "headers",
    [
        {"HTTP_ORIGIN": EVIL},
        {"HTTP_ORIGIN": "http://testserver:8001"},  # another port: another site
        {"HTTP_SEC_FETCH_SITE": "cross-site"},
    ],
)
@pytest.mark.parametrize("path", ENDPOINTS)
def test_a_json_post_from_another_site_starts_no_session(path, headers):
    browser = Client()
    reply = browser.post(path, json.dumps(ENDPOINTS[path]), content_type="application/json",
                         **headers)
    assert reply.status_code == 403
    assert "Parley's own pages" in reply.json()["detail"]
    assert not signed_in(browser)


@pytest.mark.parametrize("path", ENDPOINTS)
def test_our_own_pages_and_other_programs_sign_in(path):
    page = Client()
    reply = page.post(path, json.dumps(ENDPOINTS[path]), content_type="application/json",
                      HTTP_ORIGIN=OWN, HTTP_SEC_FETCH_SITE="same-origin")
    assert reply.status_code in (200, 201), reply.content
    assert signed_in(page)
    program = Client()  # no Origin, no Sec-Fetch-Site: not a browser
    data = dict(ENDPOINTS[path], username="mallory3") if "register" in path else ENDPOINTS[path]
    reply = program.post(path, json.dumps(data), content_type="application/json")
    assert reply.status_code in (200, 201), reply.content
