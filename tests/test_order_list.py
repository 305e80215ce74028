"""The orders list (``GET /api/v1/orders``): newest paid first, filtered by status,
creator, storefront and the month of ``paid_at``, paged by an opaque cursor that
lists every matching order exactly once, also while orders arrive and move; a
creator sees its own; CSV streams them all; an unknown parameter is 422. And
``reindex``, which places the orders written before the lists existed."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

import redirector.cli
from redirector import keys, orders, paging
from redirector.api import list_schemas
from redirector.clock import MockClock, ms_from_datetime
from redirector.extension import context_of
from redirector.orders import OrderEvent, listing
from redirector.orders.listing import Position, Query
from redirector.periods import Period

from .conftest import (
    SHANGHAI,
    Api,
    Browser,
    Shop,
    advance,
    error_of,
    real_redis_url,
    snapshot,
)

# Clicks at BASE; orders paid from BASE on, across the end of November (local).
BASE = datetime(2026, 11, 30, 12, 0, tzinfo=SHANGHAI)
DECEMBER = datetime(2026, 12, 1, 0, 0, tzinfo=SHANGHAI)
PEN = {
    "storefront_id": "youzan",
    "title": "Brush pen",
    "price": 3000,
    "commission_rate_bps": 1000,
    "web_url": "https://shop.youzan.com/pen",
}


@dataclass
class Placed:
    """An order as the test knows it."""

    ref: str
    paid_ms: int
    storefront_id: str
    creator_id: str | None
    status: str
    amount: int


class Market:
    """Two storefronts, alice's and bob's links on each, clicked once at ``BASE``;
    orders written through the write path itself (``orders.receive``), no HTTP."""

    def __init__(self, app: Any, api: Api, clock: MockClock, world: dict[str, Any]) -> None:
        self.ctx = context_of(app)
        self.api = api
        self.clock = clock
        self.world = world
        clock.set(BASE)
        api.ok(
            "PUT", "/api/v1/storefronts/youzan", {"name": "Youzan", "hosts": ["shop.youzan.com"]}
        )
        api.ok("PUT", "/api/v1/products/pen", PEN)
        self.clicks: dict[tuple[str, str], str] = {}
        self.links: dict[tuple[str, str], dict[str, Any]] = {}
        for storefront_id, product in (("taobao", "tea"), ("youzan", "pen")):
            for creator in ("alice", "bob"):
                link = api.link(world[creator], product)
                self.links[storefront_id, creator] = link
                self.clicks[storefront_id, creator] = Browser(app).click(link)
        clock.set(BASE + timedelta(days=2))
        self.placed: dict[str, Placed] = {}
        self.sent = 0

    def event(self, storefront_id: str, order_id: str, status: str, amount: int, **kw: Any) -> Any:
        self.sent += 1
        at = kw.pop("at", None) or self.clock.now()
        event = OrderEvent(
            webhook_id=f"w-{self.sent}",
            order_id=order_id,
            status=status,
            amount=amount,
            currency="CNY",
            occurred_ms=ms_from_datetime(at),
            received_ms=self.clock.now_ms(),
            **kw,
        )
        return orders.receive(self.ctx, storefront_id, event)[0]

    def pay(
        self,
        storefront_id: str,
        order_id: str,
        creator: str | None,
        at: datetime,
        amount: int = 1000,
    ) -> Placed:
        click = self.clicks[storefront_id, creator] if creator else None
        answer = self.event(storefront_id, order_id, "paid", amount, at=at, click_id=click)
        assert (answer["attributed"] or {}).get("creator_id") == creator
        placed = Placed(
            f"{storefront_id}:{order_id}",
            ms_from_datetime(at),
            storefront_id,
            creator,
            "paid",
            amount,
        )
        self.placed[placed.ref] = placed
        return placed

    def move(self, placed: Placed, status: str) -> None:
        storefront_id, order_id = placed.ref.split(":", 1)
        if status == "refunded":
            self.event(storefront_id, order_id, "confirmed", placed.amount)
        extra = {"refunded_amount": placed.amount // 2} if status == "refunded" else {}
        self.event(storefront_id, order_id, status, placed.amount, **extra)
        placed.status = status

    def expected(self, query: Query) -> list[str]:
        """The refs the query lists, in the list's order."""
        tz = SHANGHAI

        def month(o: Placed) -> Period:
            moment = datetime.fromtimestamp(o.paid_ms / 1000, tz)
            return Period(moment.year, moment.month)

        chosen = [
            o
            for o in self.placed.values()
            if query.status in (None, o.status)
            and query.creator_id in (None, o.creator_id)
            and query.storefront_id in (None, o.storefront_id)
            and query.period in (None, month(o))
        ]
        return [o.ref for o in sorted(chosen, key=lambda o: (o.paid_ms, o.ref), reverse=True)]


