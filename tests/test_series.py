"""A link's per-day series (``GET /api/v1/links/{id}/series``): clicks and money
per local day in the configured zone, orders on their paid day, GMV and
commission on the day of the event that moves them, summing to the link's stats;
a bounded range; creators see their own links'. And the rule itself,
``series.money_by_day``, without Flask or Redis."""

from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from redirector import create_app, orders, series
from redirector.clock import MockClock, ms_from_datetime
from redirector.config import Settings
from redirector.errors import InvalidField
from redirector.extension import context_of
from redirector.links import STAT_FIELDS
from redirector.orders import OrderEvent

from .conftest import ADMIN_TOKEN, SHANGHAI, Api, Browser, Shop, error_of, mock_clock, snapshot

UTC = ZoneInfo("UTC")
SENT = itertools.count()  # ids unique over a property test's examples
DAY = 86_400_000


def series_of(api: Api, link: dict[str, Any], query: str = "", token: str = ADMIN_TOKEN) -> Any:
    return api.ok("GET", f"/api/v1/links/{link['id']}/series?{query}", token=token)


def day_of(doc: dict[str, Any], day: str) -> dict[str, int]:
    return next(d for d in doc["days"] if d["date"] == day)


def money(day: dict[str, int]) -> tuple[int, int, int]:
    return day["orders"], day["gmv"], day["commission"]


# -- the rule ------------------------------------------------------------------------------------


def test_orders_count_on_the_paid_day_and_money_on_the_events_day() -> None:
    paid = ms_from_datetime(datetime(2026, 11, 20, 23, 30, tzinfo=SHANGHAI))
    cancelled = paid + 2 * DAY
    moved = {"orders": -1, "gmv": -12800, "commission": -1920}
    assert series.money_by_day(moved, cancelled, paid, SHANGHAI) == [
        ("2026-11-20:orders", -1),
        ("2026-11-22:gmv", -12800),
        ("2026-11-22:commission", -1920),
    ]
    # The same instants, another zone: other days (23:30 in Shanghai is 15:30 UTC).
    assert series.money_by_day({"orders": 1}, paid, paid, ZoneInfo("America/New_York")) == [
        ("2026-11-20:orders", 1)
    ]
    assert series.money_by_day({"gmv": 5}, paid + DAY // 24, paid, SHANGHAI) == [
        ("2026-11-21:gmv", 5)
    ]
    # Nothing moved, nothing written.
    assert series.money_by_day({"orders": 0, "gmv": 0}, paid, paid, SHANGHAI) == []


@pytest.mark.parametrize(
    ("first", "last", "field"),
    [
        ("2026-11-21", "2026-11-20", "from"),
        ("2025-11-19", "2026-11-20", "from"),  # 367 days
        ("2026-02-30", None, "from"),
        ("2026-1-05", None, "from"),
        ("２026-01-05", None, "from"),
        ("1999-12-31", "2000-01-01", "from"),
        (None, "3000-01-01", "to"),
        (None, "today", "to"),
    ],
)
def test_a_range_out_of_bounds_or_not_dates_is_refused_naming_the_field(
    first: str | None, last: str | None, field: str
) -> None:
    with pytest.raises(InvalidField) as refused:
        series.date_range(first, last, date(2026, 11, 20))
    assert refused.value.to_json()["error"]["fields"][0]["field"] == field


def test_the_range_defaults_to_thirty_days_ending_today_and_spans_at_most_366() -> None:
    today = date(2026, 11, 20)
    assert series.date_range(None, None, today) == (date(2026, 10, 22), today)
    assert series.date_range(None, "2026-01-10", today) == (date(2025, 12, 12), date(2026, 1, 10))
    assert series.date_range("2025-11-20", None, today) == (date(2025, 11, 20), today)  # 366 days
    assert series.date_range(None, "2000-01-05", today) == (date(2000, 1, 1), date(2000, 1, 5))


# -- through the API ---------------------------------------------------------------------------


@pytest.fixture
def link(api: Api, world: dict[str, Any]) -> dict[str, Any]:
    return api.link(world["alice"], "tea")


