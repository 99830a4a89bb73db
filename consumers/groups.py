"""The only place channel-layer group names are built, so senders and subscribers agree.

Observer groups (passed to DCRF's ``groups_for_signal``/``groups_for_consumer``) are prefixed
and hashed by DCRF; the plain groups below are used with the channel layer directly.
"""

from typing import Any


def lobby(*, private: bool) -> str:
    """Room events: public rooms in one group, private ones (filtered per member) in another."""
    return "lobby.private" if private else "lobby.public"


def room(room_id: int) -> str:
    """Changes to one room, for its instance subscribers."""
    return f"room.{room_id}"


def room_messages(room_id: int) -> str:
    """Messages created, edited and deleted in one room."""
    return f"room.{room_id}.messages"


def room_presence(room_id: int) -> str:
    """Members of one room coming online, going offline, typing."""
    return f"room.{room_id}.presence"


def user(user_id: int) -> str:
    """Every socket of one user: membership changes reach all their tabs."""
    return f"user.{user_id}"


def user_sockets(user_id: int) -> str:
    """Every open socket of one user, as a whole: signing out closes those it signed in."""
    return f"sockets.user.{user_id}"


def user_calls(user_id: int) -> str:
    """State changes of every call the user is a party to (all their tabs ring)."""
    return f"calls.user.{user_id}"


def calls_dashboard() -> str:
    """State changes of all calls, for staff dashboards (no SDP, no candidates)."""
    return "calls.dashboard"


def calls_figures() -> str:
    """Any call changed: the dashboards' figures are out of date."""
    return "calls.figures"


def calls_dashboard_quality() -> str:
    """Quality samples of all calls, for staff dashboards."""
    return "calls.dashboard.quality"


def call_signaling(call_id: int, kind: str, to: int) -> str:
    """One call's SDP (``kind="sdp"``), ICE (``kind="ice"``) or quality samples
    (``kind="quality"``) for the party ``to``.

    One group per receiving party: a sender's own messages never travel back to its process
    (across workers, each relay crosses the channel layer once, to the other party's).
    """
    return f"call.{call_id}.{kind}.to.{to}"


def observed(observer: Any, name: str) -> str:
    """The channel-layer name DCRF gives ``name`` as a group of ``observer`` (to tell, in a
    handler, which of its groups an event came through)."""
    return observer.clean_group_name(f"{observer._stable_observer_id}-{name}")
