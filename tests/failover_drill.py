"""A failover drill on a real service over a 3-master + 3-replica cluster,
shared by ``tests/test_failover.py`` and ``bench/failover.py``.

One run: clicks (a browser's, on a dozen links spread over the slots) and
order callbacks (a storefront's, each retried on 503 or a dropped connection
as a storefront would, with the same ``webhook-id``) flow on keep-alive
connections; the master serving ``{money}`` is killed with SIGKILL; its
replica takes over; the dead node is started again (as a supervisor would)
and rejoins as a replica; the load goes on a few seconds, then stops. Afterwards,
once the spool is replayed, every click answered 302 is looked up by its id
and every order answered 200 by its key, straight in the cluster: what was
answered and is not there is lost."""

from __future__ import annotations

import http.client
import itertools
import json
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
from redis.cluster import ClusterNode, RedisCluster

from redirector import keys
from redirector.clicks import get_clicks
from redirector.storefront_client import StorefrontClient

from .servers import ClusterProcesses, wait_until

BROWSER = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36"
)
MONEY_KEY = keys.money_sequence()  # any key of the {money} slot names its master
MAX_REQUESTS = 50_000  # per thread and run: every loop is bounded


@dataclass
class World:
    base: str
    admin_token: str
    links: list[dict[str, Any]]
    secret: str


def make_world(base: str, admin_token: str, links: int = 12) -> World:
    """A storefront, a product, a creator and ``links`` links of hers, through the API."""
    auth = {"Authorization": f"Bearer {admin_token}"}

    def call(method: str, path: str, body: dict[str, Any], token: str | None = None) -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else auth
        answer = requests.request(method, base + path, json=body, headers=headers, timeout=10)
        answer.raise_for_status()
        return answer.json()

    shop = call("PUT", "/api/v1/storefronts/shop", {"name": "Shop", "hosts": ["shop.test"]})
    product = {"storefront_id": "shop", "title": "Thing", "price": 10000,
               "commission_rate_bps": 1000, "web_url": "https://shop.test/p/1"}  # fmt: skip
    call("PUT", "/api/v1/products/p1", product)
    key = call("PUT", "/api/v1/creators/c1", {"name": "C"})["api_key"]
    made = [
        call("POST", "/api/v1/links", {"product_id": "p1", "channel": "weibo"}, key)
        for _ in range(links)
    ]
    return World(base, admin_token, made, shop["signing_secret"])


@dataclass
class Run:
    """What one run saw: answers by kind, with their times (``time.monotonic``)."""

    clicks: dict[str, float] = field(default_factory=dict)  # click id -> when answered 302
    click_answers: Counter[str] = field(default_factory=Counter)  # "302", "503", "error"...
    click_times: list[float] = field(default_factory=list)  # every 302
    orders: dict[str, float] = field(default_factory=dict)  # order id -> when answered 200
    callback_answers: Counter[str] = field(default_factory=Counter)
    callback_times: list[float] = field(default_factory=list)  # every 200
    unanswered_orders: int = 0  # never 200 before the run ended (a storefront retries on)
    killed_at: float = 0.0
    promoted_after: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def longest_gap(self, times: list[float], start: float, end: float) -> float:
        """The longest time without a successful answer in [start, end]."""
        points = [start, *sorted(t for t in times if start <= t <= end), end]
        return max(b - a for a, b in itertools.pairwise(points))


def _connection(base: str) -> http.client.HTTPConnection:
    parts = urlsplit(base)
    return http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=10)


def _clicker(world: World, run: Run, stop: threading.Event, seed: int) -> None:
    rng = random.Random(seed)
    conn = _connection(world.base)
    for _ in range(MAX_REQUESTS):
        if stop.is_set():
            break
        link = rng.choice(world.links)
        try:
            conn.request("GET", urlsplit(link["url"]).path, headers={"User-Agent": BROWSER})
            response = conn.getresponse()
            response.read()
        except (OSError, http.client.HTTPException):
            conn.close()
            conn = _connection(world.base)
            with run.lock:
                run.click_answers["connection error"] += 1
            continue
        now = time.monotonic()
        with run.lock:
            run.click_answers[str(response.status)] += 1
            if response.status == 302:
                location = response.getheader("Location") or ""
                click_id = parse_qs(urlsplit(location).query)["rd_click"][0]
                run.clicks[click_id] = now
                run.click_times.append(now)
    conn.close()