def test_every_day_of_the_range_is_there_zeros_included(
    api: Api, link: dict[str, Any], clock: MockClock
) -> None:
    doc = series_of(api, link, "from=2026-11-18&to=2026-11-22")
    assert doc["link_id"] == link["id"]
    assert doc["timezone"] == "Asia/Shanghai"
    assert (doc["from"], doc["to"]) == ("2026-11-18", "2026-11-22")
    assert [d["date"] for d in doc["days"]] == [f"2026-11-{n}" for n in range(18, 23)]
    assert all(set(d) == {"date", *series.FIELDS} for d in doc["days"])
    assert doc["totals"] == dict.fromkeys(series.FIELDS, 0)
    default = series_of(api, link)
    assert (default["from"], default["to"]) == ("2026-10-22", "2026-11-20")  # T0's day
    assert len(default["days"]) == 30


def test_the_series_places_clicks_and_money_and_sums_to_the_links_stats(
    app: Any, api: Api, link: dict[str, Any], shop: Shop, clock: MockClock
) -> None:
    start = datetime(2026, 11, 20, 23, 50, tzinfo=SHANGHAI)
    clock.set(start)
    first = Browser(app).click(link)
    Browser(app, "Googlebot/2.1 (+http://www.google.com/bot.html)").click(link)
    clock.set(start + timedelta(minutes=20))  # 00:10 on the 21st, local
    second = Browser(app).click(link)
    clock.set(start + timedelta(minutes=21))  # a minute on: no instant conversion held
    shop.ok("o-1", "paid", 10000, click_id=first)  # paid on the 21st
    shop.ok("o-2", "paid", 20000, click_id=second)
    clock.set(start + timedelta(days=1))  # the 21st, 23:50
    shop.ok("o-1", "confirmed", 10000)
    clock.set(start + timedelta(days=2))  # the 22nd
    shop.ok("o-1", "refunded", 10000, refunded_amount=4000)
    clock.set(start + timedelta(days=3))  # the 23rd
    shop.ok("o-2", "cancelled", 20000)

    doc = series_of(api, link, "from=2026-11-20&to=2026-11-24")
    first_day = day_of(doc, "2026-11-20")
    assert (first_day["clicks"], first_day["unique_clicks"], first_day["bot_clicks"]) == (1, 1, 1)
    assert money(first_day) == (0, 0, 0)
    paid_day = day_of(doc, "2026-11-21")
    assert paid_day["clicks"] == 1
    # o-2's cancellation takes it off its paid day; its money off the cancellation's day.
    assert money(paid_day) == (1, 30000, 4500)
    assert money(day_of(doc, "2026-11-22")) == (0, -4000, -600)
    assert money(day_of(doc, "2026-11-23")) == (0, -20000, -3000)
    stats = api.ok("GET", f"/api/v1/links/{link['id']}")["stats"]
    assert {name: doc["totals"][name] for name in STAT_FIELDS} == stats


def test_a_rejected_order_leaves_the_series_as_it_leaves_the_stats(
    app: Any, api: Api, link: dict[str, Any], shop: Shop, clock: MockClock
) -> None:
    click = Browser(app).click(link)
    shop.ok("o-1", "paid", 10000, click_id=click)  # within seconds of its click: held
    assert api.ok("GET", "/api/v1/orders/taobao/o-1")["review"]["status"] == "held"
    clock.set(clock.now() + timedelta(days=1))
    api.ok("POST", "/api/v1/orders/taobao/o-1/reject")
    doc = series_of(api, link, "from=2026-11-20&to=2026-11-21")
    assert money(day_of(doc, "2026-11-20")) == (0, 10000, 1500)
    assert money(day_of(doc, "2026-11-21")) == (0, -10000, -1500)
    stats = api.ok("GET", f"/api/v1/links/{link['id']}")["stats"]
    assert {name: doc["totals"][name] for name in STAT_FIELDS} == stats


