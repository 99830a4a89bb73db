"""Who may receive what. Checked when subscribing (selectors raise 404) and again per push."""

from typing import Any


class CanSeeRoom:
    """A room's pushes reach everyone signed in when it is public, only members when private.

    Push bodies carry the room's ``audience`` computed once by the writer (None for public rooms,
    the member ids for private ones), so the check at push time needs no query per subscriber.
    """

    @staticmethod
    def allows(*, user_id: int, audience: Any) -> bool:
        """Whether a push with this audience may reach the user."""
        return audience is None or user_id in audience

    @staticmethod
    def allows_room_event(
        *, user_id: int, lobby: str | None, private: bool, members: list[int]
    ) -> bool:
        """Whether a room's own event may reach the user, by the group it came through.

        The public lobby: everyone could see the room there. The private lobby: its members
        only (also when the room just turned public: the others never saw it there). The
        room's own group: everyone while it is public, else its members.
        """
        if lobby == "public":
            return True
        if lobby == "private":
            return user_id in members
        return not private or user_id in members
