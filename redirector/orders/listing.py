"""The order list: orders newest paid first, filtered, paged by an opaque cursor.

The indexes (``keys``) are sorted sets of ``<storefront>:<order>`` scored by
paid time (ms), in the ``{money}`` slot, written by the write path in the same
``APPLY`` as the change (``writes``): every order, the orders attributed to each
creator, each storefront's, and the orders now in each status (a status change
moves the order from one status set to the other in that one script). The
lifecycle takes nothing but ``paid`` first, so every order has a paid time.

Order: paid time, newest first; orders paid in the same millisecond by
reference, descending bytewise (as Redis orders equal scores).

A query filters by ``status`` (the current one), ``creator_id`` (attributed
to), ``storefront_id`` and ``period``: the month, in the configured zone, that
holds ``paid_at`` (not the settlement period). The period bounds the score,
on whichever index is read; of the indexes the other filters name, the page
reads the one holding the fewest orders in the period (``ZCOUNT``, O(log n)
each) and checks every filter on each entry (the storefront on the reference,
the rest on the order). It reads at most ``SCAN_BUDGET`` entries: if they run
out before the page fills, the page comes back short with a ``next_cursor``.

The cursor names the last entry read (its paid time and reference) and the
query; the next page starts strictly after that place, whether the entry is
still there or not. So no order is listed twice, and every order that matches
from the first page to the last is listed once, whatever arrives meanwhile (an
order paid before the cursor's place shows up later; one paid after it belongs
to pages already read). An order whose status changes while a status list is
paged leaves or joins it by the same rule.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from .. import keys, paging
from ..context import Context
from ..errors import Forbidden, InvalidField
from ..periods import Period
from ..store import Script, StoreClient
from .documents import order_document
from .records import STATUSES, Credit, Order

__all__ = [
    "CSV_COLUMNS",
    "PAGE",
    "SCAN_BUDGET",
    "Page",
    "Position",
    "Query",
    "csv_lines",
    "every",
    "index_keys",
    "listed",
    "page",
    "query_seen_by",
    "summary",
]

SCAN_BUDGET = 2000  # index entries one page reads at most
CHUNK = 200  # entries read at a time while other filters than the index's are checked
EXPORT_CHUNK = 500  # orders an export holds at a time
CSV_BATCH = 64 * 1024  # characters of CSV sent at a time
SAFE_SCORE = 2**53  # paid times (ms) are scores: doubles, exact up to here


def index_keys(storefront_id: str, credit: Credit | None) -> list[str]:
    """The lists an order joins when paid, besides its status's."""
    joined = [keys.orders_by_paid(), keys.storefront_orders(storefront_id)]
    if credit is not None:
        joined.append(keys.creator_orders(credit.creator_id))
    return joined


@dataclass(frozen=True, slots=True)
class Query:
    """What a list asks for; None: any."""

    status: str | None = None
    creator_id: str | None = None
    storefront_id: str | None = None
    period: Period | None = None

    def label(self) -> str:
        """Names the query in its cursors: a cursor serves only the query it came from."""
        text = repr((self.status, self.creator_id, self.storefront_id, str(self.period)))
        return hashlib.sha256(text.encode()).hexdigest()[:12]

    def bounds(self, tz: ZoneInfo) -> tuple[str, str]:
        """ZCOUNT arguments: the lowest score listed, and the scores above the list."""
        if self.period is None:
            return "-inf", "+inf"
        low = round(self.period.start(tz).timestamp() * 1000)
        end = round(self.period.end(tz).timestamp() * 1000)
        return str(low), f"({end - 1}"

    def indexes(self) -> list[str]:
        named = []
        if self.status is not None:
            named.append(keys.status_orders(self.status))
        if self.creator_id is not None:
            named.append(keys.creator_orders(self.creator_id))
        if self.storefront_id is not None:
            named.append(keys.storefront_orders(self.storefront_id))
        return named or [keys.orders_by_paid()]

    def matches(self, order: Order) -> bool:
        creator = order.credit.creator_id if order.credit else None
        return (
            self.status in (None, order.status)
            and self.creator_id in (None, creator)
            and self.storefront_id in (None, order.storefront_id)
        )


