"""The redirect against a bare Flask 302 and a bare WSGI 302, in one run.

Starts its own ``redis-server`` on a free loopback port and, side by side,
each under the same gunicorn settings as ``redirector serve`` uses in
production (``cli.gunicorn_options``): the service on that Redis, a bare Flask
app answering 302, and a bare WSGI callable answering 302. It loads one at a
time, for the same bounded time, with the same generator (wrk when installed,
else a bundled Python client) and a phone's in-app user agent, in rounds that
change the order; it prints requests/s, p50, p99 and errors per round, the
median ratios service / Flask and service / WSGI, Redis's CPU per click, and
checks that the clicks Redis counted equal the 302s the service answered.

The load is a fixed number of keep-alive connections (8 by default: enough
to keep both cores busy; more only queue requests, raising every target's
p99 without raising its throughput). Rounds and medians because a small
shared VM's speed drifts by a tenth from one minute to the next.

    .venv/bin/python -m bench.redirect [--seconds 8] [--rounds 3] [--connections 8]
                                       [--group-commit both|on|off] [--replica]
                                       [--workers N] [--threads N] [--redis-cpu N]

The service runs as one target per design: "service 1rt" (a round trip per
click, ``REDIRECTOR_GROUP_COMMIT=0``), "service gc" (group commit), and with
``--replica`` (a replica of the benchmark's Redis) "service gc+wait"
(``REDIRECTOR_CLICK_REPLICAS=1``). Every target runs under the same gunicorn
settings, ``serve``'s defaults unless ``--workers``/``--threads`` say others.

``--redis-cpu N`` pins Redis to CPU N and the targets and wrk to the other
CPUs: Redis as on its own host, so that the ratio compares the app's side
alone (on two cores, each target then has one core).

Goals (issue 19): service >= 0.9x bare Flask throughput (median of the
rounds, 32 connections), p99 <= 15 ms at 8 connections, zero errors, every
click counted.
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import redis
import requests

from redirector.cli import gunicorn_options
from redirector.config import Settings
from tests.servers import free_port, redis_server, wait_until

ADMIN = "bench-admin-token-0123456789"
KEYS = "bench-signing-key-0123456789abcdef"
USER_AGENT = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Mobile/15E148 Weibo (iPhone15,2__weibo__14.3.0__iphone__os17.4)"
)


@dataclass
class Load:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int
    non_302: int

    @property
    def rate(self) -> float:
        return self.requests / self.seconds


def private_spool() -> str:
    """A spool directory of the benchmark's own: with Redis the service refuses one
    that is not private to its user (the shared default may belong to another)."""
    return tempfile.mkdtemp(prefix="redirector-bench-spool-")


def gunicorn_args(settings: Settings, port: int, threads: int | None = None) -> list[str]:
    """The production gunicorn settings, as command-line flags."""
    options = gunicorn_options(settings, "127.0.0.1", port)
    return [
        "--bind", options["bind"],
        "--workers", str(options["workers"]),
        "--worker-class", options["worker_class"],
        "--threads", str(threads or options["threads"]),
        "--keep-alive", str(options["keepalive"]),
        "--log-level", "warning",
    ]  # fmt: skip


def start(args: list[str], env: dict[str, str], url: str) -> subprocess.Popen:
    proc = subprocess.Popen(
        args, env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_until(
            lambda: requests.get(url, timeout=1, allow_redirects=False).status_code < 500,
            60,
            " ".join(args[:3]),
        )
    except BaseException:
        stop(proc)  # not left running when it did not come up in time
        raise
    return proc


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()


def wrk(url: str, seconds: int, connections: int) -> Load:
    out = subprocess.run(
        [
            "wrk", "-t", "2", "-c", str(connections), "-d", f"{seconds}s", "--latency",
            "-H", f"User-Agent: {USER_AGENT}", url,
        ],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip

    def latency(label: str) -> float:
        match = re.search(rf"^\s*{label}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        if not match:
            return float("nan")
        value, unit = float(match.group(1)), match.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    total = int(re.search(r"(\d+) requests in ([\d.]+)(m?s)", out).group(1))
    took = re.search(r"requests in ([\d.]+)(ms|s|m)", out)
    secs = float(took.group(1)) * {"ms": 0.001, "s": 1, "m": 60}[took.group(2)]
    socket_errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    non = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return Load(
        total, secs, latency("50"), latency("99"), socket_errors, int(non.group(1)) if non else 0
    )


def python_client(url: str, seconds: int, connections: int) -> Load:
    """Keep-alive clients in threads, for machines without wrk (slower: it
    shares the Python interpreter's lock, so it measures less than wrk)."""
    parts = urlsplit(url)
    deadline = time.monotonic() + seconds
    latencies: list[float] = []
    counts = {"errors": 0, "non_302": 0}
    lock = threading.Lock()

    def worker() -> None:
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
        mine = []
        while time.monotonic() < deadline:
            started = time.perf_counter()
            try:
                conn.request("GET", parts.path, headers={"User-Agent": USER_AGENT})
                response = conn.getresponse()
                response.read()
            except OSError:
                with lock:
                    counts["errors"] += 1
                conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
                continue
            mine.append(time.perf_counter() - started)
            if response.status != 302:
                with lock:
                    counts["non_302"] += 1
        with lock:
            latencies.extend(mine)

    started = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    took = time.monotonic() - started
    q = statistics.quantiles(latencies, n=100)
    return Load(
        len(latencies), took, q[49] * 1000, q[98] * 1000, counts["errors"], counts["non_302"]
    )


def human_clicks_answered(base: str) -> int:
    text = requests.get(f"{base}/metrics", timeout=5).text
    match = re.search(r'^redirector_clicks_total\{outcome="human"\} ([\d.e+]+)$', text, re.M)
    return int(float(match.group(1))) if match else 0


@dataclass
class Target:
    """One server under load: the service in one of its designs, or a baseline."""

    name: str
    module: str
    env: dict[str, str]
    url: str = ""
    base: str = ""
    master: int = 0
    link_id: str = ""

    @property
    def service(self) -> bool:
        return self.module == "redirector.wsgi:app"


def service_targets(env: dict[str, str], group_commit: str, replicas: int) -> list[Target]:
    """The service's designs to measure: today's one-click round trip
    ("service 1rt"), group commit ("service gc"), and group commit with WAIT
    for ``replicas`` ("service gc+wait")."""

    def service(name: str, **extra: str) -> Target:
        return Target(name, "redirector.wsgi:app",
                      {**env, "PROMETHEUS_MULTIPROC_DIR": _metrics_dir(), **extra})  # fmt: skip

    made = []
    if group_commit in ("off", "both"):
        made.append(service("service 1rt", REDIRECTOR_GROUP_COMMIT="0"))
    if group_commit in ("on", "both"):
        made.append(service("service gc", REDIRECTOR_GROUP_COMMIT="1"))
    if replicas:
        made.append(service("service gc+wait", REDIRECTOR_GROUP_COMMIT="1",
                            REDIRECTOR_CLICK_REPLICAS=str(replicas)))  # fmt: skip
    return made


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=8, help="per target and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--client", choices=("auto", "wrk", "python"), default="auto")
    parser.add_argument(
        "--group-commit", choices=("off", "on", "both"), default="both",
        help="the service's designs to measure: one round trip per click, group commit, or both",
    )  # fmt: skip
    parser.add_argument(
        "--replica", action="store_true",
        help="give Redis a replica and measure group commit with REDIRECTOR_CLICK_REPLICAS=1 too",
    )  # fmt: skip
    parser.add_argument("--workers", type=int, help="gunicorn workers, every target")
    parser.add_argument("--threads", type=int, help="gunicorn threads per worker, every target")
    parser.add_argument(
        "--redis-cpu",
        type=int,
        help="pin Redis to this CPU and everything else to the others: Redis as on its own host",
    )
    args = parser.parse_args()
    use_wrk = args.client == "wrk" or (args.client == "auto" and shutil.which("wrk"))
    load = wrk if use_wrk else python_client
    print(f"load generator: {'wrk' if use_wrk else 'python client'}, {args.connections} "
          f"connections, {args.rounds} rounds of {args.seconds} s per target; "
          f"{os.cpu_count()} cores; load average before: {_load_average()}")  # fmt: skip

    rounds: list[dict[str, Load]] = []
    with ExitStack() as running:
        redis_url = running.enter_context(redis_server())
        if args.replica:
            replica_url = running.enter_context(redis_server())
            print(_attach_replica(redis_url, replica_url))
        if args.redis_cpu is not None:
            print(_pin_redis(redis_url, args.redis_cpu))
        env = {
            "REDIS_URL": redis_url,
            "REDIRECTOR_ADMIN_TOKEN": ADMIN,
            "REDIRECTOR_SECRET_KEYS": KEYS,
            "REDIRECTOR_SPOOL_DIR": private_spool(),
        }
        if args.workers:
            env["REDIRECTOR_WORKERS"] = str(args.workers)
        settings = Settings.from_env(env)
        targets = [
            *service_targets(env, args.group_commit, 1 if args.replica else 0),
            Target("bare flask", "bench.baselines:flask_app", {}),
            Target("bare wsgi", "bench.baselines:wsgi_app", {}),
        ]
        for target in targets:
            port = free_port()
            probe = "/healthz" if target.service else "/r/x"
            proc = start(
                [sys.executable, "-m", "gunicorn", *gunicorn_args(settings, port, args.threads),
                 target.module],
                target.env,
                f"http://127.0.0.1:{port}{probe}",
            )  # fmt: skip
            running.callback(stop, proc)
            target.base = f"http://127.0.0.1:{port}"
            target.master = proc.pid
        services = [t for t in targets if t.service]
        made = make_links(over_http(services[0].base), len(services))
        for target, link in zip(services, made, strict=True):
            target.url, target.link_id = f"{target.base}/r/{link['token']}", link["id"]
        for target in targets:
            if not target.service:
                target.url = f"{target.base}/r/x"
        for target in targets:
            load(target.url, 2, args.connections)  # warm-up: workers, caches, connections
        time.sleep(0.5)  # let the warm-up's last requests finish before counting

        store = redis.Redis.from_url(redis_url)
        before = {t.name: (_clicks_counted(t.base, t.link_id), human_clicks_answered(t.base))
                  for t in services}  # fmt: skip
        redis_cpu: dict[str, float] = {t.name: 0.0 for t in services}
        redis_reads: dict[str, int] = {t.name: 0 for t in services}
        worker_cpu: dict[str, float] = {t.name: 0.0 for t in targets}
        for n in range(args.rounds):
            # Each round in another order, so that no target always runs first.
            order = targets[n % len(targets) :] + targets[: n % len(targets)]
            results: dict[str, Load] = {}
            for target in order:
                cpu_before, reads_before = _cpu_seconds(store), _reads(store)
                workers_before = _workers_cpu_seconds(target.master)
                results[target.name] = load(target.url, args.seconds, args.connections)
                worker_cpu[target.name] += _workers_cpu_seconds(target.master) - workers_before
                if target.service:
                    redis_cpu[target.name] += _cpu_seconds(store) - cpu_before
                    redis_reads[target.name] += _reads(store) - reads_before
            rounds.append(results)
        time.sleep(0.5)
        checks = {}
        for t in services:
            counted = _clicks_counted(t.base, t.link_id) - before[t.name][0]
            answered = human_clicks_answered(t.base) - before[t.name][1]
            checks[t.name] = (counted, answered)
    report(rounds, targets, checks, redis_cpu, redis_reads, worker_cpu)


