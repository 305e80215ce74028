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
                                       [--redis-cpu N]

``--redis-cpu N`` pins Redis to CPU N and the targets and wrk to the other
CPUs: Redis as on its own host, so that the ratio compares the app's side
alone (on two cores, each target then has one core).

Goals (issue 7): service >= 1.0x bare Flask throughput, p99 <= 15 ms, one
Redis round trip per click, zero errors.
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


def gunicorn_args(settings: Settings, port: int) -> list[str]:
    """The production gunicorn settings, as command-line flags."""
    options = gunicorn_options(settings, "127.0.0.1", port)
    return [
        "--bind", options["bind"],
        "--workers", str(options["workers"]),
        "--worker-class", options["worker_class"],
        "--threads", str(options["threads"]),
        "--keep-alive", str(options["keepalive"]),
        "--log-level", "warning",
    ]  # fmt: skip


def start(args: list[str], env: dict[str, str], url: str) -> subprocess.Popen:
    proc = subprocess.Popen(
        args, env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    wait_until(
        lambda: requests.get(url, timeout=1, allow_redirects=False).status_code < 500,
        30,
        " ".join(args[:3]),
    )
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=8, help="per target and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--client", choices=("auto", "wrk", "python"), default="auto")
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
          f"{os.cpu_count()} cores")  # fmt: skip

    rounds: list[dict[str, Load]] = []
    with redis_server() as redis_url, ExitStack() as running:
        if args.redis_cpu is not None:
            print(_pin_redis(redis_url, args.redis_cpu))
        env = {
            "REDIS_URL": redis_url,
            "REDIRECTOR_ADMIN_TOKEN": ADMIN,
            "REDIRECTOR_SECRET_KEYS": KEYS,
            "REDIRECTOR_SPOOL_DIR": private_spool(),
        }
        settings = Settings.from_env(env)
        urls = {}
        masters: dict[str, int] = {}
        for name, target, extra_env in (
            ("service", "redirector.wsgi:app",
             {**env, "PROMETHEUS_MULTIPROC_DIR": _metrics_dir()}),
            ("bare flask", "bench.baselines:flask_app", {}),
            ("bare wsgi", "bench.baselines:wsgi_app", {}),
        ):  # fmt: skip
            port = free_port()
            probe = "/healthz" if name == "service" else "/r/x"
            proc = start(
                [sys.executable, "-m", "gunicorn", *gunicorn_args(settings, port), target],
                extra_env,
                f"http://127.0.0.1:{port}{probe}",
            )
            running.callback(stop, proc)
            urls[name] = f"http://127.0.0.1:{port}"
            masters[name] = proc.pid
        base = urls["service"]
        (link,) = make_links(over_http(base))
        urls["service"] = f"{base}/r/{link['token']}"
        urls["bare flask"] += "/r/x"
        urls["bare wsgi"] += "/r/x"
        for url in urls.values():
            load(url, 2, args.connections)  # warm-up: workers, caches, connections
        time.sleep(0.5)  # let the warm-up's last requests finish before counting

        store = redis.Redis.from_url(redis_url)
        before_counted = _clicks_counted(base, link["id"])
        before_answered = human_clicks_answered(base)
        redis_cpu = 0.0
        worker_cpu: dict[str, float] = dict.fromkeys(urls, 0.0)
        names = list(urls)
        for n in range(args.rounds):
            # Each round in another order, so that no target always runs first.
            order = names[n % 3 :] + names[: n % 3]
            results: dict[str, Load] = {}
            for name in order:
                cpu_before = _cpu_seconds(store)
                workers_before = _workers_cpu_seconds(masters[name])
                results[name] = load(urls[name], args.seconds, args.connections)
                worker_cpu[name] += _workers_cpu_seconds(masters[name]) - workers_before
                if name == "service":
                    redis_cpu += _cpu_seconds(store) - cpu_before
            rounds.append(results)
        time.sleep(0.5)
        counted = _clicks_counted(base, link["id"]) - before_counted
        answered = human_clicks_answered(base) - before_answered

    print(f"{'round':6} {'':12} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7} "
          f"{'non-302':>8}")  # fmt: skip
    for n, results in enumerate(rounds, 1):
        for name in ("service", "bare flask", "bare wsgi"):
            r = results[name]
            print(f"{n:<6} {name:12} {r.rate:9.0f} {r.p50_ms:8.2f} {r.p99_ms:8.2f} "
                  f"{r.errors:7d} {r.non_302:8d}")  # fmt: skip
    to_flask = statistics.median(r["service"].rate / r["bare flask"].rate for r in rounds)
    to_wsgi = statistics.median(r["service"].rate / r["bare wsgi"].rate for r in rounds)
    p99 = statistics.median(r["service"].p99_ms for r in rounds)
    service_requests = sum(r["service"].requests for r in rounds)
    print(f"ratio service / bare flask: {to_flask:.2f} (median of the rounds; goal >= 1.0)")
    print(f"ratio service / bare wsgi:  {to_wsgi:.2f}")
    print(f"p99 service: {p99:.2f} ms (median of the rounds; goal <= 15)")
    print(f"Redis CPU per click: {1e6 * redis_cpu / max(answered, 1):.0f} us "
          "(used_cpu_user + used_cpu_sys over the service's loads)")  # fmt: skip
    if all(worker_cpu.values()):
        # What an app host spends per request when Redis has its own host.
        per = {n: 1e6 * worker_cpu[n] / sum(r[n].requests for r in rounds) for n in worker_cpu}
        print("gunicorn workers' CPU per request (user + sys): " + ", ".join(
            f"{n} {v:.0f} us" for n, v in per.items()
        ) + f"; service / bare flask {per['service'] / per['bare flask']:.2f}")  # fmt: skip
    print(
        f"clicks: generator saw {service_requests} answers, service answered {answered} "
        f"redirects, Redis counted {counted}: {'equal' if counted == answered else 'DIFFERENT'}"
    )
    errors = sum(r[name].errors + r[name].non_302 for r in rounds for name in r)
    if counted != answered or errors:
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


def _cpu_seconds(store: redis.Redis) -> float:
    cpu = store.info("cpu")
    return float(cpu["used_cpu_user"]) + float(cpu["used_cpu_sys"])


def _metrics_dir() -> str:
    import tempfile

    return tempfile.mkdtemp(prefix="bench-metrics-")


if __name__ == "__main__":
    main()