@pytest.fixture
def market(app: Any, api: Api, clock: MockClock, world: dict[str, Any]) -> Market:
    return Market(app, api, clock, world)


def drain(ctx: Any, query: Query, limit: int, budget: int = listing.SCAN_BUDGET) -> list[str]:
    """Every page of a query, through ``listing.page``; checks each page's bounds."""
    refs: list[str] = []
    after = None
    for _ in range(10_000):
        page = listing.page(ctx, query, after, limit, budget)
        assert len(page.orders) <= limit
        refs += [o.ref for o in page.orders]
        if page.next is None:
            return refs
        after = page.next
    raise AssertionError("the pages never ended")


def listed(api: Api, query: str = "", token: str | None = None) -> list[dict[str, Any]]:
    """Every page of ``GET /api/v1/orders?<query>`` through the API."""
    items: list[dict[str, Any]] = []
    cursor = ""
    for _ in range(1000):
        path = f"/api/v1/orders?{query}" + (f"&cursor={cursor}" if cursor else "")
        kw = {"token": token} if token else {}
        page = api.ok("GET", path, **kw)
        assert set(page) == {"items", "next_cursor"}
        items += page["items"]
        if page["next_cursor"] is None:
            return items
        cursor = page["next_cursor"]
    raise AssertionError("the pages never ended")


# -- the order and the documents ---------------------------------------------------------------


def test_orders_are_listed_newest_paid_first_whatever_their_arrival(
    market: Market, api: Api
) -> None:
    # Arrival order o-1, o-2, o-3; paid order o-2, o-3, o-1.
    market.pay("taobao", "o-1", "alice", BASE + timedelta(hours=3))
    market.pay("taobao", "o-2", None, BASE + timedelta(hours=1))
    market.pay("taobao", "o-3", "bob", BASE + timedelta(hours=2))
    items = api.ok("GET", "/api/v1/orders")["items"]
    assert [i["order_id"] for i in items] == ["o-1", "o-3", "o-2"]
    assert items[0]["paid_at"] == "2026-11-30T15:00:00.000+08:00"
    assert items[0]["attributed"]["creator_id"] == "alice"
    assert items[2]["attributed"] is None
    # A list shows the order's record, without its history.
    record = api.ok("GET", "/api/v1/orders/taobao/o-1")
    assert items[0] == {k: v for k, v in record.items() if k != "history"}
    assert set(items[0]) == set(list_schemas.OrderSummary.model_fields)


def test_orders_paid_in_the_same_millisecond_come_by_reference_descending(
    market: Market, api: Api
) -> None:
    at = BASE + timedelta(hours=1)
    for order_id in ("B-2", "a-1", "B-10", "b-3"):
        market.pay("taobao", order_id, None, at)
    market.pay("youzan", "Z", None, at)
    by_one = [i["order_id"] for i in listed(api, "limit=1")]
    assert by_one == ["Z", "b-3", "a-1", "B-2", "B-10"]  # youzan:… > taobao:…, bytewise


