"""The orders list at volume: page latency by query, a deep cursor, the CSV export.

Loads 100,000 orders (and their status changes) through the order write path's
own script in bulk: each order's ``APPLY`` call is built as the service builds
it (``writes.apply_call``: the order, its lists, its link's money by day, the
settlement aggregates), and a few hundred are sent per round trip
(``store.run_scripts``), skipping only the read before each write (attribution
is decided here: 90% of the orders are credited to one of 200 creators' links).
Then times ``GET /api/v1/orders`` through the app (Flask's test client, no
HTTP server): the first page without a filter, with each filter, combined
filters, and a page 90,000 orders deep; and the whole CSV export, its time and
the Python memory it peaks at (tracemalloc, a run of its own).

    .venv/bin/python -m bench.orders_list                      # a private redis-server
    .venv/bin/python -m bench.orders_list --store fakeredis    # then the embedded store
    .venv/bin/python -m bench.orders_list --redis-url redis://127.0.0.1:6379/5
        # an existing, empty database: refused if it holds any key; its rd:* keys are
        # deleted at the end (never FLUSHALL)

With ``--store fakeredis`` the orders are loaded into Redis as above, then
copied into fakeredis by pipelines (its Lua runs a few hundred scripts a
second), and the queries run on fakeredis.

Stops by itself; bounded by --orders and --rounds.
"""

from __future__ import annotations

import argparse
import contextlib
import random
import statistics
import time
import tracemalloc
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import fakeredis
import redis

from bench.redirect import private_spool
from redirector import create_app, keys
from redirector.clock import MockClock, ms_from_datetime
from redirector.config import Settings
from redirector.extension import context_of
from redirector.orders import Credit, Order, OrderEvent, event_response, plan
from redirector.orders.listing import Position, Query
from redirector.orders.writes import Step, apply_call
from redirector.store import run_scripts
from tests.servers import redis_server

ADMIN = "bench-admin-token-0123456789"
START = datetime(2026, 9, 1, tzinfo=UTC)  # paid over three months: September to November
SPAN_SECONDS = 91 * 86400
CREATORS = 200
STOREFRONTS = 3
BATCH = 250  # APPLY calls per round trip
# What happens to an order after paid: (status, share)
FATES = (("paid", 0.3), ("confirmed", 0.5), ("refunded", 0.1), ("cancelled", 0.1))


@contextlib.contextmanager
def redis_store(args: argparse.Namespace) -> Iterator[tuple[Any, str]]:
    """The Redis the orders are loaded into, and its URL: a private redis-server,
    or an empty database named by URL, left without the benchmark's keys."""
    if args.redis_url is None:
        with redis_server() as url:
            yield redis.Redis.from_url(url, decode_responses=True), url
        return
    store = redis.Redis.from_url(args.redis_url, decode_responses=True)
    if store.dbsize():
        raise SystemExit(f"{args.redis_url} holds keys: name an empty database")
    try:
        yield store, args.redis_url
    finally:
        removed = 0
        for batch in _batches(store.scan_iter(match=f"{keys.PREFIX}:*", count=1000), 1000):
            removed += store.delete(*batch)
        print(f"cleaned up: {removed} keys deleted from {args.redis_url}")


def copied(source: Any) -> Any:
    """A fakeredis holding every key of ``source``, written by pipelines: the
    embedded store runs each Lua script in a fresh interpreter (a few hundred
    orders a second), so it is filled from a Redis loaded through ``APPLY``."""
    target = fakeredis.FakeRedis(server=fakeredis.FakeServer(), decode_responses=True)
    readers: dict[str, Callable[[Any, str], Any]] = {
        "string": lambda p, k: p.get(k),
        "hash": lambda p, k: p.hgetall(k),
        "zset": lambda p, k: p.zrange(k, 0, -1, withscores=True),
        "set": lambda p, k: p.smembers(k),
        "list": lambda p, k: p.lrange(k, 0, -1),
    }
    writers: dict[str, Callable[[Any, str, Any], Any]] = {
        "string": lambda p, k, v: p.set(k, v),
        "hash": lambda p, k, v: p.hset(k, mapping=v),
        "zset": lambda p, k, v: p.zadd(k, dict(v)),
        "set": lambda p, k, v: p.sadd(k, *v),
        "list": lambda p, k, v: p.rpush(k, *v),
    }
    for batch in _batches(source.scan_iter(count=1000), 1000):
        pipe = source.pipeline(transaction=False)
        for key in batch:
            pipe.type(key)
        kinds = pipe.execute()
        for key, kind in zip(batch, kinds, strict=True):
            readers[kind](pipe, key)
        values = pipe.execute()
        pipe = target.pipeline(transaction=False)
        for key, kind, value in zip(batch, kinds, values, strict=True):
            writers[kind](pipe, key, value)
        pipe.execute()
    return target


