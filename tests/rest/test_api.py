"""The REST twin: same rules as the socket, OpenAPI schema and docs, identity endpoints."""

import re
import uuid

import pytest
from asgiref.sync import sync_to_async
from rest_framework.test import APIClient

from rooms import services
from rooms.models import Message
from tests.consumers.test_paging import crowded_room, many_rooms

pytestmark = pytest.mark.django_db(transaction=True)


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_register_then_obtain_token_then_sign_out():
    http = APIClient()
    registered = http.post(
        "/api/auth/register/", {"username": "dora", "password": "a long passphrase 42"}
    )
    assert registered.status_code == 201
    token = http.post(
        "/api/auth/token/", {"username": "dora", "password": "a long passphrase 42"}
    ).json()["token"]
    other = APIClient()
    other.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    me = other.get("/api/auth/me/").json()
    assert (me["username"], me["is_staff"]) == ("dora", False)
    assert other.post("/api/auth/logout/").status_code == 204
    assert other.get("/api/auth/me/").status_code in (401, 403)


def test_register_refuses_weak_password_and_taken_username(alice):
    http = APIClient()
    assert http.post("/api/auth/register/", {"username": "x", "password": "123"}).status_code == 400
    taken = http.post("/api/auth/register/", {"username": "ALICE", "password": "a long pass 42!"})
    assert taken.status_code == 400


def test_wrong_password_gets_no_token(alice):
    reply = APIClient().post("/api/auth/token/", {"username": "alice", "password": "wrong"})
    assert reply.status_code == 400
    assert "token" not in reply.json()


def test_guest_gets_a_session_and_a_token():
    http = APIClient()
    reply = http.post("/api/auth/guest/", {"display_name": "Visitor"})
    assert reply.status_code == 201
    assert reply.json()["user"]["display_name"] == "Visitor"
    assert http.get("/api/auth/me/").status_code == 200  # the session cookie works


def test_sign_in_throttle_cannot_be_dodged_with_a_made_up_forwarded_address(monkeypatch):
    from project.auth import AuthThrottle

    monkeypatch.setattr(AuthThrottle, "THROTTLE_RATES", {"auth": "3/minute"})
    http = APIClient()
    answers = [
        http.post(
            "/api/auth/guest/", {"display_name": "Flood"}, HTTP_X_FORWARDED_FOR=f"10.0.0.{n}"
        ).status_code
        for n in range(4)
    ]
    assert answers == [201, 201, 201, 429]


def test_anonymous_gets_401_on_the_api():
    assert APIClient().get("/api/rooms/").status_code in (401, 403)


def test_private_room_is_404_for_non_members(alice, bob):
    room = services.room_create(owner=alice, name="secret", title="S", is_private=True)
    assert client_for(bob).get(f"/api/rooms/{room.pk}/").status_code == 404
    assert client_for(bob).get(f"/api/messages/?room={room.pk}").status_code == 404
    assert client_for(alice).get(f"/api/rooms/{room.pk}/").status_code == 200


def test_only_owner_changes_room(alice, bob):
    room = services.room_create(owner=alice, name="general", title="G")
    assert client_for(bob).patch(f"/api/rooms/{room.pk}/", {"title": "x"}).status_code == 403
    assert client_for(alice).patch(f"/api/rooms/{room.pk}/", {"title": "y"}).status_code == 200


def test_join_post_edit_and_page_messages(alice, bob):
    room = services.room_create(owner=alice, name="general", title="G")
    bob_http = client_for(bob)
    assert bob_http.post("/api/messages/", {"room": room.pk, "body": "x"}).status_code == 403
    assert bob_http.post(f"/api/rooms/{room.pk}/join/").status_code == 200
    ids = [
        bob_http.post("/api/messages/", {"room": room.pk, "body": f"m{i}"}).json()["id"]
        for i in range(3)
    ]
    page = bob_http.get(f"/api/messages/?room={room.pk}&after={ids[0]}").json()
    assert [m["id"] for m in page] == ids[1:]
    assert client_for(alice).patch(f"/api/messages/{ids[0]}/", {"body": "no"}).status_code == 403
    assert bob_http.patch(f"/api/messages/{ids[0]}/", {"body": "yes"}).json()["body"] == "yes"


def test_retried_post_with_same_client_id_does_not_duplicate(alice):
    room = services.room_create(owner=alice, name="general", title="G")
    data = {"room": room.pk, "body": "once", "client_id": str(uuid.uuid4())}
    http = client_for(alice)
    assert http.post("/api/messages/", data).status_code == 201
    assert http.post("/api/messages/", data).status_code == 200
    assert Message.objects.count() == 1


def test_members_listed_only_for_visible_rooms(alice, bob):
    room = services.room_create(owner=alice, name="secret", title="S", is_private=True)
    assert client_for(bob).get(f"/api/memberships/?room={room.pk}").status_code == 404
    members = client_for(alice).get(f"/api/memberships/?room={room.pk}").json()["results"]
    assert [m["user"]["id"] for m in members] == [alice.pk]


def test_openapi_schema_and_docs_are_served_without_cdn(alice):
    http = client_for(alice)
    schema = http.get("/api/schema/?format=json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert "/api/rooms/{id}/join/" in paths and "/api/messages/" in paths
    docs = http.get("/api/docs/")
    assert docs.status_code == 200
    # Everything the page loads is served by Parley (the page also holds a random CSRF token,
    # so searching its text for "cdn" failed once in a while).
    assets = re.findall(r'(?:src|href)="([^"]*)"', docs.content.decode())
    # (The start-up script is the docs page's own, a file for the Content-Security-Policy.)
    assert assets and all(url.startswith(("/static/", "/api/docs/")) for url in assets), assets


async def test_post_over_rest_is_pushed_to_socket_subscribers(connected, alice, bob):
    room = await sync_to_async(services.room_create)(owner=alice, name="general", title="G")
    async with connected(bob) as b:
        await b.request("messages", "subscribe_room", room=room.pk, request_id="s")
        response = await sync_to_async(client_for(alice).post)(
            "/api/messages/", {"room": room.pk, "body": "via rest"}
        )
        assert response.status_code == 201
        push = await b.push("messages", "s")
        assert push["payload"]["data"] == response.json()


def test_rest_lists_page_by_id_and_never_exceed_a_hundred(alice):
    ids = many_rooms(alice, 105)
    everything = client_for(alice).get("/api/rooms/?limit=100000").json()
    assert (everything["count"], len(everything["results"])) == (105, 100)
    seen, url = [], "/api/rooms/?limit=40"
    while url:
        page = client_for(alice).get(url).json()
        seen += [room["id"] for room in page["results"]]
        url = page["next"]
        assert url is None or f"after={seen[-1]}" in url and "offset" not in url
    assert seen == ids
    assert client_for(alice).get("/api/rooms/?after=abc").status_code == 400


def test_the_members_of_a_room_page_over_rest(alice):
    room, people = crowded_room(alice, 101)
    seen, url, pages = [], f"/api/memberships/?room={room}", 0
    while url:
        page = client_for(alice).get(url).json()
        seen += [member["user"]["id"] for member in page["results"]]
        url, pages = page["next"], pages + 1
    assert (seen, pages) == (people, 3)  # 50 a page unless the client asks for up to 100