def test_a_page_says_where_the_next_starts_and_the_last_says_none(market: Market, api: Api) -> None:
    for n in range(5):
        market.pay("taobao", f"o-{n}", None, BASE + timedelta(minutes=n))
    first = api.ok("GET", "/api/v1/orders?limit=2")
    assert [i["order_id"] for i in first["items"]] == ["o-4", "o-3"]
    second = api.ok("GET", f"/api/v1/orders?limit=2&cursor={first['next_cursor']}")
    assert [i["order_id"] for i in second["items"]] == ["o-2", "o-1"]
    last = api.ok("GET", f"/api/v1/orders?limit=2&cursor={second['next_cursor']}")
    assert [i["order_id"] for i in last["items"]] == ["o-0"]
    assert last["next_cursor"] is None
    # A page that ends exactly with the list says so: no empty page follows.
    exact = api.ok("GET", "/api/v1/orders?limit=5")
    assert len(exact["items"]) == 5 and exact["next_cursor"] is None


# -- filters -----------------------------------------------------------------------------------


def test_each_filter_and_their_combinations(market: Market, api: Api) -> None:
    nov, dec = BASE + timedelta(hours=1), DECEMBER + timedelta(hours=1)
    a = market.pay("taobao", "a", "alice", nov)
    b = market.pay("taobao", "b", "bob", dec)
    c = market.pay("youzan", "c", "alice", dec)
    d = market.pay("youzan", "d", None, nov)
    market.move(a, "confirmed")
    market.move(c, "cancelled")
    market.move(d, "refunded")

    def ids(query: str) -> list[str]:
        return [i["order_id"] for i in listed(api, query)]

    assert ids("") == ["c", "b", "d", "a"]
    assert ids("status=paid") == ["b"]
    assert ids("status=confirmed") == ["a"]
    assert ids("status=cancelled") == ["c"]
    assert ids("status=refunded") == ["d"]
    assert ids("creator_id=alice") == ["c", "a"]
    assert ids("creator_id=bob") == ["b"]
    assert ids("storefront_id=youzan") == ["c", "d"]
    assert ids("period=2026-11") == ["d", "a"]
    assert ids("period=2026-12") == ["c", "b"]
    assert ids("period=2027-01") == []
    assert ids("creator_id=alice&storefront_id=youzan") == ["c"]
    assert ids("creator_id=alice&period=2026-11&status=confirmed") == ["a"]
    assert ids("storefront_id=taobao&status=paid&period=2026-12") == ["b"]
    assert ids("creator_id=nobody") == []
    assert b.status == "paid"


def test_a_status_change_moves_the_order_between_status_lists_in_one_write(
    market: Market, store: Any
) -> None:
    placed = market.pay("taobao", "o-1", "alice", BASE + timedelta(hours=1))
    assert store.zscore(keys.status_orders("paid"), placed.ref) == placed.paid_ms
    market.move(placed, "confirmed")
    assert store.zscore(keys.status_orders("paid"), placed.ref) is None
    assert store.zscore(keys.status_orders("confirmed"), placed.ref) == placed.paid_ms
    # A replayed or same-status event moves nothing.
    before = snapshot(store)
    market.event("taobao", "o-1", "confirmed", placed.amount)
    after = snapshot(store)
    assert {k: v for k, v in after.items() if "status-orders" in k} == {
        k: v for k, v in before.items() if "status-orders" in k
    }


