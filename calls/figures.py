"""The dashboard's figures: calls now, outcomes in a window, answer rate, set-up time, duration.

Counted and ranked by the database (conditional aggregates, and one ordered read per percentile
at its offset), never by loading the calls into Python: the cost does not grow with the
number of calls the way a Python loop would.
"""

import math
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.cache import cache
from django.db.models import Count, DurationField, ExpressionWrapper, F, Q, QuerySet
from django.utils import timezone
from rest_framework.fields import DateTimeField

from calls.models import Call

State = Call.State
Reason = Call.EndReason

FAILED = Q(end_reason__in=[Reason.ICE_FAILED, Reason.USER_MEDIA_FAILED])
# Each call of the window in exactly one outcome (or still ringing).
OUTCOMES: dict[str, Q] = {
    "accepted": Q(answered_at__isnull=False) & ~FAILED,
    "rejected": Q(state=State.REJECTED),
    "missed": Q(state=State.MISSED),
    "busy": Q(state=State.BUSY),
    "cancelled": Q(state=State.CANCELLED) & ~FAILED,
    "unavailable": Q(state=State.UNAVAILABLE),
    "failed": FAILED,
}
# What is timed, and which calls have it: set-up (invite → media connected) and duration.
TIMED: dict[str, tuple[ExpressionWrapper, Q]] = {
    "set_up_seconds": (
        ExpressionWrapper(F("connected_at") - F("created_at"), output_field=DurationField()),
        Q(connected_at__isnull=False),
    ),
    "duration_seconds": (
        ExpressionWrapper(F("ended_at") - F("answered_at"), output_field=DurationField()),
        Q(answered_at__isnull=False, ended_at__isnull=False),
    ),
}
PERCENTILES = {"median": 0.5, "p90": 0.9}


@dataclass(frozen=True)
class Window:
    """Calls created from ``since`` to ``until``; ``until=None``: to the moment of counting
    (a window that stays open, as a live dashboard's does)."""

    since: datetime
    until: datetime | None = None

    def end(self) -> datetime:
        return self.until if self.until is not None else timezone.now()

    @classmethod
    def today(cls) -> "Window":
        """From midnight UTC to now."""
        now = timezone.now()
        return cls(since=now.replace(hour=0, minute=0, second=0, microsecond=0), until=now)


# Today's figures are computed at most once per this many seconds, whatever the number of
# dashboards asking (shared through the cache, so by every worker past one process). On
# PostgreSQL they cost about 19 ms for 10,000 calls in the day and 170 ms for 100,000
# (bench/README.md): once a second stays cheap on a busy server.
TODAY_EVERY_SECONDS = 1


def figures(*, window: Window | None = None, fresher_than: float | None = None) -> dict:
    """``window``'s figures; without one, today's, computed once a second for everyone.

    ``fresher_than`` (a ``time.time()``): today's figures must have been computed after it (a
    push that follows a change must not show figures counted before the change).
    """
    if window is not None:
        return compute(window=window)
    today = Window.today()
    key = today_key(today)
    cached = cache.get(key)
    if cached is None or (fresher_than is not None and cached[0] < fresher_than):
        cached = (time.time(), compute(window=today))
        cache.set(key, cached, TODAY_EVERY_SECONDS)
    return cached[1]


def today_key(today: Window) -> str:
    """Where today's figures are cached (one entry per day)."""
    return f"calls:figures:{today.since.date().isoformat()}"


def compute(*, window: Window) -> dict:
    """Calls ringing and in progress now; the window's calls (by creation) by outcome, answer
    rate, and the median and p90 of set-up time (invite → media connected) and duration."""
    now = Call.objects.aggregate(
        ringing=Count("pk", filter=Q(state=State.RINGING)),
        in_progress=Count("pk", filter=Q(state=State.ACCEPTED)),
    )
    until = window.end()
    calls = Call.objects.filter(created_at__gte=window.since, created_at__lt=until)
    counts = calls.aggregate(
        total=Count("pk"),
        still_ringing=Count("pk", filter=Q(state=State.RINGING)),
        **{name: Count("pk", filter=q) for name, q in OUTCOMES.items()},
        **{name: Count("pk", filter=q) for name, (_, q) in TIMED.items()},
    )
    total, ringing = counts.pop("total"), counts.pop("still_ringing")
    timed = {
        name: _percentiles(calls.filter(q), value, count=counts.pop(name))
        for name, (value, q) in TIMED.items()
    }
    decided = total - ringing
    return {
        "now": now,
        "window": {"since": _iso(window.since), "until": _iso(until)},
        "calls": total,
        "outcomes": counts,
        "answer_rate": round(counts["accepted"] / decided, 4) if decided else None,
        **timed,
    }


def _iso(moment: datetime) -> str:
    """As every time in Parley's JSON (DRF's format: ISO 8601, UTC, ``Z``)."""
    return str(DateTimeField().to_representation(moment))


def _percentiles(calls: QuerySet[Call], expression: ExpressionWrapper, *, count: int) -> dict:
    """Nearest-rank percentiles of ``expression`` over the ``count`` ``calls``, each read at
    its offset."""
    ranked = calls.annotate(value=expression).order_by("value").values_list("value", flat=True)
    values: dict[str, float | None] = {}
    for name, p in PERCENTILES.items():
        value: timedelta | None = ranked[max(0, math.ceil(p * count) - 1)] if count else None
        values[name] = round(value.total_seconds(), 3) if value is not None else None
    return {"count": count, **values}
