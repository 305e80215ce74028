"""Redis memory per click, and what expires when.

Starts a private ``redis-server`` on a free loopback port, makes links through
the API, records N clicks (default 200,000) through the click path the
redirect uses (``clicks.record_click``: one round trip each) with a realistic
mix — devices clicking once or a few times, 8 % bots, a few referrers — and
prints Redis's ``used_memory`` delta per click, then the lifetime of each kind
of key: raw click records and uniqueness marks expire, counters and the daily
series stay. Goal (issue 7): at most 250 bytes per retained click.

    .venv/bin/python -m bench.memory [--clicks 200000] [--links 200] [--days 3]
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime

import redis

from bench.redirect import ADMIN, KEYS, in_process, make_links, private_spool
from redirector import clicks, create_app, keys
from redirector.config import Settings
from redirector.devices import DEVICE_ID_LENGTH, IpHasher
from redirector.ids import ALPHABET
from redirector.links import local_date
from tests.servers import redis_server

AGENTS = ("ios/weibo", "android/douyin", "android/kuaishou", "ios/wechat", "ios", "desktop")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clicks", type=int, default=200_000)
    parser.add_argument("--links", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--days", type=float, default=3, help="the clicks' span of time (fewer: busier keys)"
    )
    args = parser.parse_args()
    rng = random.Random(args.seed)

    with redis_server() as url:
        store = redis.Redis.from_url(url, decode_responses=True)
        settings = Settings.from_env(
            {"REDIS_URL": url, "REDIRECTOR_ADMIN_TOKEN": ADMIN,
             "REDIRECTOR_SECRET_KEYS": KEYS, "REDIRECTOR_SPOOL_DIR": private_spool(),
             # One creator makes every link: past the default creation limit.
             "REDIRECTOR_LINK_CREATION_LIMIT": "1000000/minute"}
        )  # fmt: skip
        app = create_app(settings, store=store)
        link_ids = [link["id"] for link in make_links(in_process(app), args.links)]

        hash_ip = IpHasher(settings.secret_keys)
        start_ms = int(datetime(2026, 11, 2, tzinfo=UTC).timestamp() * 1000)
        span_ms = int(args.days * 86_400_000)
        devices: list[str] = []
        store.memory_purge() if hasattr(store, "memory_purge") else None
        before = int(store.info("memory")["used_memory"])
        started = time.perf_counter()
        bots = 0
        buckets = clicks.RecordBuckets()
        policy = clicks.ClickPolicy.of(settings)  # as the redirect makes it
        for n in range(args.clicks):
            now_ms = start_ms + n * span_ms // args.clicks
            if devices and rng.random() < 0.35:
                device = rng.choice(devices)  # a returning device
            else:
                # Shaped as the redirect issues them (random base 62).
                device = "".join(rng.choices(ALPHABET, k=DEVICE_ID_LENGTH))
                devices.append(device)
            bot = rng.random() < 0.08
            bots += bot
            link_id = rng.choice(link_ids)
            day = now_ms // clicks.DAY_MS
            bucket = buckets.current(link_id, day)  # as the redirect chooses it
            click = clicks.ClickFacts(
                link_id=link_id,
                click_id=clicks.new_click_id(link_id, now_ms, bucket),
                at_ms=now_ms,
                device=device,
                ip_hash=hash_ip(
                    f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(256)}"
                ),
                user_agent="bot/crawler" if bot else rng.choice(AGENTS),
                bot=bot,
                referrer=rng.choice(("", "", "weibo.com", "m.weibo.cn", "www.douyin.com")),
                local_date=local_date(now_ms, settings.timezone),
            )
            outcome = clicks.record_click(store, click, policy)
            buckets.learn(link_id, day, outcome)
        took = time.perf_counter() - started
        with_flood = int(store.info("memory")["used_memory"])
        # Flood counters live two flood windows of real time (seconds to
        # minutes), not with the records: dropped here so that what is left is
        # what a click costs for as long as it is retained.
        for batch in _batches(store.scan_iter("rd:*:flood:*", count=1000), 1000):
            store.unlink(*batch)
        after = int(store.info("memory")["used_memory"])
        per_click = (after - before) / args.clicks
        print(
            f"{args.clicks:,} clicks ({bots:,} bots, {len(devices):,} devices, {args.links} links) "
            f"recorded in {took:.1f} s ({args.clicks / took:,.0f}/s)"
        )
        print(
            f"used_memory: {before:,} -> {after:,} bytes retained "
            f"(+ {with_flood - after:,} in flood counters, dropped after minutes)"
        )
        print(f"bytes per retained click: {per_click:.0f} (goal <= 250)")
        print("by kind of key (MEMORY USAGE, without Redis's own dict entries):")
        for kind, (count, size, compact) in _by_kind(store).items():
            print(
                f"  {kind:24} {count:9,} keys ({compact:6.1%} listpack) "
                f"{size / args.clicks:8.1f} bytes per click"
            )

        link_id = link_ids[0]
        day = start_ms // clicks.DAY_MS
        device = devices[0]
        rows = [
            ("click records (per link, UTC day, bucket)", keys.link_clicks(link_id, day, 0)),
            ("uniqueness marks (per link, per UTC day)", keys.link_unique(link_id, day)),
            ("device index (per device group, UTC day)", keys.device_clicks(device, day)),
            ("link counters", keys.link_stats(link_id)),
            ("link daily series", keys.link_daily(link_id)),
            ("link record", keys.link(link_id)),
        ]
        print("what expires when (TTL from the last write; -1 = kept):")
        for label, name in rows:
            ttl = store.ttl(name)
            shown = "kept" if ttl == -1 else "absent" if ttl == -2 else f"{ttl / 86400:.2f} days"
            print(f"  {label:45} {shown}")
        print(
            f"retention of raw records: longest window + 1 day = "
            f"{settings.retention_seconds / 86400:.0f} days"
        )


def _batches(names: Iterable[str], size: int) -> Iterator[list[str]]:
    batch: list[str] = []
    for name in names:
        batch.append(name)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _by_kind(store: redis.Redis) -> dict[str, tuple[int, int, float]]:
    """(keys, bytes, share of keys in listpack encoding) per kind of key."""
    totals: dict[str, list[int]] = {}
    for batch in _batches(store.scan_iter("rd:*", count=1000), 500):
        pipe = store.pipeline(transaction=False)
        for name in batch:
            pipe.memory_usage(name, samples=0)
            pipe.object("encoding", name)
        answers = pipe.execute()
        for name, size, encoding in zip(batch, answers[::2], answers[1::2], strict=True):
            entry = totals.setdefault(_kind(name), [0, 0, 0])
            entry[0] += 1
            entry[1] += size or 0
            entry[2] += encoding == "listpack"
    ordered = sorted(totals.items(), key=lambda kv: -kv[1][1])
    return {k: (v[0], v[1], v[2] / v[0]) for k, v in ordered}


def _kind(name: str) -> str:
    tag, _, rest = name.partition("}")
    if tag.startswith("rd:{d:"):
        return "device index"
    if tag.startswith("rd:{l:"):
        return "link " + rest.split(":")[1]
    return tag.removeprefix("rd:{") + " slot"


if __name__ == "__main__":
    main()