def test_the_index_read_is_the_smallest_one_the_filters_name_in_the_period(
    market: Market,
) -> None:
    for n in range(6):
        market.pay("taobao", f"t-{n}", "alice", BASE + timedelta(minutes=n + 1))
    market.pay("youzan", "y-0", "alice", BASE + timedelta(minutes=30))
    for n in range(10):
        market.pay("taobao", f"b-{n}", "bob", DECEMBER + timedelta(minutes=n))
    r = market.ctx.store

    def chosen(query: Query) -> str:
        return listing._chosen(r, query, query.bounds(SHANGHAI))

    assert chosen(Query(creator_id="alice", storefront_id="youzan")) == keys.storefront_orders(
        "youzan"
    )
    # Alice has 7 orders, taobao 16; in November, alice 7 and taobao 6.
    assert chosen(Query(creator_id="alice", storefront_id="taobao")) == keys.creator_orders("alice")
    november = Query(creator_id="alice", storefront_id="taobao", period=Period(2026, 11))
    assert chosen(november) == keys.storefront_orders("taobao")
    assert drain(market.ctx, november, 3) == [f"taobao:t-{n}" for n in reversed(range(6))]


def test_a_page_that_runs_out_of_budget_comes_back_short_with_a_cursor(market: Market) -> None:
    for n in range(2):
        market.pay("taobao", f"t-{n}", "alice", BASE + timedelta(minutes=n + 1))
    for n in range(8):
        market.pay("youzan", f"y-{n}", "alice", BASE + timedelta(minutes=10 + n))
    for n in range(12):
        market.pay("taobao", f"b-{n}", "bob", BASE + timedelta(minutes=30 + n))
    # Alice's index (10) is read, not taobao's (14): her youzan orders come first.
    query = Query(creator_id="alice", storefront_id="taobao")
    page = listing.page(market.ctx, query, None, 10, budget=3)
    assert page.orders == []  # y-7, y-6, y-5 read: none is on taobao
    assert page.next == Position(market.placed["youzan:y-5"].paid_ms, "youzan:y-5")
    assert drain(market.ctx, query, 10, budget=3) == ["taobao:t-1", "taobao:t-0"]


# -- paging: every order exactly once ------------------------------------------------------------

ORDER_SPECS = st.lists(
    st.tuples(
        st.sampled_from(["taobao", "youzan"]),
        st.sampled_from(["alice", "bob", None]),
        st.integers(0, 7),  # paid hour after BASE: few values, so many ties
        st.sampled_from(["paid", "paid", "confirmed", "cancelled", "refunded"]),
    ),
    max_size=10,
)
QUERIES = st.builds(
    Query,
    status=st.sampled_from([None, "paid", "confirmed", "cancelled", "refunded"]),
    creator_id=st.sampled_from([None, "alice", "bob"]),
    storefront_id=st.sampled_from([None, "taobao", "youzan"]),
    period=st.sampled_from([None, Period(2026, 11), Period(2026, 12)]),
)
FEW = hypothesis_settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def place(market: Market, specs: list[tuple[str, str | None, int, str]]) -> None:
    for storefront_id, creator, hour, status in specs:
        order_id = f"h{len(market.placed)}"
        placed = market.pay(storefront_id, order_id, creator, BASE + timedelta(hours=6 * hour))
        if status != "paid":
            market.move(placed, status)


@FEW
@given(specs=ORDER_SPECS, query=QUERIES, limit=st.integers(1, 7), budget=st.integers(1, 12))
def test_pages_list_every_matching_order_exactly_once_in_order(
    market: Market,
    specs: list[tuple[str, str | None, int, str]],
    query: Query,
    limit: int,
    budget: int,
) -> None:
    # The orders accumulate over the examples: later ones page through more.
    place(market, specs)
    assert drain(market.ctx, query, limit, budget) == market.expected(query)


@FEW
@given(
    first=ORDER_SPECS,
    arriving=st.lists(ORDER_SPECS, min_size=1, max_size=4),
    query=QUERIES,
    limit=st.integers(1, 5),
)
def test_orders_arriving_while_paging_never_repeat_or_hide_one_that_was_there(
    market: Market,
    first: list[tuple[str, str | None, int, str]],
    arriving: list[list[tuple[str, str | None, int, str]]],
    query: Query,
    limit: int,
) -> None:
    place(market, first)
    before = market.expected(query)
    seen: list[str] = []
    after = None
    for batch in [*arriving, *([[]] * 1000)]:
        page = listing.page(market.ctx, query, after, limit)
        seen += [o.ref for o in page.orders]
        if page.next is None:
            break
        after = page.next
        place(market, batch)  # between two pages
    assert len(seen) == len(set(seen))
    assert set(before) <= set(seen)
    assert set(seen) <= set(market.expected(query))
    # And what was listed is in the list's order.
    order = {ref: i for i, ref in enumerate(market.expected(query))}
    assert seen == sorted(seen, key=order.__getitem__)


