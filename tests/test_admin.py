"""The admin shows what the server writes as calls and sockets happen (calls, SDP, ICE,
presence): a superuser reads and deletes those rows, and is not offered to make them up."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from calls.models import Call, Sdp
from tests.conftest import make_user

pytestmark = pytest.mark.django_db

SERVER_WRITTEN = ["calls/call", "calls/sdp", "calls/ice", "presence/presence", "presence/worker"]


@pytest.fixture
def call() -> Call:
    caller, callee = make_user("alice", "Alice"), make_user("bob", "Bob")
    ringing = Call.objects.create(
        caller=caller, callee=callee, expires_at=timezone.now() + timedelta(seconds=60)
    )
    Sdp.objects.create(call=ringing, sender=caller, type="offer", sdp="v=0\r\n")
    return ringing


@pytest.mark.parametrize("model", SERVER_WRITTEN)
def test_server_written_rows_cannot_be_added_by_hand(admin_client: Client, model: str):
    assert admin_client.get(f"/admin/{model}/add/").status_code == 403


@pytest.mark.parametrize("model", SERVER_WRITTEN)
def test_their_lists_offer_no_add_button(admin_client: Client, model: str):
    page = admin_client.get(f"/admin/{model}/")

    assert page.status_code == 200
    assert f'href="/admin/{model}/add/"' not in page.content.decode()


def test_the_index_offers_no_add_link_for_them(admin_client: Client):
    index = admin_client.get("/admin/").content.decode()

    assert 'href="/admin/rooms/room/add/"' in index
    assert not [model for model in SERVER_WRITTEN if f'href="/admin/{model}/add/"' in index]


def test_quality_samples_are_not_in_the_admin(admin_client: Client):
    assert admin_client.get("/admin/calls/qualitysample/add/").status_code == 404


def test_a_call_can_still_be_read_and_deleted(admin_client: Client, call: Call):
    page = admin_client.get(f"/admin/calls/call/{call.pk}/change/")

    assert page.status_code == 200
    # Its SDP inline takes no new rows either.
    assert 'name="sdps-MAX_NUM_FORMS" value="0"' in page.content.decode()
    assert admin_client.get(f"/admin/calls/call/{call.pk}/delete/").status_code == 200
