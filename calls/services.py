"""The call state machine. Every change of a call's state goes through ``_transition``.

ringing → accepted → ended(reason); ringing → rejected | cancelled | missed; busy is born ended.
An illegal transition raises ``CallConflict`` (409), never a silent change.
"""

import functools
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar, cast

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.db.models import Exists, Field, Model, OuterRef, Q, QuerySet
from django.db.models.signals import post_save
from django.utils import timezone

from calls import selectors
from calls.models import Call, Ice, QualitySample, Sdp
from presence.selectors import is_online, live_presence
from project import metrics, ratelimits
from project.errors import Conflict
from rooms.models import Room
from rooms.selectors import is_member, room_get_visible

State = Call.State
M = TypeVar("M", Sdp, Ice)
Reason = Call.EndReason

TRANSITIONS: dict[tuple[str, str], None] = dict.fromkeys(
    [
        (State.RINGING, State.ACCEPTED),
        (State.RINGING, State.REJECTED),
        (State.RINGING, State.CANCELLED),
        (State.RINGING, State.MISSED),
        (State.ACCEPTED, State.ENDED),
    ]
)
FINAL_REASON: dict[str, str] = {
    State.REJECTED: Reason.REJECTED,
    State.CANCELLED: Reason.CANCELLED,
    State.MISSED: Reason.MISSED,
}


class CallConflict(Conflict):
    """The call is not in a state that allows this (409)."""


def _lock_users(*user_ids: int) -> None:
    # Serialises invites and accepts touching the same people, in a fixed order (no deadlock),
    # so two crossing invites (glare) or two accepts cannot both win.
    list(User.objects.select_for_update().filter(pk__in=user_ids).order_by("pk"))


def _locked(call: Call) -> Call:
    return Call.objects.select_for_update().get(pk=call.pk)


def _transition(call: Call, to: str, *, now: datetime, reason: str = "") -> Call:
    """Move a locked call to ``to``, stamping its times; refuse anything not in TRANSITIONS."""
    if (call.state, to) not in TRANSITIONS:
        raise CallConflict(f"The call is {call.state}; it cannot become {to}.")
    call.state = to
    if to == State.ACCEPTED:
        call.answered_at = now
    else:
        call.ended_at = now
        call.end_reason = reason or FINAL_REASON.get(to, "")
    call.save(update_fields=["state", "answered_at", "ended_at", "end_reason"])
    if to != State.ACCEPTED:
        _count_end(call)
    return call


def _count_end(call: Call) -> None:
    """Count the call's end in the metrics, once its transaction commits."""
    labels = (call.state, call.end_reason)
    transaction.on_commit(lambda: metrics.child(metrics.CALLS_ENDED, *labels).inc())


LIVE = [State.RINGING, State.ACCEPTED]


def _live_calls(user_id: int) -> QuerySet[Call]:
    return Call.objects.filter(Q(caller_id=user_id) | Q(callee_id=user_id)).filter(state__in=LIVE)


def _expire_if_due(call: Call, now: datetime) -> bool:
    """A ringing call past its lifetime becomes missed, whoever notices first."""
    if call.state == State.RINGING and call.expires_at <= now:
        _transition(call, State.MISSED, now=now)
        return True
    return False


def call_place(
    *, caller: User, callee_id: int, room_id: int | None = None
) -> tuple[Call, bool]:
    """Ring the user ``callee_id``, from the room ``room_id`` if given (404 if the caller cannot
    see it, or may not ring the callee: see ``selectors.callee_get``). Returns (call, created),
    as ``call_invite``."""
    ratelimits.count("CALL", user_id=caller.pk)
    callee = selectors.callee_get(pk=callee_id, caller=caller)
    room = room_get_visible(user=caller, pk=room_id) if room_id else None
    return call_invite(caller=caller, callee=callee, room=room, only_if_online=True)


def dashboard_check(*, user: User) -> None:
    """The call dashboard (every call's state) is for staff only."""
    if not user.is_staff:
        raise PermissionDenied("The call dashboard is for staff.")


