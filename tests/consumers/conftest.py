"""Rooms shared by the stream tests."""

import pytest

from rooms import services


@pytest.fixture
def general(alice, bob):
    """A public room owned by Alice, with Bob as a member."""
    room = services.room_create(owner=alice, name="general", title="General")
    services.room_join(room=room, user=bob)
    return room
