"""Who may see a room, and so everything in it: its messages, members, presence and pushes.

A public room is seen by everyone signed in; a private room by its members only. This module is
the only place that rule is written: selectors filter rooms with ``visible_to``, and every push
about a room carries the room's ``Audience``, computed once by the writer and checked for each
subscriber with ``allows`` (no query per subscriber).
"""

from dataclasses import dataclass

from django.db.models import Exists, OuterRef, Q

from rooms.models import Membership


def visible_to(user_id: int) -> Q:
    """The rooms ``user_id`` may see, as a filter on ``Room``."""
    mine = Membership.objects.filter(room=OuterRef("pk"), user_id=user_id)
    return Q(is_private=False) | Q(Exists(mine))


@dataclass(frozen=True, slots=True)
class Audience:
    """Who may receive what is pushed about one room."""

    private: bool
    # The room's members, as they were when the event was written. For a public room they are
    # known only where the event needs them (a room's own events: see ``allows_member``).
    members: frozenset[int] = frozenset()

    def allows(self, user_id: int) -> bool:
        """Whether ``user_id`` may see the room now."""
        return not self.private or user_id in self.members

    def allows_member(self, user_id: int) -> bool:
        """Whether ``user_id`` is a member (e.g. could see the room while it was private)."""
        return user_id in self.members

    def to_event(self) -> list:
        """The form pushes carry through the channel layer: ``[private, [member ids]]``."""
        return [self.private, sorted(self.members)]

    @classmethod
    def from_event(cls, value: list) -> "Audience":
        """The audience a push carried (see ``to_event``).

        A push reaches many subscribers in a row with the same list: it is read once (the last
        list read is kept, so its identity cannot be reused meanwhile).
        """
        last = _last_read
        if last and last[0] is value:
            return last[1]
        private, members = value
        audience = cls(private=bool(private), members=frozenset(members))
        _last_read[:] = [value, audience]
        return audience


_last_read: list = []
