"""Prometheus metrics, served at ``/metrics`` by the well-kept ``prometheus-client``.

Several workers per host: either scrape each worker on its own port (one uvicorn per port, as
deploy/systemd does), or run ``uvicorn --workers N`` with ``PROMETHEUS_MULTIPROC_DIR`` set to an
empty directory the workers share (cleared before they start): each worker then writes its
samples there and ``/metrics``, whichever worker answers it, sums them (prometheus-client's
multiprocess mode; the open-sockets gauge counts live workers only).

Labels come from closed sets (stream and action names the server knows, statuses, close codes
Parley uses), never from what a client sends: a hostile client cannot grow the metrics.

``/metrics`` is not public: it answers the addresses in ``PARLEY_METRICS_ALLOW`` (loopback by
default) and requests bearing ``Authorization: Bearer <PARLEY_METRICS_TOKEN>``; others get 403.
"""

import hmac
import ipaddress
import os
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.db.models import Count
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

MULTIPROCESS = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
OTHER = "other"
# The close codes Parley sends or a browser commonly does; any other is counted as "other".
CLOSE_CODES = frozenset({1000, 1001, 1005, 1006, 1009, 1011, 1012, 4401, 4408})

SOCKETS_OPEN = Gauge(
    "parley_sockets_open", "Sockets open now.", multiprocess_mode="livesum"
)
SOCKETS_OPENED = Counter("parley_sockets_opened_total", "Sockets accepted.")
SOCKETS_CLOSED = Counter(
    "parley_sockets_closed_total", "Sockets closed, by close code.", ["code"]
)
FRAMES_IN = Counter(
    "parley_frames_in_total",
    "Request frames received, by stream and action (frames no stream took: stream none).",
    ["stream", "action"],
)
FRAMES_OUT = Counter(
    "parley_frames_out_total",
    "Frames sent: replies (by the request's action) and pushes (by theirs), by stream.",
    ["stream", "action", "kind"],
)
ERROR_FRAMES = Counter("parley_error_frames_total", "Error replies sent, by status.", ["status"])
PUSHES_DELIVERED = Counter(
    "parley_pushes_delivered_total", "Pushes written to sockets, by stream.", ["stream"]
)
FRAMES_DROPPED = Counter(
    "parley_frames_dropped_total",
    "Frames (nearly all pushes) not delivered: the socket had closed, or its client fell a "
    "whole send buffer behind (too_slow).",
    ["reason"],
)
PUSH_DELAY = Histogram(
    "parley_push_delay_seconds",
    "From the write's commit to the push's hand-over to this worker's sockets.",
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
CALLS_ENDED = Counter(
    "parley_calls_ended_total", "Calls that reached a final state, by state and reason.",
    ["state", "reason"],
)
RATE_LIMITED = Counter(
    "parley_rate_limited_total", "Actions refused by a rate limit (429), by kind.", ["kind"]
)
CHANNEL_LAYER_ERRORS = Counter(
    "parley_channel_layer_errors_total",
    "Operations that failed because Redis (channel layer, shared counters) was unreachable.",
)


def close_code(code: Any) -> str:
    return str(code) if code in CLOSE_CODES else OTHER


_children: dict[tuple, Any] = {}


def child(metric: Any, *labels: Any) -> Any:
    """``metric.labels(*labels)``, looked up once: pushes count one per socket, so the hot path
    is a dictionary read and an increment."""
    key = (id(metric), *labels)
    found = _children.get(key)
    if found is None:
        found = _children[key] = metric.labels(*labels)
    return found


class CallsNow(Collector):
    """Calls ringing and in progress, counted by the database at each scrape (so every worker
    answers the same, and nothing is double-counted across workers)."""

    def describe(self) -> Iterator[GaugeMetricFamily]:
        # What registering needs to know, without a query (registering would otherwise collect).
        yield self.family()

    def family(self) -> GaugeMetricFamily:
        return GaugeMetricFamily(
            "parley_calls", "Calls by state now (live ones).", labels=["state"]
        )

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from calls.models import Call

        family = self.family()
        counts = dict(
            Call.objects.filter(state__in=[Call.State.RINGING, Call.State.ACCEPTED])
            .values_list("state")
            .annotate(n=Count("pk"))
        )
        for state in (Call.State.RINGING, Call.State.ACCEPTED):
            family.add_metric([state], counts.get(state, 0))
        yield family


def registry() -> CollectorRegistry:
    """What a scrape reads: this process's metrics, or every worker's in multiprocess mode."""
    if MULTIPROCESS:
        combined = CollectorRegistry()
        multiprocess.MultiProcessCollector(combined)
        combined.register(CallsNow())
        return combined
    return REGISTRY


if not MULTIPROCESS:
    REGISTRY.register(CallsNow())


def allowed(request: HttpRequest) -> bool:
    """From an allowed address, or with the metrics token."""
    token = settings.PARLEY["METRICS_TOKEN"]
    sent = request.headers.get("Authorization", "")
    if token and hmac.compare_digest(sent.encode(), f"Bearer {token}".encode()):
        return True
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(address in network for network in settings.PARLEY["METRICS_ALLOW"])


@never_cache
def metrics_view(request: HttpRequest) -> HttpResponse:
    if not allowed(request):
        return JsonResponse(
            {"detail": "Metrics are served to PARLEY_METRICS_ALLOW addresses, or with "
                       "Authorization: Bearer <PARLEY_METRICS_TOKEN>."},
            status=403,
        )
    return HttpResponse(generate_latest(registry()), content_type=CONTENT_TYPE_LATEST)


def worker_stopped() -> None:
    """A worker's live gauges stop counting when it stops (multiprocess mode)."""
    if MULTIPROCESS:
        multiprocess.mark_process_dead(os.getpid())