def test_days_are_local_in_the_configured_zone_for_clicks_and_money(
    settings: Settings, store: Any, world: dict[str, Any]
) -> None:
    app = create_app(settings.with_overrides(timezone=UTC), store=store)
    api = Api(app.test_client())
    clock = mock_clock(app)
    # 00:30 on the 21st in Shanghai is 16:30 on the 20th in UTC.
    clock.set(datetime(2026, 11, 21, 0, 30, tzinfo=SHANGHAI))
    link = api.link(world["alice"], "tea")
    click = Browser(app).click(link)
    clock.set(clock.now() + timedelta(minutes=5))
    Shop(app.test_client(), clock, world["shop"]["signing_secret"]).ok(
        "o-1", "paid", 10000, click_id=click
    )
    doc = api.ok("GET", f"/api/v1/links/{link['id']}/series?from=2026-11-20&to=2026-11-21")
    assert doc["timezone"] == "UTC"
    assert (day_of(doc, "2026-11-20")["clicks"], money(day_of(doc, "2026-11-20"))) == (
        1,
        (1, 10000, 1500),
    )
    assert day_of(doc, "2026-11-21")["clicks"] == 0


def test_a_creator_reads_its_own_links_series_and_no_others(
    api: Api, link: dict[str, Any], world: dict[str, Any]
) -> None:
    assert series_of(api, link, token=world["alice"])["link_id"] == link["id"]
    error_of(api.call("GET", f"/api/v1/links/{link['id']}/series", token=world["bob"]), 404)
    error_of(api.call("GET", "/api/v1/links/nolinkhere/series"), 404)
    error_of(api.call("GET", "/api/v1/links/AbCdE12345/series"), 404)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("days=7", "days"),
        ("from_=2026-11-01", "from_"),
        ("from=2026-11-21&to=2026-11-20", "from"),
        ("from=2025-11-01&to=2026-11-20", "from"),
        ("from=20261101", "from"),
        ("to=2026-11-31", "to"),
        ("to=" + "9" * 11, "to"),
    ],
)
def test_an_unknown_parameter_or_a_bad_range_is_422(
    api: Api, link: dict[str, Any], store: Any, query: str, field: str
) -> None:
    before = snapshot(store)
    answer = api.call("GET", f"/api/v1/links/{link['id']}/series?{query}")
    assert [f["field"] for f in error_of(answer, 422)["fields"]] == [field]
    assert snapshot(store) == before


# -- the series sums to the stats, whatever the events -----------------------------------------

LIVES = st.lists(
    st.tuples(
        st.integers(0, 6 * 24),  # paid, hours after the click
        st.integers(1, 500).map(lambda n: n * 100),  # amount
        st.sampled_from(["paid", "confirmed", "refunded", "cancelled"]),
        st.integers(1, 3 * 24),  # hours from one event to the next
    ),
    min_size=1,
    max_size=6,
)


@hypothesis_settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(lives=LIVES)
def test_the_series_always_sums_to_the_links_stats(
    app: Any, api: Api, link: dict[str, Any], clock: MockClock, lives: list[Any]
) -> None:
    ctx = context_of(app)
    click_at = datetime(2026, 11, 1, 12, tzinfo=SHANGHAI)
    clock.set(click_at)
    click = Browser(app).click(link)
    clock.set(click_at + timedelta(days=12))

    def send(order_id: str, status: str, amount: int, at: datetime, **kw: Any) -> None:
        event = OrderEvent(
            f"w-{next(SENT)}",
            order_id,
            status,
            amount,
            "CNY",
            ms_from_datetime(at),
            clock.now_ms(),
            **kw,
        )
        orders.receive(ctx, "taobao", event)

    for paid_hours, amount, fate, gap in lives:
        order_id = f"o-{next(SENT)}"
        at = click_at + timedelta(hours=paid_hours, minutes=1)
        send(order_id, "paid", amount, at, click_id=click)
        if fate in ("confirmed", "refunded"):
            send(order_id, "confirmed", amount, at + timedelta(hours=gap))
        if fate == "refunded":
            send(
                order_id,
                "refunded",
                amount,
                at + timedelta(hours=2 * gap),
                refunded_amount=amount // 3,
            )
        if fate == "cancelled":
            send(order_id, "cancelled", amount, at + timedelta(hours=gap))
    doc = series_of(api, link, "from=2026-11-01&to=2026-11-13")
    stats = api.ok("GET", f"/api/v1/links/{link['id']}")["stats"]
    assert {name: doc["totals"][name] for name in STAT_FIELDS} == stats