@dataclass(frozen=True, slots=True)
class Position:
    """An entry of an index: where a page stopped."""

    paid_ms: int
    ref: str

    def cursor(self, query: Query) -> str:
        return paging.cursor([query.label(), self.paid_ms, self.ref])

    @classmethod
    def of_cursor(cls, text: str, query: Query) -> Position:
        label, paid_ms, ref = paging.read_cursor(text, (str, int, str))
        if label != query.label():
            raise paging.not_a_cursor("belongs to a list with other filters")
        if not -SAFE_SCORE <= int(paid_ms) <= SAFE_SCORE:  # a score Redis holds exactly
            raise paging.not_a_cursor()
        return cls(int(paid_ms), str(ref))


@dataclass(frozen=True, slots=True)
class Page:
    orders: list[Order]
    next: Position | None  # where the next page starts; None: this is the last


# KEYS[1] an order index: references scored by paid time (ms)
# ARGV[1] the lowest score listed ("-inf" or ms)
# ARGV[2] the scores above the list ("+inf", or "(<ms>": above that one)
# ARGV[3] the paid time of the entry the page starts after ("": from the top)
# ARGV[4] that entry's reference      ARGV[5] how many entries at most
# Answers reference, score, reference, score, ...: the entries after the given
# one, in the list's order (score descending, then reference descending bytewise,
# as Redis keeps equal scores), within the scores. The entry need not be there
# any more: the place it had is found by its score and reference.
PAGE = Script(
    """
local function before(a, b)  -- bytewise: Lua's < follows the server's locale
  local n = math.min(#a, #b)
  for i = 1, n do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then return x < y end
  end
  return #a < #b
end
local start = redis.call('ZCOUNT', KEYS[1], ARGV[2], '+inf')
if ARGV[3] ~= '' then
  local lo = redis.call('ZCOUNT', KEYS[1], '(' .. ARGV[3], '+inf')
  local hi = lo + redis.call('ZCOUNT', KEYS[1], ARGV[3], ARGV[3])
  while lo < hi do  -- equal scores descend by reference: find the first one before
    local mid = math.floor((lo + hi) / 2)
    if before(redis.call('ZREVRANGE', KEYS[1], mid, mid)[1], ARGV[4]) then
      hi = mid
    else
      lo = mid + 1
    end
  end
  if lo > start then start = lo end
end
local stop = math.min(start + tonumber(ARGV[5]), redis.call('ZCOUNT', KEYS[1], ARGV[1], '+inf'))
if stop <= start then return {} end
return redis.call('ZREVRANGE', KEYS[1], start, stop - 1, 'WITHSCORES')
"""
)


def _read(
    r: StoreClient, index: str, bounds: tuple[str, str], after: Position | None, count: int
) -> list[Position]:
    args = [*bounds, *((str(after.paid_ms), after.ref) if after else ("", "")), count]
    flat = PAGE(r, [index], args)
    return [Position(int(float(flat[i + 1])), flat[i]) for i in range(0, len(flat), 2)]


def _chosen(r: StoreClient, query: Query, bounds: tuple[str, str]) -> str:
    """Of the indexes the query names, the one with the fewest entries in its bounds."""
    named = query.indexes()
    if len(named) == 1:
        return named[0]
    pipe = r.pipeline(transaction=False)
    low, above = bounds
    for index in named:
        pipe.zcount(index, low, "+inf")
        pipe.zcount(index, above, "+inf")
    counts = pipe.execute()
    sizes = [counts[2 * i] - counts[2 * i + 1] for i in range(len(named))]
    return named[sizes.index(min(sizes))]


def _orders(r: StoreClient, entries: list[Position], query: Query) -> list[Order | None]:
    """The order of each entry, None where the reference already fails the storefront."""
    wanted = [p for p in entries if query.storefront_id in (None, p.ref.split(":", 1)[0])]
    pipe = r.pipeline(transaction=False)
    for p in wanted:
        pipe.hgetall(keys.order(*p.ref.split(":", 1)))
    found = dict(zip((p.ref for p in wanted), pipe.execute(), strict=True))
    out: list[Order | None] = []
    for p in entries:
        data = found.get(p.ref)
        storefront_id, order_id = p.ref.split(":", 1)
        out.append(Order.from_hash(storefront_id, order_id, data) if data else None)
    return out