# -- who sees what ---------------------------------------------------------------------------


def test_a_creator_lists_only_the_orders_attributed_to_it(
    market: Market, api: Api, world: dict[str, Any]
) -> None:
    market.pay("taobao", "a-1", "alice", BASE + timedelta(hours=1))
    market.pay("youzan", "a-2", "alice", BASE + timedelta(hours=2))
    market.pay("taobao", "b-1", "bob", BASE + timedelta(hours=3))
    market.pay("taobao", "n-1", None, BASE + timedelta(hours=4))
    alice, bob = world["alice"], world["bob"]
    assert [i["order_id"] for i in listed(api, "", alice)] == ["a-2", "a-1"]
    assert [i["order_id"] for i in listed(api, "creator_id=alice", alice)] == ["a-2", "a-1"]
    assert [i["order_id"] for i in listed(api, "storefront_id=taobao", alice)] == ["a-1"]
    assert [i["order_id"] for i in listed(api, "", bob)] == ["b-1"]
    refused = api.call("GET", "/api/v1/orders?creator_id=bob", token=alice)
    assert "attributed to it" in error_of(refused, 403)["message"]
    csv_refused = api.call("GET", "/api/v1/orders?format=csv&creator_id=bob", token=alice)
    error_of(csv_refused, 403)
    # The admin sees all, unattributed included.
    assert len(listed(api)) == 4


def test_a_cursor_serves_only_the_query_it_came_from(market: Market, api: Api, world: Any) -> None:
    for n in range(3):
        market.pay("taobao", f"o-{n}", "alice", BASE + timedelta(hours=n))
    alices = api.ok("GET", "/api/v1/orders?limit=1", token=world["alice"])["next_cursor"]
    # The admin's list without a filter is another list: the cursor is refused, not misread.
    other = api.call("GET", f"/api/v1/orders?limit=1&cursor={alices}")
    assert error_of(other, 422)["fields"][0]["field"] == "cursor"
    same = api.ok("GET", f"/api/v1/orders?limit=1&creator_id=alice&cursor={alices}")
    assert [i["order_id"] for i in same["items"]] == ["o-1"]


# -- refused queries ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("sort=paid", "sort"),
        ("offset=10", "offset"),
        ("status=held", "status"),
        ("status=", "status"),
        ("period=2026-13", "period"),
        ("period=26-11", "period"),
        ("period=%EF%BC%92026-11", "period"),
        ("limit=0", "limit"),
        ("limit=1001", "limit"),
        ("limit=ten", "limit"),
        ("creator_id=Not%20A%20Slug", "creator_id"),
        ("storefront_id=taobao:x", "storefront_id"),
        ("format=xml", "format"),
        ("cursor=nonsense", "cursor"),
        ("cursor=" + "A" * 600, "cursor"),
        ("cursor=WyJhIl0", "cursor"),  # ["a"]: base64 JSON of the wrong shape
        ("cursor=WyJ4IiwxLCJ5Il0", "cursor"),  # ["x",1,"y"]: another query's
        ("cursor=WyJ4Iix0cnVlLCJ5Il0", "cursor"),  # ["x",true,"y"]
        ("cursor=" + paging.cursor([Query().label(), 10**30, "x:y"]), "cursor"),
        ("cursor=" + paging.cursor([Query().label(), -(10**30), "x:y"]), "cursor"),
        ("format=csv&limit=10", "limit"),
        ("format=csv&cursor=WyJ4IiwxLCJ5Il0", "cursor"),
    ],
)
def test_an_unknown_parameter_or_a_bad_value_is_422_naming_it(
    market: Market, api: Api, store: Any, query: str, field: str
) -> None:
    market.pay("taobao", "o-1", "alice", BASE + timedelta(hours=1))
    before = snapshot(store)
    error = error_of(api.call("GET", f"/api/v1/orders?{query}"), 422)
    assert [f["field"] for f in error["fields"]] == [field], error
    assert snapshot(store) == before


