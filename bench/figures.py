"""What the dashboard's figures cost: ``calls.figures.compute`` over N calls made today.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/parley_bench \\
        python -m bench.figures 10000 100000

Uses (and empties) the calls of the database it is given: never point it at real data.
"""

import os
import random
import sys
import time
from datetime import datetime, timedelta

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
os.environ.setdefault("DEBUG", "true")

import django  # noqa: E402

django.setup()

from django.contrib.auth.models import User  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.utils import timezone  # noqa: E402

from calls.figures import Window, compute  # noqa: E402
from calls.models import Call  # noqa: E402

RUNS = 20


def seed(count: int) -> None:
    """``count`` calls spread over today: 60 % answered and hung up, 40 % missed."""
    Call.objects.all().delete()
    caller, _ = User.objects.get_or_create(username="bench-figures-a")
    callee, _ = User.objects.get_or_create(username="bench-figures-b")
    rng = random.Random(1)
    start = timezone.now().replace(hour=0, minute=0, second=0, microsecond=0)
    span = max(1.0, (timezone.now() - start).total_seconds() - 700)
    rows = []
    for _ in range(count):
        made = start + timedelta(seconds=rng.uniform(0, span))

        def at(seconds: float, made: datetime = made) -> datetime:
            return made + timedelta(seconds=seconds)

        if rng.random() < 0.6:
            rows.append(Call(caller=caller, callee=callee, state="ended", end_reason="hangup",
                             created_at=made, expires_at=made, answered_at=at(3),
                             connected_at=at(rng.uniform(3, 8)), ended_at=at(rng.uniform(10, 600))))
        else:
            rows.append(Call(caller=caller, callee=callee, state="missed", end_reason="missed",
                             created_at=made, expires_at=made, ended_at=at(60)))
    Call.objects.bulk_create(rows, batch_size=5000)


def main(counts: list[int]) -> None:
    call_command("migrate", verbosity=0)
    for count in counts:
        seed(count)
        window = Window.today()
        compute(window=window)
        began = time.perf_counter()
        for _ in range(RUNS):
            figures = compute(window=window)
        each = (time.perf_counter() - began) / RUNS
        vendor = django.db.connection.vendor
        print(f"{vendor}: {figures['calls']} calls today: figures in {each * 1000:.1f} ms")


if __name__ == "__main__":
    main([int(arg) for arg in sys.argv[1:]] or [10_000])
