"""Reads: who is online. A user is online while a live worker records a socket of theirs."""

from datetime import datetime, timedelta
from typing import TypeVar

from django.conf import settings
from django.db.models import Exists, Model, OuterRef, QuerySet
from django.utils import timezone

from presence.models import Presence

M = TypeVar("M", bound=Model)


def online_cutoff() -> datetime:
    """Workers silent since before this moment are presumed dead; their sockets do not count."""
    return timezone.now() - timedelta(seconds=settings.PARLEY["WORKER_STALE_SECONDS"])


def live_presence() -> QuerySet[Presence]:
    """Users with sockets on workers that are still beating."""
    return Presence.objects.filter(worker__seen_at__gte=online_cutoff())


def is_online(*, user_id: int) -> bool:
    """Whether the user has at least one live socket."""
    return live_presence().filter(user_id=user_id).exists()


def online_user_ids(*, user_ids: list[int]) -> set[int]:
    """Which of these users have at least one live socket."""
    return set(live_presence().filter(user_id__in=user_ids).values_list("user_id", flat=True))


def online_only(queryset: QuerySet[M]) -> QuerySet[M]:
    """The rows of ``queryset`` (anything with a ``user_id``) whose user is online."""
    return queryset.filter(Exists(live_presence().filter(user_id=OuterRef("user_id"))))


def worker_user_ids(*, worker_key: str) -> set[int]:
    """The users recorded on the worker ``worker_key`` (none once it was swept as dead)."""
    return set(
        Presence.objects.filter(worker__key=worker_key).values_list("user_id", flat=True)
    )
