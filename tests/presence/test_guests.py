"""Guests expire: idle past PARLEY_GUEST_TTL days, a guest is deactivated and its token revoked;
what they wrote stays."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from presence import services
from rooms import services as rooms
from rooms.models import Message

pytestmark = pytest.mark.django_db(transaction=True)


def guest(name: str, days_idle: float):
    signed_in = APIClient().post("/api/auth/guest/", {"display_name": name}).json()
    user = get_user_model().objects.get(pk=signed_in["user"]["id"])
    user.last_login = timezone.now() - timedelta(days=days_idle)
    user.save(update_fields=["last_login"])
    return user, signed_in["token"]


def test_a_guest_idle_past_the_ttl_expires_and_keeps_what_they_wrote(alice, capsys):
    room = rooms.room_create(owner=alice, name="hall", title="Hall")
    idle, idle_token = guest("Idle", days_idle=31)
    rooms.room_join(room=room, user=idle)
    rooms.message_create(author=idle, room_id=room.pk, body="still here")
    recent, recent_token = guest("Recent", days_idle=29)
    alice.last_login = timezone.now() - timedelta(days=400)  # not a guest: never expires
    alice.save(update_fields=["last_login"])

    call_command("expire_guests")

    assert "1 guests idle for more than 30 days deactivated." in capsys.readouterr().out
    for user in (idle, recent, alice):
        user.refresh_from_db()
    assert (idle.is_active, recent.is_active, alice.is_active) == (False, True, True)
    assert not Token.objects.filter(key=idle_token).exists()
    assert Token.objects.filter(key=recent_token).exists()
    assert Message.objects.filter(author=idle, body="still here").exists()
    refused = APIClient(HTTP_AUTHORIZATION=f"Token {idle_token}").get("/api/rooms/")
    assert refused.status_code == 403 and refused.json()["detail"] == "Invalid token."


def test_opening_a_socket_counts_as_activity(settings):
    user, _ = guest("Reader", days_idle=31)
    services.presence_record(worker_key="w1", arrived={user.pk}, left=set())
    services.presence_record(worker_key="w1", arrived=set(), left={user.pk})
    assert services.guests_expire() == []
    user.refresh_from_db()
    assert user.is_active and timezone.now() - user.last_login < timedelta(minutes=1)


def test_a_guest_online_now_does_not_expire():
    user, _ = guest("Online", days_idle=31)
    services.presence_record(worker_key="w1", arrived={user.pk}, left=set())
    get_user_model().objects.filter(pk=user.pk).update(
        last_login=timezone.now() - timedelta(days=31)
    )
    assert services.guests_expire() == []


def test_the_ttl_is_a_setting(settings):
    settings.PARLEY = {**settings.PARLEY, "GUEST_TTL_DAYS": 7}
    user, _ = guest("Weekly", days_idle=8)
    assert services.guests_expire() == [user.pk]