@transaction.atomic
def call_invite(
    *, caller: User, callee: User, room: Room | None = None, only_if_online: bool = False
) -> tuple[Call, bool]:
    """Ring ``callee``. Returns (call, created).

    Glare: if the callee is already ringing the caller, that call is returned (the caller can
    simply accept it) and no second call is made. Inviting someone in an accepted call gives a
    call that is ``busy`` at once; with ``only_if_online``, inviting someone with no open
    socket (nobody could hear it ring) one that is ``unavailable`` at once.
    """
    if caller.pk == callee.pk:
        raise ValidationError({"callee": "You cannot call yourself."})
    if room is not None and not (
        is_member(user_id=caller.pk, room_id=room.pk)
        and is_member(user_id=callee.pk, room_id=room.pk)
    ):
        raise PermissionDenied("Both parties must be members of the room.")
    _lock_users(caller.pk, callee.pk)
    now = timezone.now()
    for ringing in Call.objects.filter(state=State.RINGING, expires_at__lte=now).filter(
        Q(caller_id__in=[caller.pk, callee.pk]) | Q(callee_id__in=[caller.pk, callee.pk])
    ):
        _transition(ringing, State.MISSED, now=now)
    between = Call.objects.filter(state=State.RINGING).filter(
        Q(caller=caller, callee=callee) | Q(caller=callee, callee=caller)
    )
    if existing := between.first():
        return existing, False
    if _live_calls(caller.pk).filter(state=State.ACCEPTED).exists():
        raise CallConflict("You are already in a call.")
    ended_at_once = None
    if only_if_online and not is_online(user_id=callee.pk):
        ended_at_once = State.UNAVAILABLE, Reason.UNAVAILABLE
    elif _live_calls(callee.pk).filter(state=State.ACCEPTED).exists():
        ended_at_once = State.BUSY, Reason.BUSY
    if ended_at_once is not None:
        state, reason = ended_at_once
        call = Call.objects.create(
            caller=caller,
            callee=callee,
            room=room,
            state=state,
            expires_at=now,
            ended_at=now,
            end_reason=reason,
        )
        _count_end(call)
        return call, True
    ring = timedelta(seconds=settings.PARLEY["CALL_RING_SECONDS"])
    call = Call.objects.create(caller=caller, callee=callee, room=room, expires_at=now + ring)
    return call, True


def _answer(call: Call, act: Callable[[Call, datetime], Call]) -> Call:
    """Lock the call and ``act`` on it, unless it has rung out: then it is missed (and that
    sticks, committed before the 409 is raised)."""
    with transaction.atomic():
        call = _locked(call)
        now = timezone.now()
        if not _expire_if_due(call, now):
            return act(call, now)
    raise CallConflict("The call rang out before it was answered.")


def call_accept(*, call: Call, user: User) -> Call:
    """The callee answers (on one of their sockets; the others are told by the state push)."""
    if user.pk != call.callee_id:
        raise PermissionDenied("Only the callee may accept a call.")

    def accept(call: Call, now: datetime) -> Call:
        _lock_users(call.caller_id, call.callee_id)
        if (
            call.state == State.RINGING
            and _live_calls(user.pk).filter(state=State.ACCEPTED).exists()
        ):
            raise CallConflict("Hang up your current call first.")
        return _transition(call, State.ACCEPTED, now=now)

    return _answer(call, accept)


def call_reject(*, call: Call, user: User) -> Call:
    """The callee declines a ringing call."""
    if user.pk != call.callee_id:
        raise PermissionDenied("Only the callee may reject a call.")
    return _answer(call, lambda call, now: _transition(call, State.REJECTED, now=now))