def report(
    rounds: list[dict[str, Load]],
    targets: list[Target],
    checks: dict[str, tuple[int, int]],
    redis_cpu: dict[str, float],
    redis_reads: dict[str, int],
    worker_cpu: dict[str, float],
) -> None:
    """Print the rounds, the medians and the checks; exit 1 on an error or a
    count that differs."""
    print(f"{'round':6} {'':16} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7} "
          f"{'non-302':>8}")  # fmt: skip
    for n, results in enumerate(rounds, 1):
        for t in targets:
            r = results[t.name]
            print(f"{n:<6} {t.name:16} {r.rate:9.0f} {r.p50_ms:8.2f} {r.p99_ms:8.2f} "
                  f"{r.errors:7d} {r.non_302:8d}")  # fmt: skip
    requests_of = {t.name: sum(r[t.name].requests for r in rounds) for t in targets}
    per_request = {n: 1e6 * worker_cpu[n] / max(requests_of[n], 1) for n in worker_cpu}
    flask_cpu = per_request["bare flask"] or 1
    failed = False
    for t in targets:
        if not t.service:
            continue
        to_flask = statistics.median(r[t.name].rate / r["bare flask"].rate for r in rounds)
        to_wsgi = statistics.median(r[t.name].rate / r["bare wsgi"].rate for r in rounds)
        rate = statistics.median(r[t.name].rate for r in rounds)
        p50 = statistics.median(r[t.name].p50_ms for r in rounds)
        p99 = statistics.median(r[t.name].p99_ms for r in rounds)
        counted, answered = checks[t.name]
        print(
            f"{t.name}: {rate:.0f} req/s, ratio to bare flask {to_flask:.2f} (goal >= 0.9), "
            f"to bare wsgi {to_wsgi:.2f}; p50 {p50:.2f} ms, p99 {p99:.2f} ms (goal <= 15; "
            "medians of the rounds)"
        )
        print(
            f"  CPU per request: workers {per_request[t.name]:.0f} us "
            f"({per_request[t.name] / flask_cpu:.2f} of bare flask's), Redis "
            f"{1e6 * redis_cpu[t.name] / max(answered, 1):.0f} us; "
            f"{answered / max(redis_reads[t.name], 1):.2f} clicks per Redis read"
        )
        print(
            f"  clicks: generator saw {requests_of[t.name]} answers, service answered "
            f"{answered} redirects, Redis counted {counted}: "
            f"{'equal' if counted == answered else 'DIFFERENT'}"
        )
        failed = failed or counted != answered
    print("gunicorn workers' CPU per request (user + sys): " + ", ".join(
        f"{n} {v:.0f} us" for n, v in per_request.items()))  # fmt: skip
    print(f"load average after: {_load_average()}")
    errors = sum(r[name].errors + r[name].non_302 for r in rounds for name in r)
    if failed or errors:
        sys.exit(1)


