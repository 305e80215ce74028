"""Postbacks: events delivered per second, and what endpoints cost an order callback.

Starts its own ``redis-server`` on a free loopback port and ``redirector serve``
on it (gunicorn, 2 workers, each delivering postbacks as in production; a
private spool directory), with receivers on loopback in a process of their own
(so that they take no CPU time from the process that times the callbacks),
verifying each message and answering 200.

1. **Throughput**: ``--events`` events recorded straight into the outbox (as
   one transaction would, ``postbacks.queue``) for one admin endpoint, then for
   three; the time until the receivers accepted every delivery gives events
   delivered per second. One endpoint's deliveries go one at a time (they keep
   their order); three endpoints go in parallel.
2. **Callback latency**: signed ``paid`` callbacks for orders attributed to a
   click, sent one after the other, in rounds that alternate no endpoint and
   three endpoints subscribed to ``order.attributed`` (whose deliveries then
   run in the same processes while the callbacks are timed). It prints p50
   and p99 per round, and the ratio of the medians, three / none.

    .venv/bin/python -m bench.postbacks [--events 1000] [--callbacks 200] [--rounds 2]

Goal (issue 15): a callback with three endpoints subscribed takes at most
1.2x as long as with none.
"""

from __future__ import annotations

import argparse
import http.client
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import redis
import requests

from redirector import postbacks
from redirector.simulate.receiver import Receiver
from redirector.storefront_client import StorefrontClient
from tests.servers import redis_server, service

ADMIN = "bench-admin-token-0a1b2c3d4e5f"
KEYS = "bench-signing-key-0123456789abcdef"
CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36"
)


def call(base: str, method: str, path: str, body: Any = None, token: str = ADMIN) -> Any:
    answer = requests.request(
        method, base + path, json=body, headers={"Authorization": f"Bearer {token}"}, timeout=10
    )
    answer.raise_for_status()
    return answer.json()


class Receivers:
    """Receivers on loopback, in a child process (``serve_receivers``): their
    URLs, the secrets they verify with, and how many messages each accepted."""

    def __init__(self, count: int) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bench.postbacks", "--receivers", str(count)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None and self.proc.stdin is not None
        self.stdout, self.stdin = self.proc.stdout, self.proc.stdin
        self.urls = [self.stdout.readline().strip() for _ in range(count)]

    def _say(self, line: str) -> None:
        self.stdin.write(line + "\n")
        self.stdin.flush()

    def register(self, base: str, index: int, events: list[str]) -> str:
        body = {"url": self.urls[index], "events": events}
        hook = call(base, "POST", "/api/v1/webhooks", body)
        self._say(f"secret {index} {hook['secret']}")
        return str(hook["id"])

    def counts(self) -> list[int]:
        self._say("count")
        return [int(n) for n in self.stdout.readline().split()]

    def wait_for(self, each: int, timeout: float) -> list[int]:
        deadline = time.monotonic() + timeout
        counts = self.counts()
        while min(counts) < each and time.monotonic() < deadline:
            time.sleep(0.05)
            counts = self.counts()
        return counts

    def close(self) -> None:
        self.stdin.close()
        self.proc.wait(10)


def serve_receivers(count: int) -> None:
    """The child: ``count`` receivers; their URLs out, then commands in."""
    receivers = [Receiver().start() for _ in range(count)]
    for receiver in receivers:
        print(receiver.url, flush=True)
    for line in sys.stdin:
        words = line.split()
        if words[:1] == ["secret"]:
            receivers[int(words[1])].secrets.append(words[2])
        elif words[:1] == ["count"]:
            print(" ".join(str(len(r.accepted())) for r in receivers), flush=True)
    for receiver in receivers:
        receiver.stop()


def throughput(base: str, redis_url: str, events: int, endpoints: int) -> float:
    """Events recorded at once for ``endpoints`` endpoints: deliveries per second."""
    receivers = Receivers(endpoints)
    ids = [receivers.register(base, i, ["order.attributed"]) for i in range(endpoints)]
    store = redis.Redis.from_url(redis_url, decode_responses=True)
    tz = ZoneInfo("Asia/Shanghai")
    now_ms = int(time.time() * 1000)
    batch = [
        postbacks.Event.of("order.attributed", now_ms, {"order_id": f"B{i}"}, tz, creator_id="c")
        for i in range(events)
    ]
    started = time.perf_counter()
    for chunk in range(0, events, 200):
        with store.pipeline(transaction=True) as pipe:
            pipe.multi()
            postbacks.queue(pipe, batch[chunk : chunk + 200])
            pipe.execute()
    delivered = sum(receivers.wait_for(events, timeout=300))
    elapsed = time.perf_counter() - started
    for hook_id in ids:
        call(base, "DELETE", f"/api/v1/webhooks/{hook_id}")
    receivers.close()
    if delivered != events * endpoints:
        print(f"  only {delivered} of {events * endpoints} deliveries arrived")
    return delivered / elapsed