def call_hangup(*, call: Call, user: User) -> Call:
    """Either party ends the call: before it is answered that cancels (caller) or declines."""
    if user.pk not in call.party_ids():
        raise PermissionDenied("Only the parties may hang up a call.")

    def hang_up(call: Call, now: datetime) -> Call:
        if call.state == State.RINGING:
            to = State.CANCELLED if user.pk == call.caller_id else State.REJECTED
            return _transition(call, to, now=now)
        return _transition(call, State.ENDED, now=now, reason=Reason.HANGUP)

    return _answer(call, hang_up)


def call_media(*, call: Call, user: User, state: str, reason: str = "") -> Call:
    """A party's client reports its media: ``connected`` (the peer connection is up: the call
    records ``connected_at``, the first report only) or ``failed`` with ``reason``
    (``ice_failed``, ``user_media_failed``): the call ends, saying why, instead of staying up
    with nobody hearing anyone. Only an accepted call connects; a ringing one may fail (its
    caller's camera would not start) and is then cancelled.
    """
    if user.pk not in call.party_ids():
        raise PermissionDenied("Only the parties report a call's media.")

    def report(call: Call, now: datetime) -> Call:
        if state == "connected":
            if call.state != State.ACCEPTED:
                raise CallConflict(f"The call is {call.state}; only an accepted call connects.")
            if call.connected_at is None:
                call.connected_at = now
                call.save(update_fields=["connected_at"])
            return call
        to = State.ENDED if call.state == State.ACCEPTED else State.CANCELLED
        return _transition(call, to, now=now, reason=reason)

    return _answer(call, report)