def page(
    ctx: Context, query: Query, after: Position | None, limit: int, budget: int = SCAN_BUDGET
) -> Page:
    """Up to ``limit`` orders after ``after`` (None: from the top), reading at
    most ``budget`` index entries."""
    r = ctx.store
    bounds = query.bounds(ctx.settings.timezone)
    index = _chosen(r, query, bounds)
    checked = len(query.indexes()) > 1  # filters beyond the index's: read in chunks
    found: list[Order] = []
    read = 0
    while True:
        room = limit - len(found)
        count = min(budget - read, max(room, CHUNK) if checked else room)
        entries = _read(r, index, bounds, after, count + 1)  # one more: is there a next?
        more = len(entries) > count
        entries = entries[:count]
        for i, (entry, order) in enumerate(zip(entries, _orders(r, entries, query), strict=True)):
            read, after = read + 1, entry
            if order is not None and query.matches(order):
                found.append(order)
                if len(found) == limit:
                    return Page(found, entry if more or i + 1 < len(entries) else None)
        if not more:
            return Page(found, None)
        if read >= budget:
            return Page(found, after)


def query_seen_by(
    viewer: str | None,
    *,
    status: str | None = None,
    creator_id: str | None = None,
    storefront_id: str | None = None,
    period: str | None = None,
) -> Query:
    """The query as ``viewer`` (a creator's id; None: an admin) may ask it: a
    creator lists the orders attributed to it, and asking for another creator's
    is refused (403), as its earnings are; ``period`` is ``YYYY-MM`` (else 422)."""
    if viewer is not None:
        if creator_id not in (None, viewer):
            raise Forbidden("a creator lists only the orders attributed to it")
        creator_id = viewer
    try:
        month = Period.parse(period) if period is not None else None
    except ValueError as exc:
        raise InvalidField.one("period", str(exc)) from None
    return Query(status, creator_id, storefront_id, month)


def listed(ctx: Context, query: Query, cursor: str | None, limit: int) -> dict[str, Any]:
    """A page as the API answers it: ``{items, next_cursor}``."""
    after = Position.of_cursor(cursor, query) if cursor is not None else None
    found = page(ctx, query, after, limit)
    return {
        "items": [summary(order) for order in found.orders],
        "next_cursor": found.next.cursor(query) if found.next else None,
    }


def every(ctx: Context, query: Query) -> Iterator[Order]:
    """Every order the query lists, in order, ``EXPORT_CHUNK`` at a time."""
    after: Position | None = None
    while True:
        chunk = page(ctx, query, after, EXPORT_CHUNK, budget=EXPORT_CHUNK * 4)
        yield from chunk.orders
        if chunk.next is None:
            return
        after = chunk.next


def summary(order: Order) -> dict[str, Any]:
    """An order as lists show it: its document without the history."""
    doc = order_document(order, ())
    del doc["history"]
    return doc


CSV_COLUMNS = (
    "storefront_id",
    "order_id",
    "status",
    "amount",
    "refunded_amount",
    "currency",
    *(f"{s}_at" for s in STATUSES),
    "creator_id",
    "link_id",
    "product_id",
    "channel",
    "account_id",
    "account_type",
    "commission_rate_bps",
    "commission",
    "settled_period",
    "review",
)


def _row(order: Order, tz: ZoneInfo) -> list[Any]:
    doc = summary(order)
    attributed = doc["attributed"] or {}
    times = [
        datetime.fromtimestamp(doc[f"{s}_at"] / 1000, tz=tz).isoformat(timespec="milliseconds")
        if doc[f"{s}_at"] is not None
        else ""
        for s in STATUSES
    ]
    return [
        *(doc[name] for name in CSV_COLUMNS[:6]),
        *times,
        *(attributed.get(name, "") for name in CSV_COLUMNS[10:16]),
        doc["commission_rate_bps"] if doc["commission_rate_bps"] is not None else "",
        doc["commission"],
        doc["settled_period"] or "",
        doc["review"]["status"] if doc["review"] else "",
    ]


def csv_lines(orders: Iterable[Order], tz: ZoneInfo) -> Iterator[str]:
    """A header row, then a row per order (CRLF line ends), about ``CSV_BATCH``
    characters at a time."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for order in orders:
        writer.writerow(_row(order, tz))
        if out.tell() >= CSV_BATCH:
            yield _drain(out)
    yield _drain(out)


def _drain(out: io.StringIO) -> str:
    text = out.getvalue()
    out.seek(0)
    out.truncate()
    return text