class Shop:
    """A storefront, a product and a creator's link; clicks made ahead of the callbacks."""

    def __init__(self, base: str) -> None:
        self.base = base
        shop = call(base, "PUT", "/api/v1/storefronts/shop", {"name": "S", "hosts": ["shop.test"]})
        product = {
            "storefront_id": "shop",
            "title": "Thing",
            "price": 1000,
            "commission_rate_bps": 1000,
            "web_url": "https://shop.test/p/1",
        }
        call(base, "PUT", "/api/v1/products/p1", product)
        key = call(base, "PUT", "/api/v1/creators/c1", {"name": "C"})["api_key"]
        link = call(base, "POST", "/api/v1/links", {"product_id": "p1", "channel": "weibo"}, key)
        self.path = urlsplit(link["url"]).path
        self.client = StorefrontClient.over_http(base, "shop", shop["signing_secret"])
        self.sent = 0

    def clicks(self, count: int) -> list[str]:
        parts = urlsplit(self.base)
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
        out = []
        for _ in range(count):
            conn.request("GET", self.path, headers={"User-Agent": CHROME})
            answer = conn.getresponse()
            answer.read()
            out.append(parse_qs(urlsplit(answer.getheader("Location", "")).query)["rd_click"][0])
        conn.close()
        return out

    def callbacks(self, clicks: list[str]) -> list[float]:
        """One paid callback per click, one after the other: their latencies (ms)."""
        timings = []
        for click in clicks:
            self.sent += 1
            event = self.client.event(
                f"O{self.sent}", "paid", 1000, datetime.now(UTC), click_id=click
            )
            started = time.perf_counter()
            answer = self.client.send(event)
            timings.append((time.perf_counter() - started) * 1000)
            assert answer.status_code == 200, answer.text
        return timings


def p99(values: list[float]) -> float:
    return sorted(values)[max(0, round(len(values) * 0.99) - 1)]


def latency(base: str, callbacks: int, rounds: int) -> float:
    """Rounds of callbacks, alternating no endpoint and three; answers the ratio."""
    shop = Shop(base)
    timings: dict[str, list[float]] = {"none": [], "three": []}
    receivers = Receivers(3)
    for n in range(rounds):
        for condition in ("none", "three"):
            clicks = shop.clicks(callbacks)
            ids = []
            if condition == "three":
                ids = [receivers.register(base, i, ["order.attributed"]) for i in range(3)]
            measured = shop.callbacks(clicks)
            timings[condition] += measured
            p50, tail = statistics.median(measured), p99(measured)
            print(f"  round {n + 1}, {condition:>5}: p50 {p50:6.2f} ms  p99 {tail:6.2f} ms")
            if ids:  # untimed: let the round's deliveries land, then remove the endpoints
                receivers.wait_for(callbacks * (n + 1), timeout=120)
            for hook_id in ids:
                call(base, "DELETE", f"/api/v1/webhooks/{hook_id}")
    delivered = sum(receivers.counts())
    receivers.close()
    print(f"  {delivered} of {3 * callbacks * rounds} deliveries accepted")
    none, three = (statistics.median(timings[c]) for c in ("none", "three"))
    print(f"  median: none {none:.2f} ms, three {three:.2f} ms")
    return three / none


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1000, help="events per throughput run")
    parser.add_argument("--callbacks", type=int, default=200, help="callbacks per round")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--receivers", type=int, help=argparse.SUPPRESS)  # the child's role
    args = parser.parse_args()
    if args.receivers:
        serve_receivers(args.receivers)
        return
    with redis_server() as redis_url:
        env = {
            "REDIS_URL": redis_url,
            "REDIRECTOR_ADMIN_TOKEN": ADMIN,
            "REDIRECTOR_SECRET_KEYS": KEYS,
            "REDIRECTOR_SPOOL_DIR": tempfile.mkdtemp(prefix="redirector-bench-spool-"),
            "REDIRECTOR_WEBHOOK_ALLOW_PRIVATE": "1",
            "REDIRECTOR_LINK_CREATION_LIMIT": "1000/minute",
        }
        with service(env, workers=2) as base:
            print("throughput (events recorded at once, delivered to loopback receivers):")
            for endpoints in (1, 3):
                rate = throughput(base, redis_url, args.events, endpoints)
                print(f"  {endpoints} endpoint(s): {rate:7.0f} deliveries/s")
            print(f"order callback latency, {args.callbacks} callbacks a round:")
            ratio = latency(base, args.callbacks, args.rounds)
    verdict = "meets" if ratio <= 1.2 else "misses"
    print(f"ratio three endpoints / none: {ratio:.2f}x ({verdict} the 1.2x goal)")


if __name__ == "__main__":
    main()