def quality_report(*, call: Call, user: User, **measures: Any) -> QualitySample:
    """Store what a party's client measured of an accepted call's media (a few seconds' worth;
    validated by the caller). Rate-limited per user (a client samples every few seconds, not
    faster); the call keeps its last ``QUALITY_SAMPLES_KEPT`` samples. The observer pushes it
    to the other party and to staff dashboards.
    """
    if user.pk not in call.party_ids():
        raise PermissionDenied("Only the parties report a call's quality.")
    if call.state != State.ACCEPTED:
        raise CallConflict(f"The call is {call.state}; only an accepted call has media to report.")
    ratelimits.count("QUALITY", user_id=user.pk)
    sample = QualitySample.objects.create(call=call, sender=user, **measures)
    kept = max(1, settings.PARLEY["QUALITY_SAMPLES_KEPT"])
    oldest_kept = (
        QualitySample.objects.filter(call=call).order_by("-id").values_list("id", flat=True)
    )[kept - 1 : kept]
    if oldest_kept:
        # One statement, no signals: trimming old samples is not news to anyone.
        table = connection.ops.quote_name(QualitySample._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(
                f"DELETE FROM {table} WHERE call_id = %s AND id < %s", [call.pk, oldest_kept[0]]
            )
    return sample


def _party_of(*, call_id: int, sender: User) -> None:
    """404 unless ``sender`` is one of the call's parties (as for any call they cannot see)."""
    parties = selectors.call_parties(call_id=call_id)
    if parties is None or sender.pk not in parties:
        raise Call.DoesNotExist("No such call.")


def _refuse_nul(value: str, *, field: str) -> None:
    """As DRF's text fields do: PostgreSQL cannot store a NUL in text."""
    if "\x00" in value:
        raise ValidationError({field: "Null characters are not allowed."})


def _text(value: Any, *, field: str, max_length: int, blank: bool = False) -> str:
    if not isinstance(value, str):
        raise ValidationError({field: "This field is required (text)."})
    if not blank and not value.strip():
        raise ValidationError({field: "This field may not be blank."})
    if len(value) > max_length:
        raise ValidationError({field: f"At most {max_length} characters."})
    _refuse_nul(value, field=field)
    return value


def _optional_text(value: Any, *, field: str, max_length: int) -> str | None:
    return None if value is None else _text(value, field=field, max_length=max_length, blank=True)


def _record_signal(model: type[M], *, call_id: int, sender: User, **fields: Any) -> M:
    """Store one signaling message, if its call is still live: one statement, no other query.

    An INSERT ... SELECT from the call row writes only while the call rings or is accepted (a
    call that ended meanwhile writes nothing: 409). Signaling is the hot path of a call set-up
    (an offer, an answer and a dozen candidates per party), and the ORM's work for a read and
    an insert cost five times the database's here; the observers still hear of the row as of
    any save (``post_save``), so its push leaves after the write.
    """
    values = {"call_id": call_id, "sender_id": sender.pk, **fields, "created_at": timezone.now()}
    db = connections[DEFAULT_DB_ALIAS]
    sql, model_fields = _insert_while_live(model, tuple(values), db.vendor)
    params: list[Any] = [
        field.get_db_prep_save(value, db) for field, value in zip(model_fields, values.values())
    ]
    with db.cursor() as cursor:
        cursor.execute(sql, [*params, call_id, *(state.value for state in LIVE)])
        row = cursor.fetchone()
    if row is None:
        raise CallConflict(f"The call is {Call.objects.get(pk=call_id).state}: signaling is over.")
    instance = model(pk=row[0], **values)
    instance._state.adding = False
    instance._state.db = db.alias
    post_save.send(
        sender=model, instance=instance, created=True, update_fields=None, raw=False, using=db.alias
    )
    return instance


@functools.lru_cache(maxsize=8)
def _insert_while_live(model: type[Model], names: tuple[str, ...], vendor: str) -> tuple[str, list]:
    """The INSERT ... SELECT of ``_record_signal`` for these columns, and their fields."""
    db = connections[DEFAULT_DB_ALIAS]
    model_fields = [cast(Field, model._meta.get_field(name)) for name in names]
    columns = ", ".join(db.ops.quote_name(str(field.column)) for field in model_fields)
    sql = (
        f"INSERT INTO {db.ops.quote_name(model._meta.db_table)} ({columns}) "
        f"SELECT {', '.join(['%s'] * len(names))} FROM {db.ops.quote_name(Call._meta.db_table)} "
        "WHERE id = %s AND state IN (%s, %s) RETURNING id"
    )
    return sql, model_fields


def sdp_create(*, call_id: int, sender: User, type: Any, sdp: Any) -> Sdp:
    """Store a session description from one party (offer, answer or renegotiation)."""
    _party_of(call_id=call_id, sender=sender)
    if type not in Sdp.Type.values:
        raise ValidationError({"type": "Use offer or answer."})
    if not isinstance(sdp, str) or not sdp.strip().startswith("v=0"):
        raise ValidationError({"sdp": "Not a session description (it must start with v=0)."})
    _refuse_nul(sdp, field="sdp")
    if len(sdp.encode()) > settings.PARLEY["SDP_MAX_BYTES"]:
        raise ValidationError(
            {"sdp": "Session descriptions are at most %d bytes." % settings.PARLEY["SDP_MAX_BYTES"]}
        )
    return _record_signal(Sdp, call_id=call_id, sender=sender, type=type, sdp=sdp)


def ice_create(
    *,
    call_id: int,
    sender: User,
    candidate: Any,
    sdp_mid: Any = None,
    sdp_mline_index: Any = None,
    username_fragment: Any = None,
) -> Ice:
    """Store a trickled candidate (kept even before the peer listens: it may fetch them later).
    An empty ``candidate`` is the end of candidates."""
    _party_of(call_id=call_id, sender=sender)
    candidate = _text(candidate, field="candidate", max_length=2048, blank=True)
    if candidate and not candidate.startswith(("candidate:", "a=candidate:")):
        raise ValidationError({"candidate": "Not an ICE candidate line."})
    index = sdp_mline_index
    if index is not None and (
        isinstance(index, bool) or not isinstance(index, int) or not 0 <= index <= 32767
    ):
        raise ValidationError({"sdp_mline_index": "A whole number from 0 to 32767, or null."})
    return _record_signal(
        Ice,
        call_id=call_id,
        sender=sender,
        candidate=candidate,
        sdp_mid=_optional_text(sdp_mid, field="sdp_mid", max_length=64),
        sdp_mline_index=index,
        username_fragment=_optional_text(
            username_fragment, field="username_fragment", max_length=256
        ),
    )


def _due(queryset: QuerySet[Call]) -> list[Call]:
    # Several workers run the clock: SKIP LOCKED lets each take different calls. SQLite
    # serialises writers anyway and has no row locks.
    if connection.features.has_select_for_update_skip_locked:
        queryset = queryset.select_for_update(skip_locked=True)
    return list(queryset)


@transaction.atomic
def calls_expire_due(*, now: datetime | None = None) -> list[Call]:
    """Ringing calls past their lifetime become missed (the server clock, not the clients)."""
    now = now or timezone.now()
    due = _due(Call.objects.filter(state=State.RINGING, expires_at__lte=now))
    return [_transition(call, State.MISSED, now=now) for call in due]


@transaction.atomic
def calls_end_gone(*, now: datetime | None = None) -> list[Call]:
    """Accepted calls whose party has been gone for the grace period end with peer_gone."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.PARLEY["CALL_GRACE_SECONDS"])
    gone = Q(caller_gone_at__lte=cutoff) | Q(callee_gone_at__lte=cutoff)
    due = _due(Call.objects.filter(gone, state=State.ACCEPTED))
    return [_transition(call, State.ENDED, now=now, reason=Reason.PEER_GONE) for call in due]


@transaction.atomic
def calls_parties_left(*, user_ids: list[int]) -> None:
    """These users' last sockets closed: calls they ring are cancelled, accepted ones wait."""
    now = timezone.now()
    gone = set(user_ids)
    parties = Q(caller_id__in=gone) | Q(callee_id__in=gone)
    for call in Call.objects.filter(parties, state__in=LIVE).select_for_update().order_by("pk"):
        if call.state == State.RINGING and call.caller_id in gone:
            _transition(call, State.CANCELLED, now=now, reason=Reason.CALLER_GONE)
        elif call.state == State.ACCEPTED:
            # A queryset update: the grace period is the server's business, not a state change
            # to push to anyone.
            sides = ((call.caller_id, "caller_gone_at"), (call.callee_id, "callee_gone_at"))
            fields = {field: now for user_id, field in sides if user_id in gone}
            Call.objects.filter(pk=call.pk).update(**fields)


def calls_mark_absent_parties(*, now: datetime | None = None) -> int:
    """Start the grace period of parties with no live socket (their worker may have died).

    Two statements whatever the number of calls: the clock beats twice a second on every
    worker, and a query per party of every accepted call, inside a transaction, held the
    database's write lock long enough to slow every signaling message down.
    """
    now = now or timezone.now()
    marked = 0
    for party, gone in (("caller_id", "caller_gone_at"), ("callee_id", "callee_gone_at")):
        present = live_presence().filter(user_id=OuterRef(party))
        marked += (
            Call.objects.filter(state=State.ACCEPTED, **{f"{gone}__isnull": True})
            .exclude(Exists(present))
            .update(**{gone: now})
        )
    return marked


def calls_tick(*, now: datetime | None = None) -> None:
    """One beat of the server's call clock: ring-outs, absent parties, peer_gone.

    Without a call ringing or up nothing can be due: one cheap query, not four statements and
    three transactions twice a second on every worker (a tenth of a busy worker's CPU).
    """
    if not Call.objects.filter(state__in=LIVE).exists():
        return
    now = now or timezone.now()
    calls_expire_due(now=now)
    calls_mark_absent_parties(now=now)
    calls_end_gone(now=now)


def calls_parties_returned(*, user_ids: list[int]) -> None:
    """These users are back within the grace period: their accepted calls go on."""
    Call.objects.filter(state=State.ACCEPTED, caller_id__in=user_ids).update(caller_gone_at=None)
    Call.objects.filter(state=State.ACCEPTED, callee_id__in=user_ids).update(callee_gone_at=None)