def _batches(items: Iterator[str], size: int) -> Iterator[list[str]]:
    batch: list[str] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def make_app(store: Any, url: str | None) -> Any:
    env = {
        "REDIRECTOR_ADMIN_TOKEN": ADMIN,
        "REDIRECTOR_SECRET_KEYS": "bench-signing-key-0123456789abcdef",
        "REDIRECTOR_CLOCK": "mock",
        "REDIRECTOR_SPOOL_DIR": private_spool(),
    }
    if url:
        env["REDIS_URL"] = url
    return create_app(Settings.from_env(env), store=store)


def make_registry(app: Any) -> None:
    client = app.test_client()
    MockClock(context_of(app).store).set(START)
    for s in range(STOREFRONTS):
        put(client, f"/api/v1/storefronts/s{s}", {"name": f"Shop {s}", "hosts": [f"s{s}.test"]})
        product = {
            "storefront_id": f"s{s}",
            "title": "Thing",
            "price": 9900,
            "commission_rate_bps": 1234,
            "web_url": f"https://s{s}.test/p",
        }
        put(client, f"/api/v1/products/p{s}", product)


def put(client: Any, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = client.put(path, json=body, headers={"Authorization": f"Bearer {ADMIN}"})
    assert response.status_code in (200, 201), response.get_json()
    return response.get_json()


def load(app: Any, count: int, seed: int) -> float:
    """``count`` orders, each paid and then moved to its fate, through ``APPLY`` in bulk."""
    ctx = context_of(app)
    settings = ctx.settings
    rng = random.Random(seed)
    started = time.perf_counter()
    calls: list[Any] = []
    for n in range(count):
        storefront = f"s{n % STOREFRONTS}"
        creator = rng.randrange(CREATORS)
        credit = None
        if rng.random() < 0.9:
            credit = Credit(
                click_id=f"c{creator:09d}.20000.0.bench{n:03d}",
                link_id=f"L{storefront}c{creator:06d}",
                creator_id=f"c{creator}",
                product_id=f"p{n % STOREFRONTS}",
                channel="weibo",
                account=f"creator:c{creator}",
                rate_bps=1234,
                how="click_id",
            )
        paid_ms = ms_from_datetime(START) + rng.randrange(SPAN_SECONDS) * 1000
        amount = rng.randrange(100, 500_000)
        fate = rng.choices([f for f, _ in FATES], [w for _, w in FATES])[0]
        calls += _order_calls(settings, storefront, f"o{n}", credit, paid_ms, amount, fate)
        if len(calls) >= BATCH:
            _send(ctx.store, calls)
            calls = []
    _send(ctx.store, calls)
    return time.perf_counter() - started


def _order_calls(
    settings: Any,
    storefront: str,
    order_id: str,
    credit: Credit | None,
    paid_ms: int,
    amount: int,
    fate: str,
) -> list[Any]:
    """The APPLY calls of one order's life, each built on the order as the one before left it."""
    moves = {"paid": [], "confirmed": ["confirmed"], "refunded": ["confirmed", "refunded"]}
    statuses = ["paid", *moves.get(fate, [fate])]
    order: Order | None = None
    fields: dict[str, str] = {}
    out = []
    for i, status in enumerate(statuses):
        event = OrderEvent(
            webhook_id=f"{order_id}-{status}",
            order_id=order_id,
            status=status,
            amount=amount,
            currency="CNY",
            occurred_ms=paid_ms + i * 3_600_000,
            received_ms=paid_ms + i * 3_600_000,
            refunded_amount=amount // 2 if status == "refunded" else None,
        )
        decided = plan(
            order,
            event,
            credit=credit,
            programs=settings.programs,
            tz=settings.timezone,
            closed=(),
        )
        step = Step(event, decided, credit, event_response(order_id, status, credit, 0))
        record = keys.delivery(storefront, event.webhook_id)
        out.append(apply_call(storefront, order, record, step, settings.timezone))
        fields.update({k: str(v) for k, v in decided.fields.items()})
        order = Order.from_hash(
            storefront, order_id, {**fields, "version": str(i + 1), "listed": "1"}
        )
    return out


def _send(store: Any, calls: list[Any]) -> None:
    if calls:
        answers = run_scripts(store, calls)
        assert all(a[0] == "ok" for a in answers), answers[:3]


def timed(call: Callable[[], Any], rounds: int) -> tuple[float, float, Any]:
    """p50 and p99 in ms over ``rounds`` calls, and the last answer."""
    times = []
    answer = None
    for _ in range(rounds):
        started = time.perf_counter()
        answer = call()
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    p99 = times[min(len(times) - 1, round(0.99 * (len(times) - 1)))]
    return statistics.median(times), p99, answer


def queries(client: Any, auth: dict[str, str], store: Any) -> list[tuple[str, Callable[[], Any]]]:
    def get(query: str) -> Callable[[], Any]:
        def call() -> Any:
            response = client.get(f"/api/v1/orders?{query}", headers=auth)
            assert response.status_code == 200, response.get_json()
            return response.get_json()

        return call

    combined = [
        ("creator c7 + status confirmed", "creator_id=c7&status=confirmed"),
        ("storefront s2 + refunded + 2026-11", "storefront_id=s2&status=refunded&period=2026-11"),
        (
            "creator c7 + storefront s0 + cancelled",
            "creator_id=c7&storefront_id=s0&status=cancelled",
        ),
    ]
    out = [
        ("no filter, limit 100", get("limit=100")),
        ("status=cancelled (10%)", get("status=cancelled")),
        ("status=confirmed (50%)", get("status=confirmed")),
        ("creator_id=c7 (0.5%)", get("creator_id=c7")),
        ("storefront_id=s1 (33%)", get("storefront_id=s1")),
        ("period=2026-10 (34%)", get("period=2026-10")),
        *((name, get(query)) for name, query in combined),
    ]
    depth = store.zcard(keys.orders_by_paid()) * 9 // 10
    ref, score = store.zrevrange(keys.orders_by_paid(), depth, depth, withscores=True)[0]
    cursor = Position(int(score), ref).cursor(Query())
    out.append((f"a page {depth:,} deep (cursor)", get(f"limit=100&cursor={cursor}")))
    return out


def export(client: Any, auth: dict[str, str]) -> tuple[int, int]:
    """Read the whole CSV export as a client would, chunk by chunk; rows and bytes."""
    response = client.get("/api/v1/orders?format=csv", headers=auth, buffered=False)
    assert response.status_code == 200
    rows = size = 0
    for chunk in response.response:
        data = chunk if isinstance(chunk, bytes) else chunk.encode()
        size += len(data)
        rows += data.count(b"\r\n")
    response.close()
    return rows - 1, size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=100, help="requests per query")
    parser.add_argument("--store", choices=("redis", "fakeredis"), default="redis")
    parser.add_argument("--redis-url", help="an empty Redis database to load (and use)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    with redis_store(args) as (store, url):
        app = make_app(store, url)
        make_registry(app)
        seconds = load(app, args.orders, args.seed)
        total = store.zcard(keys.orders_by_paid())
        print(
            f"{total:,} orders loaded into {url} in {seconds:.1f} s "
            f"({total / seconds:,.0f} orders/s, through APPLY in batches of {BATCH})"
        )
        lists = [
            keys.orders_by_paid(),
            *(keys.status_orders(s) for s, _ in FATES),
            *(keys.storefront_orders(f"s{s}") for s in range(STOREFRONTS)),
            *(keys.creator_orders(f"c{c}") for c in range(CREATORS)),
        ]
        index_bytes = sum(store.memory_usage(k) or 0 for k in lists)
        print(f"the lists' sorted sets: {index_bytes / total:.0f} bytes of Redis per order")
        if args.store == "fakeredis":
            started = time.perf_counter()
            store, url = copied(store), None
            app = make_app(store, None)
            print(f"copied into fakeredis in {time.perf_counter() - started:.1f} s")
        measure(app, args.rounds)


def measure(app: Any, rounds: int) -> None:
    store = context_of(app).store
    MockClock(store).set(START + timedelta(days=95))
    client = app.test_client()
    auth = {"Authorization": f"Bearer {ADMIN}"}
    kind = "fakeredis" if isinstance(store, fakeredis.FakeRedis) else "Redis"
    print(f"{'query, on ' + kind:<42} {'p50 ms':>8} {'p99 ms':>8} {'items':>6} next")
    for name, call in queries(client, auth, store):
        p50, p99, answer = timed(call, rounds)
        more = "yes" if answer["next_cursor"] else "no"
        print(f"{name:<42} {p50:8.2f} {p99:8.2f} {len(answer['items']):6d} {more}")
    started = time.perf_counter()
    rows, size = export(client, auth)
    took = time.perf_counter() - started
    print(f"CSV export: {rows:,} rows, {size / 1e6:.1f} MB in {took:.1f} s ({rows / took:,.0f}/s)")
    tracemalloc.start()
    export(client, auth)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"CSV export: Python memory peak {peak / 1e6:.1f} MB (tracemalloc, a second run)")


if __name__ == "__main__":
    main()
