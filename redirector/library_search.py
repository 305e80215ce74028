"""Searching the product library, a page at a time (docs/library.md).

A query is answered from the indexes ``library_index`` keeps, at a cost that
depends on the page and on fixed bounds, never on the library's size:
- when its filters together name at most ``SMALL_SET`` products (the
  intersection of the narrowest four of its category, its storefront and the
  rarest term of each keyword word, which Redis works out from the narrowest;
  up to twice that when the narrowest holds few; or a high minimum rate), those
  products are read and ordered in full;
- otherwise the library's order for the sort is walked from the cursor, in
  batches, each checked on the server against the narrowest set filters and
  then by its facts, until the page is full or ``WALK_BUDGET`` products were
  looked at; a page cut short by the budget
  still carries a cursor, so a few pages of a rare combination may be short.

Paging rule: a run of pages (a first page and the cursors that follow it)
lists every product that matches the query on every page exactly once. Each
cursor holds the place the last page reached in the order; a product that
moved behind that place since (a new price, a sale, a new title) is listed at
the head of the next page instead, and the products a run has listed are
remembered for ``RUN_SECONDS``, so none comes twice. A product that starts or
stops matching during a run is listed at most once; one created during a run
is listed if it falls after the place reached.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from . import keys, library_index, registry
from .context import Context
from .errors import Gone, InvalidField
from .library import (
    MAX_WORDS,
    Facts,
    Sort,
    member_bound,
    order_member,
    product_of,
    word_terms,
    words,
)
from .store import StoreClient

__all__ = [
    "DEFAULT_LIMIT",
    "MAX_LIMIT",
    "RUN_SECONDS",
    "SMALL_SET",
    "WALK_BUDGET",
    "Page",
    "Query",
    "search",
]

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
SMALL_SET = 1000
# A set filter this narrow or narrower is intersected with the others on the server
# (the ``INTERSECTED`` narrowest of them, a word counting by its rarest term).
INTERSECT_MOST = 50_000
INTERSECTED = 4
WALK_BUDGET = 5000
FIRST_BATCH = 50
MOST_BATCH = 1000
# How many set filters (the narrowest) a walked batch is checked against before
# its facts are read; the facts check them all.
PREFILTER_SETS = 4
# Movers looked at per page, per change log: a burst of saves is met over pages.
MOST_MOVERS = 500
RUN_SECONDS = 3600
Order = Literal["asc", "desc"]
Position = str | int  # a lex member, or a sales score


@dataclass(frozen=True, slots=True)
class Query:
    """What a caller asks; ``active`` None lists inactive products too (admins)."""

    keyword: str = ""
    category: str | None = None
    storefront_id: str | None = None
    min_commission_bps: int | None = None
    sort: Sort = "newest"
    order: Order = "desc"
    active: bool | None = True
    limit: int = DEFAULT_LIMIT
    words: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        found = words(self.keyword)
        if len(found) > MAX_WORDS:
            raise InvalidField.one("q", f"at most {MAX_WORDS} words")
        object.__setattr__(self, "words", tuple(found))

    def shape(self) -> str:
        """Names the query a cursor belongs to (the page size may change between pages)."""
        said = [
            self.words,
            self.category,
            self.storefront_id,
            self.min_commission_bps,
            self.sort,
            self.order,
            self.active,
        ]
        return hashlib.sha256(json.dumps(said).encode()).hexdigest()[:16]

    def matches(self, facts: Facts) -> bool:
        return (
            (self.active is None or facts.active is self.active)
            and (self.category is None or facts.category == self.category)
            and (self.storefront_id is None or facts.storefront_id == self.storefront_id)
            and (self.min_commission_bps is None or facts.commission >= self.min_commission_bps)
            and all(facts.holds(w) for w in self.words)
        )


@dataclass(frozen=True, slots=True)
class Cursor:
    run: str
    shape: str
    place: Position
    since: int  # the library's change sequence already looked at
    sales_since: int  # the money sequence already looked at

    def encode(self) -> str:
        said = [1, self.run, self.shape, self.place, self.since, self.sales_since]
        return base64.urlsafe_b64encode(json.dumps(said).encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str, query: Query) -> Cursor:
        try:
            raw = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
            version, run, shape, place, since, sales_since = raw
            assert version == 1 and isinstance(run, str) and isinstance(shape, str)
            # Numbers the store reads exactly (a score, a sequence), nothing larger.
            if query.sort == "sales":
                assert type(place) is int and 0 <= place < 2**53
            else:
                assert isinstance(place, str) and len(place) <= 200
            assert all(type(n) is int and 0 <= n < 2**53 for n in (since, sales_since))
        except (ValueError, TypeError, AssertionError, binascii.Error, UnicodeDecodeError):
            raise InvalidField.one("cursor", "not a cursor this endpoint gave") from None
        if shape != query.shape():
            raise InvalidField.one("cursor", "the cursor belongs to another query")
        return cls(run, shape, place, since, sales_since)


@dataclass(frozen=True, slots=True)
class Page:
    items: list[dict[str, Any]]
    next_cursor: str | None


def search(ctx: Context, query: Query, cursor: str | None = None) -> Page:
    r = ctx.store
    at = Cursor.decode(cursor, query) if cursor else None
    since, sales_since, alive = _sequences(r, at)
    if not alive:
        raise Gone("the cursor has expired: start again from the first page")
    movers, since, sales_since = _movers(r, query, at, since, sales_since)
    room = query.limit - len(movers)
    found, place, done = _candidates(r, query, at, room) if room else ([], None, False)
    listed = movers + found
    if place is None and at is not None:
        place = at.place
    next_cursor = None
    if not done or len(movers) == query.limit:
        run = at.run if at else secrets.token_urlsafe(12)
        _remember(r, run, [pid for _, pid in listed])
        assert place is not None
        next_cursor = Cursor(run, query.shape(), place, since, sales_since).encode()
    return Page(registry.products_by_id(r, [pid for _, pid in listed]), next_cursor)


def _sequences(r: StoreClient, at: Cursor | None) -> tuple[int, int, bool]:
    """Where the change logs stand, read before anything is looked at (what moves
    after this is looked at again on the next page), and whether the run lives."""
    pipe = r.pipeline(transaction=False)
    pipe.get(keys.library_sequence())
    pipe.get(keys.money_sequence())
    pipe.exists(keys.library_run(at.run) if at else keys.library_sequence())
    since, sales_since, alive = pipe.execute()
    return int(since or 0), int(sales_since or 0), bool(alive or not at)


def _remember(r: StoreClient, run: str, product_ids: list[str]) -> None:
    pipe = r.pipeline(transaction=False)
    # "" keeps the run's key alive when a page lists nothing.
    pipe.sadd(keys.library_run(run), "", *product_ids)
    pipe.expire(keys.library_run(run), RUN_SECONDS)
    pipe.execute()


def _unseen(r: StoreClient, at: Cursor | None, product_ids: list[str]) -> set[str]:
    if not at or not product_ids:
        return set(product_ids)
    seen = r.smismember(keys.library_run(at.run), product_ids)
    return {pid for pid, s in zip(product_ids, seen, strict=True) if not s}


# -- movers: products that moved behind the cursor since the last page -----------------


def _movers(
    r: StoreClient, query: Query, at: Cursor | None, since: int, sales_since: int
) -> tuple[list[tuple[Position, str]], int, int]:
    """The movers this page lists first, and the sequences the next page starts from."""
    if at is None:
        return [], since, sales_since
    saved = r.zrangebyscore(
        keys.library_changes(), f"({at.since}", "+inf", 0, MOST_MOVERS, withscores=True
    )
    sold = r.zrangebyscore(
        keys.library_sales_changes(),
        f"({at.sales_since}",
        "+inf",
        0,
        MOST_MOVERS,
        withscores=True,
    )
    # A log read only in part is met again from where this read stopped.
    if len(saved) == MOST_MOVERS:
        since = int(saved[-1][1])
    if len(sold) == MOST_MOVERS:
        sales_since = int(sold[-1][1])
    ids = sorted({pid for pid, _ in saved} | {pid for pid, _ in sold})
    behind = [
        (place, pid) for place, pid in _placed(r, query, ids) if not _after(query, place, at.place)
    ]
    unseen = _unseen(r, at, [pid for _, pid in behind])
    behind = [(place, pid) for place, pid in behind if pid in unseen]
    if len(behind) > query.limit:
        # More than a page: the rest wait for the next one, so the logs are read again.
        return behind[: query.limit], at.since, at.sales_since
    return behind, since, sales_since


def _placed(r: StoreClient, query: Query, product_ids: list[str]) -> list[tuple[Position, str]]:
    """The matching products among ``product_ids``, with their places, in order."""
    facts = library_index.facts_of(r, product_ids)
    matching = [pid for pid, f in facts.items() if query.matches(f)]
    if query.sort == "sales":
        scores = r.zmscore(keys.library_sales(), matching) if matching else []
        placed: list[tuple[Position, str]] = [
            (int(s or 0), pid) for pid, s in zip(matching, scores, strict=True)
        ]
    else:
        placed = [(order_member(query.sort, facts[p].value(query.sort), p), p) for p in matching]
    return sorted(placed, key=lambda x: x[0], reverse=query.order == "desc")


def _after(query: Query, place: Position, mark: Position) -> bool:
    if query.order == "asc":
        return place > mark  # type: ignore[operator]  # one sort: both str or both int
    return place < mark  # type: ignore[operator]


# -- the page: from a small set, or along the order ------------------------------------


def _candidates(
    r: StoreClient, query: Query, at: Cursor | None, room: int
) -> tuple[list[tuple[Position, str]], Position | None, bool]:
    """Up to ``room`` products after the cursor, the place reached, and whether
    the run is done (nothing left after that place)."""
    small, sets, share = _smallest_set(r, query)
    if small is not None:
        return _from_set(r, query, at, room, small)
    # A first batch that holds the page if the narrowest filter alone decided.
    first = min(MOST_BATCH, max(FIRST_BATCH, int(2 * room / max(share, 1 / MOST_BATCH))))
    return _along_order(r, query, at, room, sets[:PREFILTER_SETS], first)


def _set_filters(query: Query) -> list[str]:
    """The sets a match must be in: its category, its storefront, its words' terms."""
    sets = []
    if query.category:
        sets.append(keys.library_category(query.category))
    if query.storefront_id:
        sets.append(keys.storefront_products(query.storefront_id))
    return sets + [keys.library_term(t) for w in query.words for t in word_terms(w)]


