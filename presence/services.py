"""Writes: recording which users have sockets where, in batches, and forgetting dead workers.

Every change that makes users come online or go offline sends ``presence_changed`` once it
committed, naming exactly those users (never one twice, across workers: users are locked).
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from rest_framework.authtoken.models import Token

from presence.models import Presence, Worker
from presence.selectors import live_presence, online_cutoff
from presence.signals import presence_changed


def _tell(*, online: list[int], offline: list[int]) -> None:
    if online or offline:
        transaction.on_commit(
            lambda: presence_changed.send(sender=Presence, online=online, offline=offline)
        )


def _lock_users(user_ids: set[int]) -> None:
    # Serialises presence changes of the same users across workers, always in id order, so two
    # workers adding (or removing) the same user cannot both announce it, or both miss it.
    list(
        get_user_model()
        .objects.select_for_update()
        .filter(pk__in=user_ids)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def worker_beat(*, key: str) -> Worker:
    """Record that the serving process ``key`` is alive (and lock its row until commit)."""
    worker, _ = Worker.objects.update_or_create(key=key, defaults={"seen_at": timezone.now()})
    return worker


@transaction.atomic
def presence_record(
    *, worker_key: str, arrived: set[int], left: set[int]
) -> tuple[list[int], list[int]]:
    """Record that users got their first socket on this worker (``arrived``) or closed their
    last one here (``left``). Returns (came online, went offline): those with no live socket on
    any other worker. Also a heartbeat of the worker.

    The worker row is locked before the users, in the order the dead-worker sweeper takes them.
    """
    worker = worker_beat(key=worker_key)
    _lock_users(arrived | left)
    elsewhere = set(
        live_presence()
        .filter(user_id__in=arrived | left)
        .exclude(worker=worker)
        .values_list("user_id", flat=True)
    )
    if arrived:
        Presence.objects.bulk_create(
            [Presence(worker=worker, user_id=user_id) for user_id in sorted(arrived)],
            ignore_conflicts=True,
        )
        # Opening a socket is activity (``last_login`` reads as "last seen"): guests who show
        # none for PARLEY_GUEST_TTL days expire (``guests_expire``).
        get_user_model().objects.filter(pk__in=arrived).update(last_login=timezone.now())
    if left:
        Presence.objects.filter(worker=worker, user_id__in=left).delete()
    online = sorted(arrived - elsewhere)
    offline = sorted(left - elsewhere)
    _tell(online=online, offline=offline)
    return online, offline


@transaction.atomic
def workers_sweep_stale(*, sweeper_key: str) -> list[int]:
    """Declare the workers silent past ``WORKER_STALE_SECONDS`` dead, and forget their sockets.

    Returns the ids of the users this left without a live socket (and tells of them): nobody
    had heard they went offline, since their sockets never closed. The sweeper never sweeps
    itself, and two sweepers never sweep the same worker (the rows are locked; a busy one is
    skipped).
    """
    stale = list(
        Worker.objects.select_for_update(skip_locked=True)
        .filter(seen_at__lt=online_cutoff())
        .exclude(key=sweeper_key)
        .values_list("pk", flat=True)
    )
    if not stale:
        return []
    user_ids = set(Presence.objects.filter(worker__in=stale).values_list("user_id", flat=True))
    # The same lock as a socket opening: a user who opens a socket elsewhere meanwhile is
    # either seen here as online, or announced online after this commits.
    _lock_users(user_ids)
    Worker.objects.filter(pk__in=stale).delete()  # and their presence rows, by cascade
    online = set(live_presence().filter(user_id__in=user_ids).values_list("user_id", flat=True))
    offline = sorted(user_ids - online)
    _tell(online=[], offline=offline)
    return offline


def guests_expire(*, now: datetime | None = None) -> list[int]:
    """Deactivate the guests idle for more than ``GUEST_TTL_DAYS`` and revoke their API tokens;
    what they wrote stays. Returns their ids.

    A guest is a user made by guest sign-in (``guest-…``, no password). Idle: no sign-in and no
    socket opened since the cutoff, and no socket open now. A deactivated user's session and
    token no longer sign anything in.
    """
    cutoff = (now or timezone.now()) - timedelta(days=settings.PARLEY["GUEST_TTL_DAYS"])
    idle = (
        get_user_model()
        .objects.filter(
            is_active=True,
            username__startswith="guest-",
            password__startswith=UNUSABLE_PASSWORD_PREFIX,
        )
        .filter(Q(last_login__lt=cutoff) | Q(last_login__isnull=True, date_joined__lt=cutoff))
        .exclude(pk__in=live_presence().values("user_id"))
    )
    with transaction.atomic():
        ids = list(idle.select_for_update().values_list("pk", flat=True))
        Token.objects.filter(user_id__in=ids).delete()
        get_user_model().objects.filter(pk__in=ids).update(is_active=False)
    return ids
