"""Statement cost against order volume.

Fills a private Redis (a ``redis-server`` it starts on a free loopback port)
with a month of 1,000 and then of 100,000 attributed, confirmed orders, each
applied through the real order path (``orders.receive``: attribution, the
apply script, the aggregates), and times fetching the month's statement
through the HTTP API. Goal: the 100,000-order statement costs under 2x the
1,000-order one, since a statement reads per line, not per order.

    .venv/bin/python -m bench.settlement            # 1,000 and 100,000 orders
    .venv/bin/python -m bench.settlement --small 500 --large 20000
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import redis

from bench.redirect import private_spool
from redirector import clicks, create_app
from redirector.clock import MockClock, ms_from_datetime
from redirector.config import Settings
from redirector.extension import context
from redirector.orders import OrderEvent, receive
from tests.servers import redis_server

ADMIN = "bench-admin-token-0123456789"
CHANNELS = ("douyin", "kuaishou", "weibo")
CREATORS = 40
AGENCIES = 4
MONTH_START = datetime(2026, 11, 1, tzinfo=UTC)


def build(url: str) -> tuple:
    store = redis.Redis.from_url(url, decode_responses=True)
    store.flushdb()
    settings = Settings.from_env(
        {
            "REDIS_URL": url,
            "REDIRECTOR_ADMIN_TOKEN": ADMIN,
            "REDIRECTOR_SECRET_KEYS": "bench-signing-key-0123456789abcdef",
            "REDIRECTOR_CLOCK": "mock",
            "REDIRECTOR_SPOOL_DIR": private_spool(),
            # The world makes its links in a burst: past the default creation limit.
            "REDIRECTOR_LINK_CREATION_LIMIT": "1000000/minute",
        }
    )
    app = create_app(settings, store=store)
    client = app.test_client()
    auth = {"Authorization": f"Bearer {ADMIN}"}

    def put(path: str, body: dict) -> dict:
        response = client.put(path, json=body, headers=auth)
        assert response.status_code in (200, 201), response.get_json()
        return response.get_json()

    MockClock(store).set(MONTH_START)
    put("/api/v1/storefronts/shop", {"name": "Shop", "hosts": ["shop.test"]})
    put(
        "/api/v1/products/p1",
        {
            "storefront_id": "shop",
            "title": "Thing",
            "price": 9900,
            "commission_rate_bps": 1234,
            "web_url": "https://shop.test/p/1",
        },
    )
    for a in range(AGENCIES):
        put(f"/api/v1/agencies/a{a}", {"name": f"Agency {a}"})
    link_ids = []
    for c in range(CREATORS):
        agency = f"a{c % AGENCIES}" if c % 2 else None
        key = put(f"/api/v1/creators/c{c}", {"name": f"Creator {c}", "agency_id": agency})[
            "api_key"
        ]
        for channel in CHANNELS:
            response = client.post(
                "/api/v1/links",
                json={"product_id": "p1", "channel": channel},
                headers={"Authorization": f"Bearer {key}"},
            )
            link_ids.append(response.get_json()["id"])
    return app, client, store, link_ids, auth


def fill(app, store, link_ids: list[str], count: int, seed: int, threads: int = 4) -> float:
    """``count`` orders, each clicked, paid and confirmed in November, applied
    by ``threads`` threads so that store round trips overlap."""
    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        share = -(-count // threads)
        jobs = [
            pool.submit(
                _fill_some,
                app,
                store,
                link_ids,
                range(t * share, min(count, (t + 1) * share)),
                seed + t,
            )
            for t in range(threads)
        ]
        for job in jobs:
            job.result()
    return time.perf_counter() - started


def _fill_some(app, store, link_ids: list[str], numbers: range, seed: int) -> None:
    rng = random.Random(seed)
    with app.app_context():
        svc = context()
        policy = clicks.ClickPolicy(svc.settings.retention_seconds, unique_window_ms=86_400_000)
        for n in numbers:
            link_id = rng.choice(link_ids)
            at = MONTH_START + timedelta(seconds=rng.randrange(0, 28 * 86400))
            at_ms = ms_from_datetime(at)
            click_id = clicks.new_click_id(link_id, at_ms)
            click = clicks.ClickFacts(
                link_id=link_id,
                click_id=click_id,
                at_ms=at_ms,
                device=f"dev{n:013d}",
                ip_hash="0" * 16,
                user_agent="desktop",
                bot=False,
                referrer="",
                local_date=at.date().isoformat(),
            )
            clicks.record_click(store, click, policy)
            amount = rng.randrange(100, 500_000)
            for status, offset in (("paid", 60), ("confirmed", 3600)):
                event = OrderEvent(
                    webhook_id=f"msg_{n}_{status}",
                    order_id=f"o{n}",
                    status=status,
                    amount=amount,
                    currency="CNY",
                    occurred_ms=at_ms + offset * 1000,
                    received_ms=at_ms + offset * 1000,
                    click_id=click_id if status == "paid" else None,
                )
                receive(svc, "shop", event)


def time_statement(client, auth: dict, rounds: int) -> tuple[float, dict]:
    times = []
    doc = {}
    for _ in range(rounds):
        started = time.perf_counter()
        response = client.get("/api/v1/settlements/2026-11", headers=auth)
        times.append(time.perf_counter() - started)
        assert response.status_code == 200, response.get_json()
        doc = response.get_json()
    return statistics.median(times), doc


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", type=int, default=1_000)
    parser.add_argument("--large", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()

    results = {}
    with redis_server() as url:
        for size in (args.small, args.large):
            app, client, store, link_ids, auth = build(url)
            fill_seconds = fill(app, store, link_ids, size, seed=size)
            MockClock(store).set(MONTH_START + timedelta(days=29))
            median, doc = time_statement(client, auth, args.rounds)
            assert doc["totals"]["orders"] == size, doc["totals"]
            results[size] = median
            print(
                f"{size:>7} orders: filled in {fill_seconds:6.1f} s "
                f"({size / fill_seconds:,.0f} orders/s); statement with {len(doc['lines'])} "
                f"lines: median {median * 1000:.2f} ms over {args.rounds} fetches"
            )
            store.flushdb()
    ratio = results[args.large] / results[args.small]
    print(f"ratio {args.large:,} / {args.small:,} orders: {ratio:.2f} (goal: under 2)")


if __name__ == "__main__":
    main()