def _smallest_set(r: StoreClient, query: Query) -> tuple[list[str] | None, list[str], float]:
    """The products in every set filter, when at most ``SMALL_SET`` (or in the
    minimum rate's range, when that is the narrowest); else None. Also the set
    filters, narrowest first (the walk checks a batch against a few of them),
    and the share of the library the narrowest filter holds."""
    sets = _set_filters(query)
    pipe = r.pipeline(transaction=False)
    pipe.zcard(keys.library_order("newest"))
    for key in sets:
        pipe.scard(key)
    if query.min_commission_bps is not None:
        pipe.zlexcount(keys.library_order("commission"), _rate_floor(query), "+")
    total, *sizes = pipe.execute()
    by_size = _narrowest(query, dict(zip(sets, sizes, strict=False)))
    share = min(sizes, default=total) / max(total, 1)
    if not sizes:
        return None, by_size, share
    if len(sizes) > len(sets) and sizes[-1] <= min([SMALL_SET, *sizes[:-1]]):
        members = r.zrangebylex(keys.library_order("commission"), _rate_floor(query), "+")
        return [product_of(m) for m in members], by_size, share
    if not sets or min(sizes[: len(sets)]) > INTERSECT_MOST:
        return None, by_size, share
    if min(sizes[: len(sets)]) == 0:
        # A filter nothing is in (and SINTERCARD is never asked of an absent key).
        return [], by_size, share
    # Redis intersects from the narrowest set: O(its size x sets), on the server;
    # the narrowest few narrow enough (the facts check every filter after).
    narrowest = by_size[:INTERSECTED]
    wide = min(sizes[: len(sets)]) > 2 * SMALL_SET
    if wide and r.sintercard(len(narrowest), narrowest, limit=SMALL_SET + 1) > SMALL_SET:
        return None, by_size, share
    found = r.sinter(narrowest)
    if len(found) > 2 * SMALL_SET:
        return None, by_size, share
    return sorted(found), by_size, share