# (method, path, JSON body, bearer token) -> the answer's JSON
Send = Callable[[str, str, dict[str, Any], str], dict[str, Any]]


def make_links(send: Send, count: int = 1) -> list[dict[str, Any]]:
    """A storefront, a product with an app deep link, a creator and ``count``
    links of hers to it, through the API (``over_http`` or ``in_process``)."""
    storefront = {"name": "S", "hosts": ["shop.test"], "app_schemes": ["shop"]}
    send("PUT", "/api/v1/storefronts/shop", storefront, ADMIN)
    send(
        "PUT",
        "/api/v1/products/p1",
        {"storefront_id": "shop", "title": "T", "price": 100, "commission_rate_bps": 1000,
         "web_url": "https://shop.test/p/1?ref=x", "app_url": "shop://shop.test/p/1"},
        ADMIN,
    )  # fmt: skip
    key = send("PUT", "/api/v1/creators/c1", {"name": "C"}, ADMIN)["api_key"]
    body = {"product_id": "p1", "channel": "weibo"}
    return [send("POST", "/api/v1/links", body, key) for _ in range(count)]


def over_http(base: str) -> Send:
    def send(method: str, path: str, body: dict[str, Any], token: str) -> dict[str, Any]:
        answer = requests.request(
            method, base + path, json=body, headers={"Authorization": f"Bearer {token}"}, timeout=5
        )
        answer.raise_for_status()
        made: dict[str, Any] = answer.json()
        return made

    return send