def test_the_status_choices_are_the_lifecycles() -> None:
    documented = list_schemas.OrderListQuery.model_json_schema()["properties"]["status"]
    assert tuple(documented["anyOf"][0]["enum"]) == orders.STATUSES


# -- CSV ---------------------------------------------------------------------------------------


def test_the_csv_export_holds_every_matching_order_in_the_lists_order(
    market: Market, api: Api, world: dict[str, Any]
) -> None:
    for n in range(7):
        creator = ("alice", "bob", None)[n % 3]
        placed = market.pay("taobao", f"o-{n}", creator, BASE + timedelta(hours=n))
        if n == 2:
            market.move(placed, "refunded")
    answer = api.call("GET", "/api/v1/orders?format=csv")
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="orders.csv"' in answer.headers["Content-Disposition"]
    text = answer.get_data(as_text=True)
    assert text.endswith("\r\n")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0]) == list(listing.CSV_COLUMNS)
    items = listed(api, "limit=2")
    assert [r["order_id"] for r in rows] == [i["order_id"] for i in items]
    for row, item in zip(rows, items, strict=True):
        assert row["paid_at"] == item["paid_at"]
        assert int(row["amount"]) == item["amount"]
        assert int(row["commission"]) == item["commission"]
        assert row["creator_id"] == ((item["attributed"] or {}).get("creator_id") or "")
    refunded = next(r for r in rows if r["order_id"] == "o-2")
    assert refunded["status"] == "refunded" and int(refunded["refunded_amount"]) == 500
    assert refunded["refunded_at"].endswith("+08:00")
    # Filtered, and as a creator: the same rules as the pages.
    mine = api.call("GET", "/api/v1/orders?format=csv", token=world["alice"])
    assert [r["order_id"] for r in csv.DictReader(io.StringIO(mine.get_data(as_text=True)))] == [
        "o-6",
        "o-3",
        "o-0",
    ]
    empty = api.call("GET", "/api/v1/orders?format=csv&status=cancelled").get_data(as_text=True)
    assert empty == ",".join(listing.CSV_COLUMNS) + "\r\n"


def test_the_csv_export_is_streamed_a_chunk_at_a_time(market: Market, monkeypatch: Any) -> None:
    for n in range(5):
        market.pay("taobao", f"o-{n}", None, BASE + timedelta(hours=n))
    read: list[int] = []
    real_page = listing.page

    def counting(*args: Any, **kw: Any) -> Any:
        found = real_page(*args, **kw)
        read.append(len(found.orders))
        return found

    monkeypatch.setattr(listing, "page", counting)
    monkeypatch.setattr(listing, "EXPORT_CHUNK", 2)
    monkeypatch.setattr(listing, "CSV_BATCH", 1)
    lines = listing.csv_lines(listing.every(market.ctx, Query()), SHANGHAI)
    assert next(lines).startswith("storefront_id,")  # the header and the first row
    assert read == [2]  # no more read than the first chunk
    assert len(list(lines)) == 5  # a batch per row, then the empty rest
    assert read == [2, 2, 1]


# -- orders written before the lists -----------------------------------------------------------


def forget_lists(store: Any) -> None:
    """The store as an earlier version left it: no lists, no money by day, no mark."""
    for key in store.scan_iter(match=f"{keys.MONEY}:*"):
        if any(part in key for part in ("orders-paid", "-orders:", "link-daily:")):
            store.delete(key)
        elif key.startswith(keys.order("", "")[:-1]) and store.type(key) == "hash":
            store.hdel(key, "listed")