def _narrowest(query: Query, sizes: dict[str, int]) -> list[str]:
    """The set filters that narrow most, narrowest first: the category, the
    storefront, and the rarest term of each word (a word's terms say nearly
    the same thing; the title check decides the rest)."""
    picked = [k for k in sizes if not k.startswith(keys.library_term(""))]
    for word in query.words:
        terms = [keys.library_term(t) for t in word_terms(word)]
        if terms:
            picked.append(min(terms, key=lambda k: sizes[k]))
    return sorted(picked, key=lambda k: sizes[k])


def _rate_floor(query: Query) -> str:
    return "[" + member_bound("commission", query.min_commission_bps or 0)


def _from_set(
    r: StoreClient, query: Query, at: Cursor | None, room: int, product_ids: list[str]
) -> tuple[list[tuple[Position, str]], Position | None, bool]:
    placed = _placed(r, query, product_ids)
    if at is not None:
        placed = [(place, pid) for place, pid in placed if _after(query, place, at.place)]
    unseen = _unseen(r, at, [pid for _, pid in placed])
    fresh = [(place, pid) for place, pid in placed if pid in unseen]
    page = fresh[:room]
    return page, (page[-1][0] if page else None), len(fresh) <= room


def _along_order(
    r: StoreClient, query: Query, at: Cursor | None, room: int, sets: list[str], first: int
) -> tuple[list[tuple[Position, str]], Position | None, bool]:
    page: list[tuple[Position, str]] = []
    place: Position | None = None
    looked = 0
    for batch in _walk(r, query, at.place if at else None, first):
        facts = library_index.facts_of(r, _in_every(r, sets, [pid for _, pid in batch]))
        keep = [pid for _, pid in batch if pid in facts and query.matches(facts[pid])]
        unseen = _unseen(r, at, keep)
        for p, pid in batch:
            looked += 1
            place = p
            if pid in unseen:
                page.append((p, pid))
                if len(page) == room:
                    return page, place, False
        if looked >= WALK_BUDGET:
            return page, place, False
    return page, place, True


