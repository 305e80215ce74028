"""The redirect against a bare Flask 302 and a bare WSGI 302, in one run.

Starts its own ``redis-server`` on a free loopback port, then one after the
other, each under the same gunicorn settings as ``redirector serve`` uses in
production (``cli.gunicorn_options``): the service on that Redis, a bare Flask
app answering 302, and a bare WSGI callable answering 302. Each is loaded for
the same bounded time by the same generator (wrk when installed, else a
bundled Python client) with a phone's in-app user agent, and the script prints
requests/s, p50, p99 and errors, the ratios service / Flask and service / WSGI,
and checks that the clicks Redis counted equal the 302s the service answered.

    .venv/bin/python -m bench.redirect [--seconds 10] [--connections 32]

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
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

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
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--client", choices=("auto", "wrk", "python"), default="auto")
    args = parser.parse_args()
    use_wrk = args.client == "wrk" or (args.client == "auto" and shutil.which("wrk"))
    load = wrk if use_wrk else python_client
    print(f"load generator: {'wrk' if use_wrk else 'python client'}, {args.connections} "
          f"connections, {args.seconds} s each; {os.cpu_count()} cores")  # fmt: skip

    results: dict[str, Load] = {}
    with redis_server() as redis_url:
        env = {
            "REDIS_URL": redis_url,
            "REDIRECTOR_ADMIN_TOKEN": ADMIN,
            "REDIRECTOR_SECRET_KEYS": KEYS,
        }
        settings = Settings.from_env(env)

        port = free_port()
        base = f"http://127.0.0.1:{port}"
        service = start(
            [sys.executable, "-m", "gunicorn", *gunicorn_args(settings, port),
             "redirector.wsgi:app"],
            {**env, "PROMETHEUS_MULTIPROC_DIR": _metrics_dir()},
            f"{base}/healthz",
        )  # fmt: skip
        try:
            auth = {"Authorization": f"Bearer {ADMIN}"}
            requests.put(
                f"{base}/api/v1/storefronts/shop",
                json={"name": "S", "hosts": ["shop.test"]},
                headers=auth,
                timeout=5,
            )
            requests.put(
                f"{base}/api/v1/products/p1",
                json={"storefront_id": "shop", "title": "T", "price": 100,
                      "commission_rate_bps": 1000, "web_url": "https://shop.test/p/1?ref=x",
                      "app_url": "shop://shop.test/p/1"},
                headers=auth, timeout=5,
            )  # fmt: skip
            key = requests.put(
                f"{base}/api/v1/creators/c1", json={"name": "C"}, headers=auth, timeout=5
            ).json()["api_key"]
            link = requests.post(
                f"{base}/api/v1/links", json={"product_id": "p1", "channel": "weibo"},
                headers={"Authorization": f"Bearer {key}"}, timeout=5,
            ).json()  # fmt: skip
            url = f"{base}/r/{link['token']}"
            load(url, 2, args.connections)  # warm-up: workers, caches, connections
            time.sleep(0.5)  # let the warm-up's last requests finish before counting
            before_redis = requests.get(
                f"{base}/api/v1/links/{link['id']}", headers=auth, timeout=5
            ).json()["stats"]["clicks"]
            before_answered = human_clicks_answered(base)
            results["service"] = load(url, args.seconds, args.connections)
            time.sleep(0.5)
            counted = (
                requests.get(f"{base}/api/v1/links/{link['id']}", headers=auth, timeout=5).json()[
                    "stats"
                ]["clicks"]
                - before_redis
            )
            answered = human_clicks_answered(base) - before_answered
        finally:
            stop(service)

        for name, target in (("bare flask", "bench.baselines:flask_app"),
                             ("bare wsgi", "bench.baselines:wsgi_app")):  # fmt: skip
            port = free_port()
            proc = start(
                [sys.executable, "-m", "gunicorn", *gunicorn_args(settings, port), target],
                {},
                f"http://127.0.0.1:{port}/r/x",
            )
            try:
                url = f"http://127.0.0.1:{port}/r/x"
                load(url, 2, args.connections)
                results[name] = load(url, args.seconds, args.connections)
            finally:
                stop(proc)

    print(f"{'':12} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7} {'non-302':>8}")
    for name, r in results.items():
        print(
            f"{name:12} {r.rate:9.0f} {r.p50_ms:8.2f} {r.p99_ms:8.2f} {r.errors:7d} {r.non_302:8d}"
        )
    s, f, w = results["service"], results["bare flask"], results["bare wsgi"]
    print(f"ratio service / bare flask: {s.rate / f.rate:.2f} (goal >= 1.0)")
    print(f"ratio service / bare wsgi:  {s.rate / w.rate:.2f}")
    print(f"p99 service: {s.p99_ms:.2f} ms (goal <= 15)")
    print(
        f"clicks: generator saw {s.requests} answers, service answered {answered} redirects, "
        f"Redis counted {counted}: {'equal' if counted == answered else 'DIFFERENT'}"
    )
    if counted != answered or s.errors or s.non_302:
        sys.exit(1)


def _metrics_dir() -> str:
    import tempfile

    return tempfile.mkdtemp(prefix="bench-metrics-")


if __name__ == "__main__":
    main()
