"""Parley against the naive DCRF app, side by side in one run: ``python -m bench.run``.

For each configuration (in-memory layer, 1 process; and when Redis answers at 127.0.0.1:6379,
Redis layer with 1 and 2 processes) both apps are started on fresh SQLite files, then measured
alternately on the same machine at the same time:

* ``create``: round trip of a message ``create`` on one connection, sequential;
* ``fan-out N``: send -> receipt latency of every push to N subscribers, one message in flight;
* lost messages (pushes never received) and sockets dropped by the server.

See bench/README.md for the meaning of each figure and the latest results.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

from bench import servers, targets
from bench.client import Client, now

REDIS_URL = "redis://127.0.0.1:6379/0"
APPS = ("parley", "naive")


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100) of ``values``, or None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def ms(value: float | None) -> float | None:
    return None if value is None else round(value * 1000, 3)


# --------------------------------------------------------------------------------------------
# One configuration
# --------------------------------------------------------------------------------------------


async def measure_create(clients: dict[str, Client], total: int, block: int) -> list[dict]:
    """``total`` sequential creates per app on its sender socket, in alternating blocks."""
    times: dict[str, list[float]] = {name: [] for name in clients}
    errors = {name: 0 for name in clients}
    for client in clients.values():  # warm-up: not counted
        for i in range(10):
            await client.create(f"warm {i}")
    done, round_no = 0, 0
    while done < total:
        size = min(block, total - done)
        order = list(clients) if round_no % 2 == 0 else list(reversed(clients))
        for name in order:
            for i in range(size):
                try:
                    elapsed, _ = await clients[name].create(f"create {done + i}")
                    times[name].append(elapsed)
                except Exception:
                    errors[name] += 1
        done += size
        round_no += 1
    return [
        {"measure": "create", "app": name, "count": len(times[name]), "errors": errors[name],
         "p50_ms": ms(percentile(times[name], 50)), "p99_ms": ms(percentile(times[name], 99))}
        for name in clients
    ]


async def measure_fan_out(clients: dict[str, Client], apps: dict[str, servers.App], n: int,
                          messages: int, warmup: int, timeout: float, seq0: int) -> list[dict]:
    """``messages`` pushes to ``n`` subscribers per app, alternating apps message by message."""
    grow_started = now()
    await asyncio.gather(*(client.grow(n) for client in clients.values()))
    log(f"    {n} subscribers per app ready in {now() - grow_started:.1f} s")
    rss = {name: apps[name].rss_kib() for name in clients}
    seq = seq0
    for _ in range(warmup):
        for client in clients.values():
            await client.fan_out_one(seq, timeout)
            seq += 1
    first = seq
    cpu = {name: apps[name].cpu_seconds() for name in clients}
    client_cpu = time.process_time()
    timeouts = {name: 0 for name in clients}
    for i in range(messages):
        order = list(clients) if i % 2 == 0 else list(reversed(clients))
        for name in order:
            if not await clients[name].fan_out_one(seq, timeout):
                timeouts[name] += 1
            seq += 1
    await asyncio.sleep(0.5)  # late pushes still count as received (not lost), if they come
    cpu = {name: apps[name].cpu_seconds() - cpu[name] for name in clients}
    client_cpu = time.process_time() - client_cpu
    rows = []
    for name, client in clients.items():
        tracker = client.tracker
        mine = [s for s in range(first, seq) if s in tracker.sent_at]
        latencies = [t - tracker.sent_at[s] for s in mine for t in tracker.receipts.get(s, [])]
        expected = n * len(mine)
        # Per message: when its first and last push arrived. A high p99 with a low spread means
        # whole messages were late (a pause in the server), a high spread a slow fan-out loop.
        arrived = [s for s in mine if tracker.receipts.get(s)]
        firsts = [min(tracker.receipts[s]) - tracker.sent_at[s] for s in arrived]
        lasts = [max(tracker.receipts[s]) - tracker.sent_at[s] for s in arrived]
        rows.append({
            "measure": "fan-out", "app": name, "n": n, "messages": len(mine),
            "expected": expected, "received": len(latencies), "lost": expected - len(latencies),
            "duplicates": tracker.duplicates, "timeouts": timeouts[name],
            "stalls": [st for st in client.stalls if first <= st["seq"] < seq],
            "dropped_sockets": client.dropped(),
            "p50_ms": ms(percentile(latencies, 50)), "p99_ms": ms(percentile(latencies, 99)),
            "first_push_p50_ms": ms(percentile(firsts, 50)),
            "last_push_p50_ms": ms(percentile(lasts, 50)),
            "last_push_max_ms": ms(max(lasts, default=None)),
            "server_cpu_us_per_delivery": round(cpu[name] / max(1, expected) * 1e6, 1),
            "server_cpu_ms_per_message": round(cpu[name] / max(1, len(mine)) * 1e3, 2),
            "client_cpu_s_both_apps": round(client_cpu, 2),
            "server_rss_kib": rss[name],
        })
    return rows


async def settle(app: servers.App, cpu_before: float, limit: float = 20.0) -> dict[str, float]:
    """Wait until the app's processes are idle (under 5% CPU for 0.5 s), at most ``limit`` s.

    Returns the wall time it took and the server CPU spent since ``cpu_before``.
    """
    began = now()
    while now() - began < limit:
        cpu = app.cpu_seconds()
        await asyncio.sleep(0.5)
        if app.cpu_seconds() - cpu < 0.025 * len(app.processes):
            break
    return {"seconds": round(now() - began, 1),
            "cpu_seconds": round(app.cpu_seconds() - cpu_before, 2)}


async def run_config(config: dict[str, Any], args: argparse.Namespace, tmp: Path,
                     started: list[servers.Process]) -> dict[str, Any]:
    name = config["name"]
    log(f"== {name}: starting Parley and naive ({config['processes']} process(es) each)")
    parley, naive = servers.start_apps(tmp, name, config["redis"], config["processes"], started)
    apps = {"parley": parley, "naive": naive}
    clients = {app: Client(apps[app], compression=args.compression) for app in APPS}
    result: dict[str, Any] = {"config": name, "layer": "redis" if config["redis"] else "memory",
                              "processes": config["processes"], "rows": []}
    try:
        max_n = max(args.n)
        started_at = now()
        await asyncio.to_thread(clients["parley"].sign_in, max_n + 1)
        log(f"    {max_n + 1} Parley guests signed in in {now() - started_at:.1f} s")
        for client in clients.values():
            await client.setup_sender(f"bench-{name}")
        log(f"    create x{args.creates} per app")
        rows = await measure_create(clients, args.creates, args.block)
        for n in sorted(args.n):
            messages = args.messages or (30 if n >= 500 else 40)
            log(f"    fan-out N={n}, {messages} messages per app")
            rows += await measure_fan_out(clients, apps, n, messages, args.warmup,
                                          args.timeout, seq0=n * 100000)
        for row in rows:
            row["config"] = name
        result["rows"] = rows
        result["rss_kib"] = {app: apps[app].rss_kib() for app in APPS}
        result["dropped_sockets"] = {app: clients[app].dropped() for app in APPS}
        result["stalls"] = {app: clients[app].stalls for app in APPS}
        result["unexpected_frames"] = {
            app: sum(s.unexpected for s in clients[app].subscribers) for app in APPS}
    except Exception as exc:  # keep the other configurations' results, report this one
        log(f"    FAILED: {exc!r}")
        result["error"] = repr(exc)
        result["dropped_sockets"] = {app: clients[app].dropped() for app in APPS}
    finally:
        closing = now()
        cpu_before = {app: apps[app].cpu_seconds() for app in APPS}
        sockets = {app: len(clients[app].subscribers) + 1 for app in APPS}
        await asyncio.gather(*(client.close() for client in clients.values()),
                             return_exceptions=True)
        result["alive_at_end"] = {app: apps[app].alive() for app in APPS}
        # Let each server finish tearing down its consumers before it is stopped, so shutdown
        # does not cancel them half-way (that logs channels-redis errors, see the README).
        settled = await asyncio.gather(*(settle(apps[app], cpu_before[app]) for app in APPS))
        result["teardown"] = {app: {**done, "sockets": sockets[app]}
                              for app, done in zip(APPS, settled)}
        during = {app: len(apps[app].problems()) for app in APPS}
        stopping = now()
        result["stop_seconds"] = servers.stop([p for app in apps.values() for p in app.processes])
        log(f"    sockets closed in {stopping - closing:.1f} s (server teardown "
            f"{result['teardown']}), servers stopped in {now() - stopping:.1f} s "
            f"{result['stop_seconds']}")
        for app in APPS:
            problems = apps[app].problems()
            result.setdefault("log_problems", {})[app] = {
                "count": len(problems), "before_stop": during[app],
                "first": problems[:15], "last": problems[-5:]}
        if config["redis"]:
            result["redis_keys_deleted"] = servers.redis_forget(
                [apps[app].prefix for app in APPS])
    return result


# --------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------


def ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.2f}" if a is not None and b else "—"


def fmt(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.0f}" if value >= 100 else f"{value:.1f}" if value >= 10 else f"{value:.2f}"


def markdown(results: dict[str, Any]) -> str:
    lines = [
        "| configuration | measure | Parley p50 / p99 ms | naive p50 / p99 ms "
        "| Parley/naive p50 | Parley/naive p99 | server CPU µs/delivery P / naive "
        "| lost P / naive |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for config in results["configs"]:
        rows = config.get("rows", [])
        keys: list[tuple[str, Any]] = []
        for row in rows:
            key = (row["measure"], row.get("n"))
            if key not in keys:
                keys.append(key)
        for measure, n in keys:
            pair = {r["app"]: r for r in rows if r["measure"] == measure and r.get("n") == n}
            p, q = pair.get("parley", {}), pair.get("naive", {})
            label = f"fan-out N={n}" if measure != "create" else f"create ({p.get('count')} seq.)"
            cpu_p, cpu_q = p.get("server_cpu_us_per_delivery"), q.get("server_cpu_us_per_delivery")
            cpu = "—" if measure == "create" else f"{fmt(cpu_p)} / {fmt(cpu_q)}"
            lost = (f"{p.get('lost', 0)} / {q.get('lost', 0)}" if measure != "create"
                    else f"{p.get('errors', 0)} err / {q.get('errors', 0)} err")
            lines.append(
                f"| {config['config']} | {label} "
                f"| {fmt(p.get('p50_ms'))} / {fmt(p.get('p99_ms'))} "
                f"| {fmt(q.get('p50_ms'))} / {fmt(q.get('p99_ms'))} "
                f"| {ratio(p.get('p50_ms'), q.get('p50_ms'))} "
                f"| {ratio(p.get('p99_ms'), q.get('p99_ms'))} | {cpu} | {lost} |"
            )
        if config.get("error"):
            lines.append(f"| {config['config']} | FAILED: {config['error'][:120]} | | | | | | |")
    return "\n".join(lines)


def versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for package in ("Django", "channels", "channels-redis", "djangochannelsrestframework",
                    "channelsmultiplexer", "uvicorn", "websockets", "redis", "uvloop"):
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            pass
    return found


# --------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="short run: 100 creates, N=1,100, 10 messages (under a minute)")
    parser.add_argument("--out", type=Path, default=None,
                        help="write the results as JSON here (e.g. bench/results.json)")
    parser.add_argument("--creates", type=int, default=None, help="sequential creates per app")
    parser.add_argument("--n", type=lambda s: [int(x) for x in s.split(",")], default=None,
                        help="subscriber counts, comma-separated (default 1,100,500)")
    parser.add_argument("--messages", type=int, default=None,
                        help="fan-out messages per app and N (default 40, 30 for N >= 500)")
    parser.add_argument("--configs", default="memory-1p,redis-1p,redis-2p",
                        help="which configurations (default: all; Redis ones need Redis)")
    parser.add_argument("--no-deflate", dest="compression", action="store_const", const=None,
                        default="deflate", help="do not offer permessage-deflate (browsers do)")
    parser.add_argument("--timeout", type=float, default=15.0,
                        help="seconds to wait for one message's pushes")
    parser.add_argument("--only", type=lambda v: [x.strip() for x in v.split(",") if x.strip()],
                        default=None, help="which parts: compare (Parley vs naive, the table "
                        "above), " + ", ".join(targets.MEASURES) + " (issue 7's targets); "
                        "default all")
    parser.add_argument("--fan-n", type=lambda s: [int(x) for x in s.split(",")], default=None,
                        help="targets: fan-out N on one process (default 100,500,2000)")
    parser.add_argument("--redis-n", type=int, default=None, help="targets: N over Redis, 2 p.")
    parser.add_argument("--burst", type=int, default=None, help="messages in the burst at N=500")
    parser.add_argument("--pairs", type=int, default=None, help="signaling pairs at once")
    parser.add_argument("--pair-offers", type=int, default=None, help="offers per pair a round")
    parser.add_argument("--pair-rounds-many", type=int, default=None,
                        help="rounds of the many-pairs measure, alternating apps (median)")
    parser.add_argument("--pair-rounds", type=int, default=None,
                        help="blocks of 20 offers per app for the one-pair latency")
    parser.add_argument("--socket-n", type=int, default=None,
                        help="sockets opened per app for CPU per open/close and RSS per socket")
    parser.add_argument("--storm", type=int, default=None,
                        help="signed-in sockets opened against one process (default 15000)")
    parser.add_argument("--crowd-workers", type=int, default=None,
                        help="client processes opening the storm's sockets")
    parser.add_argument("--leak-n", type=int, default=None, help="sockets per leak round")
    parser.add_argument("--leak-rounds", type=int, default=None, help="leak rounds")
    args = parser.parse_args(argv)
    quick = args.quick
    args.only = args.only or ["compare", *targets.MEASURES]
    unknown = set(args.only) - {"compare", *targets.MEASURES}
    if unknown:
        parser.error(f"unknown parts: {', '.join(sorted(unknown))}")
    args.fan_n = args.fan_n or ([100, 500] if quick else [100, 500, 2000])
    args.redis_n = args.redis_n or (500 if quick else 2000)
    args.burst = args.burst or (20 if quick else 40)
    args.pairs = args.pairs or (50 if quick else 200)
    args.pair_offers = args.pair_offers or (10 if quick else 10)
    args.pair_rounds_many = args.pair_rounds_many or (2 if quick else 5)
    args.pair_rounds = args.pair_rounds or (5 if quick else 15)
    args.socket_n = args.socket_n or (500 if quick else 2000)
    args.storm = args.storm or (3000 if quick else 15000)
    args.crowd_workers = args.crowd_workers or (2 if quick else 3)
    args.leak_n = args.leak_n or (1000 if quick else 5000)
    args.leak_rounds = args.leak_rounds or (3 if quick else 5)
    args.creates = args.creates or (100 if args.quick else 500)
    args.n = args.n or ([1, 100] if args.quick else [1, 100, 500])
    args.messages = args.messages or (10 if args.quick else None)
    args.warmup = 2
    args.block = 50 if args.quick else 125
    if any(n < 1 or n > 2000 for n in args.n) or not 1 <= args.creates <= 5000:
        parser.error("N must be 1..2000 and creates 1..5000")
    return args


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    wanted = [c.strip() for c in args.configs.split(",") if c.strip()]
    redis_ok = servers.redis_answers(REDIS_URL)
    configs = []
    for name in wanted:
        if name == "memory-1p":
            configs.append({"name": name, "redis": None, "processes": 1})
        elif name in ("redis-1p", "redis-2p"):
            if redis_ok:
                configs.append({"name": name, "redis": REDIS_URL,
                                "processes": 1 if name == "redis-1p" else 2})
            else:
                log(f"skipping {name}: no Redis at 127.0.0.1:6379")
        else:
            raise SystemExit(f"unknown configuration {name!r}")
    results: dict[str, Any] = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                    "note": "client and servers share the same cores"},
        "versions": versions(),
        "settings": {"creates": args.creates, "n": args.n, "messages": args.messages,
                     "warmup": args.warmup, "compression": args.compression,
                     "quick": args.quick},
        "configs": [],
    }
    tmp = Path(tempfile.mkdtemp(prefix="parley-bench-"))
    started: list[servers.Process] = []
    began = now()
    try:
        if "compare" in args.only:
            for config in configs:
                results["configs"].append(await run_config(config, args, tmp, started))
        if set(args.only) & set(targets.MEASURES):
            results["targets"] = await targets.run_targets(args, tmp)
    finally:
        servers.stop(started)
        if os.environ.get("BENCH_KEEP_TMP"):
            log(f"server logs kept in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    results["wall_seconds"] = round(now() - began, 1)
    return results


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        import uvloop  # the servers run on uvloop too (uvicorn's default when installed)
        runner: Any = uvloop.run
    except ImportError:
        runner = asyncio.run
    results = runner(main_async(args))
    table = markdown(results) if results["configs"] else ""
    print()
    print(table)
    print()
    if "targets" in results:
        target_table, verdicts = targets.targets_table(results["targets"])
        results["targets"]["table"] = target_table
        results["targets"]["verdicts"] = verdicts
        print(target_table)
        print()
        for name, problems in results["targets"]["log_problems"].items():
            print(f"{name}: {problems['count']} log lines at WARNING+, e.g.:")
            for line in problems["first"][:3]:
                print("   ", line[:300])
    for config in results["configs"]:
        for app, problems in config.get("log_problems", {}).items():
            if problems["count"]:
                print(f"{config['config']} {app}: {problems['count']} log lines at WARNING+:")
                for line in problems["first"][:5]:
                    print("   ", line[:300])
        if any(config.get("dropped_sockets", {}).values()):
            print(f"{config['config']}: sockets dropped by the server: {config['dropped_sockets']}")
    print(f"wall time {results['wall_seconds']} s")
    if args.out:
        results["table"] = table
        args.out.write_text(json.dumps(results, indent=2) + "\n")
        print(f"results written to {args.out}")
    failed = any(c.get("error") for c in results["configs"])
    lost = any(r.get("lost") for c in results["configs"] for r in c.get("rows", []))
    missed = [v for v in results.get("targets", {}).get("verdicts", []) if v["pass"] is False]
    return 1 if failed or lost or missed or results.get("targets", {}).get("errors") else 0


if __name__ == "__main__":
    sys.exit(main())