def _in_every(r: StoreClient, sets: list[str], product_ids: list[str]) -> list[str]:
    """Those of ``product_ids`` in every one of ``sets``: a membership test on the
    server is cheaper than reading a product's facts."""
    if not sets or not product_ids:
        return product_ids
    pipe = r.pipeline(transaction=False)
    for key in sets:
        pipe.smismember(key, product_ids)
    found = pipe.execute()
    return [pid for i, pid in enumerate(product_ids) if all(f[i] for f in found)]


def _walk(r: StoreClient, query: Query, start: Position | None, first: int) -> Iterator[list[Any]]:
    """The library in the query's order after ``start``, a growing batch at a time."""
    size = first
    while True:
        if query.sort == "sales":
            batch: list[Any] = _sales_batch(r, query, start, size)
        else:
            batch = _lex_batch(r, query, start, size)
        if batch:
            yield batch
        if len(batch) < size:
            return
        start = batch[-1][0]
        size = min(size * 2, MOST_BATCH)


def _lex_batch(r: StoreClient, query: Query, start: Position | None, size: int) -> list[Any]:
    key = keys.library_order(query.sort)
    # A minimum rate bounds the commission order itself: the walk starts or stops there.
    floor = _rate_floor(query) if query.sort == "commission" and query.min_commission_bps else "-"
    if query.order == "asc":
        low = f"({start}" if start is not None else floor
        if floor != "-" and start is not None and str(start) < floor[1:]:
            low = floor
        members = r.zrangebylex(key, low, "+", 0, size)
    else:
        high = f"({start}" if start is not None else "+"
        members = r.zrevrangebylex(key, high, floor, 0, size)
    return [(m, product_of(m)) for m in members]


def _sales_batch(r: StoreClient, query: Query, start: Position | None, size: int) -> list[Any]:
    key = keys.library_sales()
    if query.order == "asc":
        low = f"({start}" if start is not None else "-inf"
        rows = r.zrangebyscore(key, low, "+inf", 0, size, withscores=True)
    else:
        high = f"({start}" if start is not None else "+inf"
        rows = r.zrevrangebyscore(key, high, "-inf", 0, size, withscores=True)
    return [(int(score), pid) for pid, score in rows]
