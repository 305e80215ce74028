"""Library search cost at 100,000 products.

Loads a library (pipelines of ``BATCH`` products, each written with the index
entries a save makes: ``library_index.queue_index``), gives it sales, then
runs each kind of query in process (``library_search.search``, as a creator
sees the library) and prints p50 and p99 per kind. Goal: p99 under 20 ms.

    .venv/bin/python -m bench.library                                  # embedded fakeredis
    .venv/bin/python -m bench.library --redis redis://127.0.0.1:6379/4  # a real Redis

On a real Redis it refuses a database that holds keys already, and deletes
every key it wrote when it ends (``--keep`` leaves them).
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable

import fakeredis
import redis

from redirector import create_app, keys, library_index, library_search
from redirector.config import Settings
from redirector.extension import context_of
from redirector.library import sales_score
from redirector.library_search import Query
from redirector.store import StoreClient

BATCH = 1000
STOREFRONTS = ("taobao", "tmall", "jd", "pdd", "youzan")
CATEGORIES = [f"cat{i:02d}" for i in range(60)]
WORDS_ZH = [
    "龙井",
    "普洱",
    "乌龙",
    "绿茶",
    "红茶",
    "白茶",
    "花茶",
    "茶具",
    "紫砂",
    "青瓷",
    "礼盒",
    "新品",
    "特级",
    "明前",
    "蜂蜜",
    "坚果",
    "零食",
    "面膜",
    "口红",
    "精华",
    "防晒",
    "洗面奶",
    "眼霜",
    "香水",
    "耳机",
    "充电器",
    "手机壳",
    "键盘",
    "鼠标",
    "台灯",
    "保温杯",
    "雨伞",
    "背包",
    "运动鞋",
    "连衣裙",
    "衬衫",
    "外套",
    "围巾",
    "袜子",
    "床单",
    "枕头",
    "毛巾",
    "牙刷",
    "洗发水",
    "沐浴露",
    "纸巾",
    "大米",
    "食用油",
]
WORDS_EN = [
    "tea",
    "green",
    "black",
    "oolong",
    "gift",
    "box",
    "premium",
    "organic",
    "cup",
    "pot",
    "honey",
    "nut",
    "snack",
    "mask",
    "lipstick",
    "serum",
    "sunscreen",
    "cleanser",
    "cream",
    "perfume",
    "earbuds",
    "charger",
    "case",
    "keyboard",
    "mouse",
    "lamp",
    "flask",
    "umbrella",
    "backpack",
    "sneakers",
    "dress",
    "shirt",
    "coat",
    "scarf",
    "socks",
    "sheet",
    "pillow",
    "towel",
    "brush",
    "shampoo",
    "rice",
    "oil",
]
ADMIN = "bench-admin-token-0123456789"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--redis", help="a real Redis URL (an empty database); default: fakeredis")
    parser.add_argument("--products", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=60, help="queries per kind")
    parser.add_argument("--keep", action="store_true", help="leave the keys in Redis")
    options = parser.parse_args()
    store = _store(options.redis)
    try:
        rng = random.Random(16)
        started = time.perf_counter()
        load(store, options.products, rng)
        print(f"loaded {options.products:,} products in {time.perf_counter() - started:.1f} s")
        ctx = context_of(create_app(_settings(options.redis), store=store))
        print(f"{'query':<28}{'p50 ms':>9}{'p99 ms':>9}{'items/page':>12}")
        for name, make in kinds(rng).items():
            _report(name, [_timed(ctx, q) for q in make(options.runs)])
        _report("deep pages (11th-40th)", deep_pages(ctx, rng, options.runs))
    finally:
        if options.redis and not options.keep:
            _clean(store)


def _store(url: str | None) -> StoreClient:
    if url is None:
        return fakeredis.FakeRedis(decode_responses=True)  # type: ignore[return-value]
    client = redis.Redis.from_url(url, decode_responses=True)
    if client.dbsize():
        raise SystemExit(f"{url} holds keys already: give an empty database")
    return client  # type: ignore[return-value]


def _settings(url: str | None) -> Settings:
    env = {"REDIRECTOR_ADMIN_TOKEN": ADMIN, "REDIRECTOR_SECRET_KEYS": "bench-key-0123456789abcdef"}
    if url:
        env["REDIS_URL"] = url
    return Settings.from_env(env)


def _clean(store: StoreClient) -> None:
    """Every key the bench wrote (they all start with the service's prefix)."""
    batch = []
    for key in store.scan_iter(match=f"{keys.PREFIX}:*", count=1000):  # type: ignore[attr-defined]
        batch.append(key)
        if len(batch) == 1000:
            store.delete(*batch)
            batch = []
    if batch:
        store.delete(*batch)


def title(rng: random.Random) -> str:
    zh = rng.sample(WORDS_ZH, rng.randint(1, 2))
    en = rng.sample(WORDS_EN, rng.randint(1, 2))
    return " ".join([*zh, *(w.capitalize() if rng.random() < 0.5 else w for w in en)])


def load(store: StoreClient, count: int, rng: random.Random) -> None:
    """``count`` products as saves would leave them, ``BATCH`` to a pipeline."""
    for start in range(0, count, BATCH):
        pipe = store.pipeline(transaction=False)
        for n in range(start, min(start + BATCH, count)):
            _queue_product(pipe, n, rng)
        pipe.execute()
    store.set(keys.library_sequence(), count)
    store.set(keys.library_ordinals(), count)


def _queue_product(pipe: object, n: int, rng: random.Random) -> None:
    pid = f"p{n:06d}"
    storefront = rng.choice(STOREFRONTS)
    # Categories of very different sizes, as real ones are.
    category = CATEGORIES[min(int(rng.expovariate(1 / 8)), len(CATEGORIES) - 1)]
    record = {
        "storefront_id": storefront,
        "title": title(rng),
        "price": rng.randint(100, 200_000),
        "commission_rate_bps": rng.randrange(0, 5001, 100),
        "web_url": f"https://item.example.com/{pid}",
        "app_url": "",
        "active": "1" if rng.random() < 0.95 else "0",
        "category": category,
        "image_url": "",
        "share_code": "",
        "created_at": 1_700_000_000_000 + n * 1000,
        "updated_at": 1_700_000_000_000 + n * 1000,
        "rev": 1,
    }
    orders = int(rng.paretovariate(1.2)) - 1 if rng.random() < 0.3 else 0
    pipe.hset(keys.product(pid), mapping=record)  # type: ignore[attr-defined]
    pipe.sadd(keys.products(), pid)  # type: ignore[attr-defined]
    pipe.sadd(keys.storefront_products(storefront), pid)  # type: ignore[attr-defined]
    pipe.hset(keys.product_sales(pid), mapping={"orders": orders, "gmv": orders * 5000})  # type: ignore[attr-defined]
    pipe.zadd(keys.library_sales(), {pid: sales_score(orders, n + 1)})  # type: ignore[attr-defined]
    facts = library_index.facts_from_record(record)
    library_index.queue_index(pipe, pid, None, facts, n + 1)  # type: ignore[arg-type]


def kinds(rng: random.Random) -> dict[str, Callable[[int], list[Query]]]:
    def many(make: Callable[[], Query]) -> Callable[[int], list[Query]]:
        return lambda runs: [make() for _ in range(runs)]

    def sort() -> str:
        return rng.choice(["sales", "commission", "price", "newest"])

    def word() -> str:
        return rng.choice(WORDS_ZH + WORDS_EN)

    return {
        "keyword (one word)": many(lambda: Query(keyword=word())),
        "keyword (two words)": many(lambda: Query(keyword=f"{word()} {word()}")),
        "keyword (one character)": many(lambda: Query(keyword=rng.choice(WORDS_ZH)[0])),
        "category": many(lambda: Query(category=rng.choice(CATEGORIES))),
        "storefront": many(lambda: Query(storefront_id=rng.choice(STOREFRONTS))),
        "min commission": many(lambda: Query(min_commission_bps=rng.randrange(0, 5001, 500))),
        "sort sales": many(lambda: Query(sort="sales", order=rng.choice(["asc", "desc"]))),
        "sort commission": many(
            lambda: Query(sort="commission", order=rng.choice(["asc", "desc"]))
        ),
        "sort price": many(lambda: Query(sort="price", order=rng.choice(["asc", "desc"]))),
        "sort newest": many(lambda: Query(sort="newest", order=rng.choice(["asc", "desc"]))),
        "combined": many(
            lambda: Query(
                keyword=word(),
                category=rng.choice(CATEGORIES[:10]),
                min_commission_bps=rng.randrange(0, 3001, 500),
                storefront_id=rng.choice(STOREFRONTS),
                sort=sort(),
            )
        ),
        "admin, all products": many(lambda: Query(active=None, sort=sort())),
    }


def _timed(ctx: object, query: Query) -> tuple[float, int]:
    started = time.perf_counter()
    page = library_search.search(ctx, query)  # type: ignore[arg-type]
    return (time.perf_counter() - started) * 1000, len(page.items)


def deep_pages(ctx: object, rng: random.Random, runs: int) -> list[tuple[float, int]]:
    """Pages 11 to 40 of runs of broad queries, each timed."""
    out = []
    for _ in range(max(1, runs // 20)):
        query = Query(sort=rng.choice(["sales", "price"]), keyword=rng.choice(["", "tea", "茶"]))
        cursor = None
        for n in range(40):
            started = time.perf_counter()
            page = library_search.search(ctx, query, cursor)  # type: ignore[arg-type]
            if n >= 10:
                out.append(((time.perf_counter() - started) * 1000, len(page.items)))
            cursor = page.next_cursor
            if cursor is None:
                break
    return out


def _report(name: str, timings: list[tuple[float, int]]) -> None:
    ms = sorted(t for t, _ in timings)
    p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))]
    items = statistics.mean(n for _, n in timings)
    print(f"{name:<28}{statistics.median(ms):>9.2f}{p99:>9.2f}{items:>12.1f}")


if __name__ == "__main__":
    main()