def test_reindex_places_older_orders_whole_and_only_once(
    market: Market, api: Api, store: Any
) -> None:
    a = market.pay("taobao", "a", "alice", BASE + timedelta(hours=1))
    b = market.pay("taobao", "b", None, BASE + timedelta(hours=2))
    market.move(a, "confirmed")
    forget_lists(store)
    assert listed(api) == []
    # Events for orders not yet placed add nothing to the lists or the money by day...
    market.event("taobao", "a", "refunded", 1000, refunded_amount=400)
    market.move(b, "cancelled")
    a.status = "refunded"
    assert listed(api) == []
    link = market.links["taobao", "alice"]
    assert store.hgetall(keys.link_money_daily(link["id"])) == {}
    # ...so that the replay of each whole history counts every event once.
    assert orders.reindex(market.ctx) == 2
    assert [i["order_id"] for i in listed(api)] == ["b", "a"]
    assert [i["order_id"] for i in listed(api, "status=refunded&creator_id=alice")] == ["a"]
    series = api.ok("GET", f"/api/v1/links/{link['id']}/series?from=2026-11-30&to=2026-12-02")
    days = {d["date"]: (d["orders"], d["gmv"], d["commission"]) for d in series["days"]}
    assert days == {
        "2026-11-30": (1, 1000, 150),
        "2026-12-01": (0, 0, 0),
        "2026-12-02": (0, -400, -60),
    }
    stats = api.ok("GET", f"/api/v1/links/{link['id']}")["stats"]
    assert [series["totals"][n] for n in ("orders", "gmv", "commission")] == [1, 600, 90]
    assert (stats["orders"], stats["gmv"], stats["commission"]) == (1, 600, 90)
    placed = snapshot(store)
    assert orders.reindex(market.ctx) == 0
    assert snapshot(store) == placed
    # From then on, the write path keeps it.
    market.event("taobao", "a", "refunded", 1000, refunded_amount=1000)
    assert store.hget(keys.link_money_daily(link["id"]), "2026-12-02:gmv") == "-1000"


@pytest.mark.skipif(
    not real_redis_url(), reason="the command builds its own store: needs REDIS_URL"
)
def test_the_reindex_command_says_how_many_it_placed(
    market: Market, store: Any, env: dict[str, str], monkeypatch: Any, runner: CliRunner, api: Api
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    market.pay("taobao", "a", "alice", BASE + timedelta(hours=1))
    forget_lists(store)
    first = runner.invoke(redirector.cli.main, ["reindex-orders"])
    assert first.exit_code == 0, first.output
    assert first.output.startswith("1 order(s) placed")
    assert [i["order_id"] for i in listed(api)] == ["a"]
    again = runner.invoke(redirector.cli.main, ["reindex-orders"])
    assert again.output.startswith("0 order(s) placed")


def test_the_clock_moving_back_still_lists_by_paid_time(market: Market, api: Api) -> None:
    # The mock clock may move back: the list follows paid_at, never arrival.
    market.pay("taobao", "late", None, BASE + timedelta(hours=5))
    advance(market.clock, days=-1)
    market.pay("taobao", "early", None, BASE + timedelta(hours=1))
    assert [i["order_id"] for i in listed(api)] == ["late", "early"]


def test_shop_callbacks_through_http_are_listed_too(
    app: Any, api: Api, shop: Shop, world: dict[str, Any]
) -> None:
    link = api.link(world["bob"], "cup")
    click = Browser(app).click(link)
    advance(shop.clock, minutes=5)
    shop.ok("TB-1", "paid", 5900, click_id=click)
    items = api.ok("GET", "/api/v1/orders?creator_id=bob")["items"]
    assert [(i["storefront_id"], i["order_id"]) for i in items] == [("taobao", "TB-1")]
