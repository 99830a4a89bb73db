"""Reads: a call is visible to its two parties only (others get DoesNotExist → 404)."""

from django.conf import settings
from django.contrib.auth.models import User
from django.db.models import Exists, Max, OuterRef, Q, QuerySet

from calls.models import Call, Ice, QualitySample, Sdp
from rooms.models import Membership


def callee_get(*, pk: int, caller: User) -> User:
    """The active user ``pk`` (the id that names message authors and presence) whom ``caller``
    may ring, or ``User.DoesNotExist`` (404).

    By default that is someone sharing a room with the caller; anyone else is exactly a missing
    id, so ringing ids one by one finds neither who exists nor who is in a call.
    """
    users = User.objects.filter(is_active=True)
    if settings.PARLEY["CALLS_FROM"] == "room-members":
        shared = Membership.objects.filter(
            user_id=OuterRef("pk"), room__memberships__user_id=caller.pk
        )
        users = users.filter(Exists(shared))
    return users.get(pk=pk)


def calls_of(*, user: User) -> QuerySet[Call]:
    """The user's calls, newest first."""
    return Call.objects.filter(Q(caller=user) | Q(callee=user)).select_related("caller", "callee")


def calls_history(*, user: User, last: int = 100) -> QuerySet[Call]:
    """The user's last calls, newest first (what ``list`` answers on the socket and REST)."""
    return calls_of(user=user)[:last]


def call_get_for_party(*, user: User, pk: int) -> Call:
    """The call ``pk`` if ``user`` is one of its parties, else ``Call.DoesNotExist``."""
    return calls_of(user=user).get(pk=pk)


def call_get_for_viewer(*, user: User, pk: int) -> Call:
    """The call ``pk`` if ``user`` is a party or staff (who watch every call on the
    dashboard), else ``Call.DoesNotExist``."""
    if user.is_staff:
        return Call.objects.select_related("caller", "callee").get(pk=pk)
    return call_get_for_party(user=user, pk=pk)


# Parties of calls this process has looked at. A call's parties never change and ids are never
# reused, so an entry never goes stale; signaling (a relay per SDP or candidate) then costs no
# query to check who may send and receive it.
_parties: dict[int, tuple[int, int]] = {}
PARTIES_KEPT = 10_000


def call_parties(*, call_id: int) -> tuple[int, int] | None:
    """The caller's and callee's ids of the call ``call_id`` (None if there is no such call)."""
    parties = _parties.get(call_id)
    if parties is None:
        row = Call.objects.filter(pk=call_id).values_list("caller_id", "callee_id").first()
        if row is None:
            return None
        if len(_parties) >= PARTIES_KEPT:
            del _parties[next(iter(_parties))]  # the oldest
        parties = _parties[call_id] = (row[0], row[1])
    return parties


def sdps_of(*, call: Call) -> QuerySet[Sdp]:
    """The call's session descriptions, in the order they were sent."""
    return Sdp.objects.filter(call=call).order_by("id")


def ice_of(*, call: Call) -> QuerySet[Ice]:
    """The call's candidates, in the order they were trickled."""
    return Ice.objects.filter(call=call).order_by("id")


def calls_for_dashboard(*, recent: int = 100) -> list[Call]:
    """Every live call, then the most recent others, newest first."""
    calls = Call.objects.select_related("caller", "callee").order_by("-id")
    live = list(calls.filter(state__in=[Call.State.RINGING, Call.State.ACCEPTED]))
    others = list(calls.exclude(pk__in=[c.pk for c in live])[:recent])
    return sorted([*live, *others], key=lambda call: call.pk, reverse=True)


def quality_of(*, call: Call, last: int | None = None) -> list[QualitySample]:
    """The call's quality samples (both parties), oldest first; only the ``last`` ones if
    given."""
    samples = QualitySample.objects.filter(call=call)
    if last is None:
        return list(samples.order_by("id"))
    return list(reversed(samples.order_by("-id")[:last]))


def quality_of_calls_in_progress() -> list[QualitySample]:
    """Each party's latest sample of every call in progress (what a dashboard shows first)."""
    latest = (
        QualitySample.objects.filter(call__state=Call.State.ACCEPTED)
        .values("call_id", "sender_id")
        .annotate(last=Max("id"))
        .values("last")
    )
    return list(QualitySample.objects.filter(id__in=latest).order_by("id"))