def in_process(app: Any) -> Send:
    client = app.test_client()

    def send(method: str, path: str, body: dict[str, Any], token: str) -> dict[str, Any]:
        answer = client.open(
            path, method=method, json=body, headers={"Authorization": f"Bearer {token}"}
        )
        if answer.status_code >= 400:
            raise AssertionError(f"{method} {path}: {answer.status_code} {answer.get_data()!r}")
        made: dict[str, Any] = answer.get_json()
        return made

    return send


def _clicks_counted(base: str, link_id: str) -> int:
    auth = {"Authorization": f"Bearer {ADMIN}"}
    link = requests.get(f"{base}/api/v1/links/{link_id}", headers=auth, timeout=5).json()
    return int(link["stats"]["clicks"])


def _workers_cpu_seconds(master: int) -> float:
    """CPU seconds (user + sys) of a gunicorn master's workers so far; 0 where
    there is no /proc to read them from."""
    total = 0
    try:
        names = os.listdir("/proc")
    except OSError:
        return 0.0
    for name in names:
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                fields = f.read().rpartition(")")[2].split()
        except OSError:
            continue  # gone meanwhile
        if int(fields[1]) == master:  # ppid; utime and stime follow at 11 and 12
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def _pin_redis(url: str, cpu: int) -> str:
    """Pin the Redis server (all its threads) to ``cpu`` and this process, so
    every target and the load generator it starts, to the other CPUs."""
    others = os.sched_getaffinity(0) - {cpu}
    if cpu not in os.sched_getaffinity(0) or not others:
        sys.exit(f"--redis-cpu {cpu}: needs that CPU and at least one other")
    pid = int(redis.Redis.from_url(url).info("server")["process_id"])
    for task in os.listdir(f"/proc/{pid}/task"):
        os.sched_setaffinity(int(task), {cpu})
    os.sched_setaffinity(0, others)
    return f"Redis pinned to CPU {cpu}; targets and load generator on CPUs {sorted(others)}"


def _reads(store: redis.Redis) -> int:
    """Read events Redis has handled: a batch of clicks is one."""
    return int(store.info("stats")["total_reads_processed"])


def _load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _attach_replica(master_url: str, replica_url: str) -> str:
    """Make the second server a replica of the first; wait until it is in sync."""
    master, replica = redis.Redis.from_url(master_url), redis.Redis.from_url(replica_url)
    port = urlsplit(master_url).port
    replica.execute_command("REPLICAOF", "127.0.0.1", str(port))
    wait_until(lambda: master.info("replication")["connected_slaves"] == 1, 30, "the replica")
    wait_until(lambda: replica.info("replication")["master_link_status"] == "up", 30, "sync")
    return f"Redis has a replica at {replica_url} (asynchronous, on the same host)"


def _cpu_seconds(store: redis.Redis) -> float:
    cpu = store.info("cpu")
    return float(cpu["used_cpu_user"]) + float(cpu["used_cpu_sys"])


def _metrics_dir() -> str:
    import tempfile

    return tempfile.mkdtemp(prefix="bench-metrics-")


if __name__ == "__main__":
    main()
