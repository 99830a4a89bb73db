"""How good a call's connection is, from what a party measured (a quality sample).

One rule for every client and dashboard, so "poor connection" means the same everywhere. The
thresholds follow the usual guidance for interactive voice (ITU-T G.114 for delay; loss and
jitter as WebRTC's own call-quality tooling reads them): past ``poor`` people notice and talk
over each other; past ``fair`` they may notice.
"""

from typing import Any

# (fair from, poor from), per measure. Round-trip time counts the path both ways.
THRESHOLDS: dict[str, tuple[float, float]] = {
    "rtt_ms": (300.0, 600.0),
    "jitter_ms": (30.0, 60.0),
    "loss_percent": (2.0, 8.0),
}
RATINGS = ("good", "fair", "poor")


def rating(sample: Any) -> str | None:
    """``good``, ``fair`` or ``poor``: the worst of the measures the sample has; None if it has
    none of them (bitrates alone say little: a muted camera sends nothing and is fine)."""
    worst = None
    for measure, (fair, poor) in THRESHOLDS.items():
        value = getattr(sample, measure)
        if value is None:
            continue
        level = 2 if value >= poor else 1 if value >= fair else 0
        worst = level if worst is None else max(worst, level)
    return None if worst is None else RATINGS[worst]
