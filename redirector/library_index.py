"""The product library's indexes: written with the product, in its transaction.

What a search reads (keys in ``keys``, all in ``{registry}`` but the sales order):
- the facts of each product (one hash: rate, price, creation, active,
  category, storefront, normalised title), read for a batch in one HMGET;
- one lex-ordered sorted set per sort value (commission, price, newest) whose
  members are ``<fixed-width value>:<id>``, so a page after a cursor is one
  ZRANGEBYLEX of O(log n + page);
- a set per category and one per index term (``library.terms``);
- the sales order in ``{money}``, a score per product that the order script
  moves in the same step as the product's figures (``orders.writes``);
- two change logs (product saves, sales moves) scored by a sequence, from which
  a paging run learns what moved since its last page.

A save removes the entries the product's previous facts made and adds the new
ones, so the indexes always say what the records say (``reindex`` rebuilds a
product's entries from its record, for a library saved before they existed).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import redis

from . import keys
from .library import Facts, normalise, sales_score, terms
from .store import StoreClient, StorePipeline

__all__ = [
    "ensure_sales_entry",
    "facts_from_record",
    "facts_of",
    "queue_index",
    "reindex",
    "reindex_all",
    "save",
]


def facts_from_record(record: dict[str, Any]) -> Facts:
    """A product hash (``registry``) as the facts a search reads."""
    return Facts(
        commission=int(record["commission_rate_bps"]),
        price=int(record["price"]),
        created_at=int(record["created_at"]),
        active=record.get("active", "1") == "1",
        category=record.get("category", ""),
        storefront_id=record["storefront_id"],
        title=normalise(record["title"]),
    )


def facts_of(r: StoreClient | StorePipeline, product_ids: Iterable[str]) -> dict[str, Facts]:
    """The facts of those products the index holds (others are left out)."""
    ids = list(product_ids)
    if not ids:
        return {}
    raw = r.hmget(keys.library_facts(), ids)
    return {pid: Facts.from_list(json.loads(v)) for pid, v in zip(ids, raw, strict=True) if v}


def queue_index(
    pipe: StorePipeline, product_id: str, old: Facts | None, new: Facts, seq: int
) -> None:
    """Queue the index changes from ``old`` facts (None: not indexed) to ``new``,
    and the save's place ``seq`` in the change log."""
    pipe.hset(keys.library_facts(), product_id, json.dumps(new.to_list(), ensure_ascii=False))
    before = dict(old.members(product_id)) if old else {}
    for sort, member in new.members(product_id):
        if before.get(sort, member) != member:
            pipe.zrem(keys.library_order(sort), before[sort])
        pipe.zadd(keys.library_order(sort), {member: 0})
    if old and old.category and old.category != new.category:
        pipe.srem(keys.library_category(old.category), product_id)
    if new.category:
        pipe.sadd(keys.library_category(new.category), product_id)
    old_terms = terms(old.title) if old else set()
    new_terms = terms(new.title)
    for term in sorted(old_terms - new_terms):
        pipe.srem(keys.library_term(term), product_id)
    for term in sorted(new_terms - old_terms):
        pipe.sadd(keys.library_term(term), product_id)
    pipe.zadd(keys.library_changes(), {product_id: seq})
    pipe.set(keys.library_sequence(), seq)


def ensure_sales_entry(r: StoreClient, product_id: str, orders: int = 0) -> None:
    """Give a product its place in the sales order, once. Done before the product
    is saved: a search skips an entry with no facts, so a save that fails after
    this leaves nothing visible. Once there, only the order script moves it."""
    if r.zscore(keys.library_sales(), product_id) is None:
        ordinal = r.incr(keys.library_ordinals())
        r.zadd(keys.library_sales(), {product_id: sales_score(orders, ordinal)}, nx=True)


def save(r: StoreClient, product_id: str, record: dict[str, Any], now_ms: int) -> bool:
    """Write a product's record and its index entries in one transaction; True
    when this created it. The change log's sequence is watched, so saves are
    numbered in the order they apply."""
    key = keys.product(product_id)
    ensure_sales_entry(r, product_id)
    with r.pipeline(transaction=True) as pipe:
        while True:
            try:
                pipe.watch(key, keys.library_sequence())
                held = pipe.hgetall(key)
                old = facts_of(pipe, [product_id]).get(product_id)
                seq = int(pipe.get(keys.library_sequence()) or 0) + 1
                merged = {"created_at": now_ms, **held, **record}
                pipe.multi()
                pipe.hsetnx(key, "created_at", now_ms)
                pipe.hset(key, mapping=record)
                pipe.hincrby(key, "rev", 1)
                pipe.sadd(keys.products(), product_id)
                pipe.sadd(keys.storefront_products(record["storefront_id"]), product_id)
                queue_index(pipe, product_id, old, facts_from_record(merged), seq)
                return bool(pipe.execute()[0])
            except redis.WatchError:
                continue


def reindex(r: StoreClient, product_id: str) -> bool:
    """Rebuild a product's index entries from its record (a library saved before
    the indexes existed; ``redirector library-reindex``), its sales order from
    its figures if it has none; False if there is no such product."""
    key = keys.product(product_id)
    ensure_sales_entry(r, product_id, int(r.hget(keys.product_sales(product_id), "orders") or 0))
    with r.pipeline(transaction=True) as pipe:
        while True:
            try:
                pipe.watch(key, keys.library_sequence())
                record = pipe.hgetall(key)
                if not record or "title" not in record:
                    return False
                old = facts_of(pipe, [product_id]).get(product_id)
                seq = int(pipe.get(keys.library_sequence()) or 0) + 1
                pipe.multi()
                queue_index(pipe, product_id, old, facts_from_record(record), seq)
                pipe.execute()
                return True
            except redis.WatchError:
                continue


def reindex_all(r: StoreClient) -> int:
    """``reindex`` every product; answers how many."""
    return sum(reindex(r, pid) for pid in sorted(r.smembers(keys.products())))