def _storefront(world: World, run: Run, stop: threading.Event, name: str, grace: float) -> None:
    """Paid orders, one after the other; each sent again (same webhook-id) on a
    503 or a dropped connection, until 200 or ``grace`` seconds after ``stop``."""
    conn = _connection(world.base)

    def post(path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        conn.request("POST", path, body=body, headers=headers)
        response = conn.getresponse()
        return response.status, response.read()

    client = StorefrontClient("shop", world.secret, post)
    rng = random.Random(name)
    for n in range(MAX_REQUESTS):
        if stop.is_set():
            break
        order_id = f"{name}-{n}"
        with run.lock:
            answered = list(run.clicks)
        click = {"click_id": rng.choice(answered)} if answered else {}
        event = client.event(order_id, "paid", 10000, datetime.now(UTC), **click)
        msg_id = client.new_msg_id()
        give_up = None
        while True:
            if stop.is_set() and give_up is None:
                give_up = time.monotonic() + grace
            if give_up is not None and time.monotonic() > give_up:
                with run.lock:
                    run.unanswered_orders += 1
                break
            try:
                status, body = client.send(event, msg_id=msg_id)
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = _connection(world.base)
                status, body = 0, b""
            now = time.monotonic()
            with run.lock:
                run.callback_answers[str(status) if status else "connection error"] += 1
                if status == 200:
                    run.orders[order_id] = now
                    run.callback_times.append(now)
            if status == 200:
                break
            if status not in (0, 503):
                raise AssertionError(f"callback answered {status}: {body[:300]!r}")
            time.sleep(0.1)  # a storefront waits Retry-After; the drill keeps it short
    conn.close()


def cluster_client(cluster: ClusterProcesses) -> RedisCluster:
    nodes = [ClusterNode("127.0.0.1", port) for port in cluster.alive()]
    return RedisCluster(startup_nodes=nodes, decode_responses=True)


@dataclass
class Tally:
    clicks_answered: int
    clicks_present: int
    clicks_counted: int  # the links' click counters, over this run
    orders_answered: int
    orders_present: int
    answers_302: int
    redirect_503: int
    redirect_errors: int
    callback_503: int
    callback_errors: int
    unanswered_orders: int
    redirect_gap: float
    callback_gap: float
    promoted_after: float

    @property
    def clicks_lost(self) -> int:
        return self.clicks_answered - self.clicks_present

    @property
    def orders_lost(self) -> int:
        return self.orders_answered - self.orders_present


def link_clicks(world: World) -> int:
    auth = {"Authorization": f"Bearer {world.admin_token}"}
    total = 0
    for link in world.links:
        got = requests.get(f"{world.base}/api/v1/links/{link['id']}", headers=auth, timeout=10)
        got.raise_for_status()
        total += int(got.json()["stats"]["clicks"])
    return total


def spool_files(spool_root: Path) -> list[Path]:
    return sorted(p for p in spool_root.rglob("*") if p.is_file())


def drill(
    world: World,
    cluster: ClusterProcesses,
    spool_root: Path,
    *,
    before: float = 2.0,
    after: float = 3.0,
    clickers: int = 4,
    storefronts: int = 2,
    tag: str = "run",
) -> Tally:
    """One run: load, kill the ``{money}`` master, its replica promoted, load on
    for ``after`` seconds, stop; the spool replayed; then the tally."""
    counted_before = link_clicks(world)
    run, stop = Run(), threading.Event()
    threads = [
        threading.Thread(target=_clicker, args=(world, run, stop, hash((tag, n))))
        for n in range(clickers)
    ] + [
        threading.Thread(target=_storefront, args=(world, run, stop, f"{tag}-s{n}", 30.0))
        for n in range(storefronts)
    ]
    start = time.monotonic()
    for thread in threads:
        thread.start()
    try:
        time.sleep(before)
        victim = cluster.master_of(MONEY_KEY)
        run.killed_at = time.monotonic()
        cluster.kill(victim)
        cluster.wait_promoted(victim, MONEY_KEY)
        run.promoted_after = time.monotonic() - run.killed_at
        # A supervisor starts the dead node again; it rejoins as the new
        # master's replica, and money writes can be confirmed again.
        cluster.restart(victim)
        time.sleep(after)
    finally:
        end = time.monotonic()
        stop.set()
        for thread in threads:
            thread.join()
    cluster.wait_healthy()
    wait_until(lambda: not spool_files(spool_root), timeout=30, what="the spool replayed")
    store = cluster_client(cluster)
    try:
        ids = list(run.clicks)
        present = sum(
            1
            for i in range(0, len(ids), 500)
            for click in get_clicks(store, ids[i : i + 500])
            if click is not None
        )
        pipe = store.pipeline(transaction=False)
        for order_id in run.orders:
            pipe.hget(keys.order("shop", order_id), "status")
        orders_present = sum(1 for status in pipe.execute() if status == "paid")
    finally:
        store.close()
    return Tally(
        clicks_answered=len(run.clicks),
        clicks_present=present,
        clicks_counted=link_clicks(world) - counted_before,
        orders_answered=len(run.orders),
        orders_present=orders_present,
        answers_302=run.click_answers["302"],
        redirect_503=run.click_answers["503"],
        redirect_errors=sum(n for k, n in run.click_answers.items() if k not in ("302", "503")),
        callback_503=run.callback_answers["503"],
        callback_errors=sum(n for k, n in run.callback_answers.items() if k not in ("200", "503")),
        unanswered_orders=run.unanswered_orders,
        redirect_gap=run.longest_gap(run.click_times, start, end),
        callback_gap=run.longest_gap(run.callback_times, start, end),
        promoted_after=run.promoted_after,
    )


def describe(tally: Tally) -> str:
    return json.dumps(
        {
            "clicks answered 302": tally.clicks_answered,
            "present": tally.clicks_present,
            "counted": tally.clicks_counted,
            "lost": tally.clicks_lost,
            "redirect 503": tally.redirect_503,
            "callbacks 200": tally.orders_answered,
            "present ": tally.orders_present,
            "lost ": tally.orders_lost,
            "callback 503": tally.callback_503,
        }
    )
