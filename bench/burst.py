"""A burst on one link: a live stream names a product and 256 viewers click at once.

Starts its own ``redis-server`` on a free loopback port and the service under
``redirector serve``'s gunicorn settings, makes one link, then:

1. **at once**: ``--connections`` clients (threads, released together by a
   barrier) each open a connection and send ``--requests`` clicks on it;
2. **sustained**: wrk holds as many connections on the link for ``--seconds``
   (skipped without wrk).

It prints, per phase, the answers by status, connection errors, p50/p99/max
latency, and checks that the clicks Redis counted equal the 302s the service
answered (exit 1 otherwise, or on any error). Loopback only, and bounded.

    .venv/bin/python -m bench.burst [--connections 256] [--requests 4] [--seconds 10]
                                    [--group-commit on|off] [--workers N] [--threads N]
"""

from __future__ import annotations

import argparse
import http.client
import os
import shutil
import statistics
import sys
import threading
import time
from collections import Counter
from contextlib import ExitStack
from urllib.parse import urlsplit

from redirector.config import Settings
from tests.servers import free_port, redis_server

from .redirect import (
    ADMIN,
    KEYS,
    USER_AGENT,
    _clicks_counted,
    _load_average,
    _metrics_dir,
    gunicorn_args,
    human_clicks_answered,
    make_links,
    over_http,
    private_spool,
    start,
    stop,
    wrk,
)

Phase = tuple[Counter[str], float, float, float]  # outcomes; p50, p99, max in ms


def at_once(url: str, connections: int, per_connection: int) -> Phase:
    """Every client released at the same moment; each sends its clicks on one
    keep-alive connection. Answers the outcomes ("302", "error: ...") and latencies."""
    parts = urlsplit(url)
    outcomes: Counter[str] = Counter()
    latencies: list[float] = []
    lock = threading.Lock()
    gate = threading.Barrier(connections)

    def client() -> None:
        mine: Counter[str] = Counter()
        took: list[float] = []
        gate.wait()
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        for _ in range(per_connection):
            started = time.perf_counter()
            try:
                conn.request("GET", parts.path, headers={"User-Agent": USER_AGENT})
                response = conn.getresponse()
                response.read()
                mine[str(response.status)] += 1
            except OSError as exc:
                mine[f"error: {type(exc).__name__}"] += 1
                conn.close()
                conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
            took.append(time.perf_counter() - started)
        conn.close()
        with lock:
            outcomes.update(mine)
            latencies.extend(took)

    threads = [threading.Thread(target=client) for _ in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    q = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0.0] * 99
    return outcomes, q[49] * 1000, q[98] * 1000, max(latencies, default=0) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--connections", type=int, default=256)
    parser.add_argument("--requests", type=int, default=4, help="per connection, at once")
    parser.add_argument("--seconds", type=int, default=10, help="the sustained phase (wrk)")
    parser.add_argument("--group-commit", choices=("on", "off"), default=None)
    parser.add_argument("--workers", type=int)
    parser.add_argument("--threads", type=int)
    args = parser.parse_args()
    if not 1 <= args.connections <= 1024 or not 1 <= args.requests <= 100:
        sys.exit("--connections 1..1024, --requests 1..100")
    print(f"burst: {args.connections} connections on one link; {os.cpu_count()} cores; "
          f"load average before: {_load_average()}")  # fmt: skip
    failed = False
    with ExitStack() as running:
        redis_url = running.enter_context(redis_server())
        env = {
            "REDIS_URL": redis_url,
            "REDIRECTOR_ADMIN_TOKEN": ADMIN,
            "REDIRECTOR_SECRET_KEYS": KEYS,
            "REDIRECTOR_SPOOL_DIR": private_spool(),
            "PROMETHEUS_MULTIPROC_DIR": _metrics_dir(),
        }
        if args.group_commit:
            env["REDIRECTOR_GROUP_COMMIT"] = "1" if args.group_commit == "on" else "0"
        if args.workers:
            env["REDIRECTOR_WORKERS"] = str(args.workers)
        settings = Settings.from_env(env)
        port = free_port()
        gunicorn = gunicorn_args(settings, port, args.threads)
        print("service: gunicorn " + " ".join(gunicorn[2:]) + f"; group commit "
              f"{'on' if settings.group_commit else 'off'}")  # fmt: skip
        proc = start(
            [sys.executable, "-m", "gunicorn", *gunicorn, "redirector.wsgi:app"],
            env,
            f"http://127.0.0.1:{port}/healthz",
        )
        running.callback(stop, proc)
        base = f"http://127.0.0.1:{port}"
        (link,) = make_links(over_http(base))
        url = f"{base}/r/{link['token']}"

        phases = [("at once", lambda: at_once(url, args.connections, args.requests))]
        if shutil.which("wrk"):
            phases.append(("sustained", lambda: _sustained(url, args.seconds, args.connections)))
        else:
            print("sustained phase skipped: wrk is not installed")
        for name, run in phases:
            counted_before = _clicks_counted(base, link["id"])
            answered_before = human_clicks_answered(base)
            started = time.perf_counter()
            outcomes, p50, p99, slowest = run()
            took = time.perf_counter() - started
            time.sleep(0.5)
            counted = _clicks_counted(base, link["id"]) - counted_before
            answered = human_clicks_answered(base) - answered_before
            total = sum(outcomes.values())
            print(
                f"{name}: {total} requests in {took:.2f} s ({total / took:.0f}/s): "
                + ", ".join(f"{n} {what}" for what, n in sorted(outcomes.items()))
                + f"; latency p50 {p50:.1f} ms, p99 {p99:.1f} ms"
                + (f", max {slowest:.1f} ms" if slowest == slowest else "")  # nan: unknown
            )
            # wrk stops at its deadline with a request in flight on each
            # connection: answered and counted, but not seen by the generator.
            unseen = answered - outcomes["302"]
            seen_ok = unseen == 0 if name == "at once" else 0 <= unseen <= args.connections
            equal = counted == answered
            print(f"  302s received {outcomes['302']}, service answered {answered} redirects "
                  f"({unseen} still in flight at wrk's deadline), Redis counted {counted}: "
                  f"{'equal' if equal else 'DIFFERENT'}")  # fmt: skip
            failed = failed or not equal or not seen_ok or outcomes["302"] != total
    print(f"load average after: {_load_average()}")
    sys.exit(1 if failed else 0)


def _sustained(url: str, seconds: int, connections: int) -> Phase:
    """wrk on the link (its latency figures; it reports no maximum here)."""
    load = wrk(url, seconds, connections)
    outcomes: Counter[str] = Counter()
    outcomes["302"] = load.requests - load.non_302
    if load.non_302:
        outcomes["not 302"] = load.non_302
    if load.errors:
        outcomes["error: socket"] = load.errors
    return outcomes, load.p50_ms, load.p99_ms, float("nan")


if __name__ == "__main__":
    main()
