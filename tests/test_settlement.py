"""Settlement (docs/domain.md: Settlement, Orders, Clock; the statement, closing, ad-spend and
earnings endpoints).

Each test is one finance story told through the API: shoppers click creators'
links, the storefront posts signed order events as the mock clock moves through
the month, and the admin reads, closes and reconciles the periods. The month
test keeps its own books (``Ledger``) with its own arithmetic, so the service's
statement is checked against the rules, not against its own code.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import random
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

import redirector.cli
from redirector import extension, keys, period_placement, settlement
from redirector.clock import MockClock, ms_from_datetime
from redirector.config import PROGRAMS
from redirector.orders import writes
from redirector.periods import Period
from redirector.programs import default_programs
from redirector.settlement import Difference
from redirector.storefront_client import StorefrontClient
from tests.conftest import DESKTOP_CHROME, FIGURES, Api, real_redis_url, snapshot

TZ = ZoneInfo("Asia/Shanghai")
NOV, DEC = "2026-11", "2026-12"
# The first instant of December in Asia/Shanghai is 2026-11-30T16:00:00Z.
DEC_START = datetime(2026, 12, 1, tzinfo=TZ)
RATES = {"tea": 1500, "cup": 2000}  # the world's products, in bps
ACCOUNTS = {"alice": "agency:starlight", "bob": "creator:bob"}  # creator -> guide account
GUIDES = {"starlight": "agency:starlight", "bob": "creator:bob"}  # account id -> account
PLACEMENTS = [("alice", "weibo"), ("alice", "douyin"), ("bob", "kuaishou"), ("bob", "weibo")]
DEFAULT_SHARES = (1000, 3000, 6000)
# Shares that differ by channel, so the split's tie order is exercised: douyin's
# network and platform are equal (a tie there goes to network, the first named).
MONTH_SHARES = {
    "weibo": (1000, 3000, 6000),
    "douyin": (2500, 2500, 5000),
    "kuaishou": (1500, 3500, 5000),
}


def programs_toml(shares: dict[str, tuple[int, int, int]], holding: dict[str, int]) -> str:
    return "".join(
        f"[programs.{channel}]\nnetwork_bps = {n}\nplatform_bps = {p}\nguide_bps = {g}\n"
        f"window_days = 15\nholding_days = {holding.get(channel, 0)}\n\n"
        for channel, (n, p, g) in shares.items()
    )


MONTH_PROGRAMS = programs_toml(MONTH_SHARES, {})
WEIBO_HOLDS_10_DAYS = programs_toml(dict.fromkeys(MONTH_SHARES, DEFAULT_SHARES), {"weibo": 10})


@pytest.fixture
def env(env: dict[str, str], request: Any, tmp_path: Path) -> dict[str, str]:
    """The conftest environment; ``parametrize("env", [toml], indirect=True)`` adds a
    programs file before the app is built."""
    text = getattr(request, "param", None)
    if text:
        path = tmp_path / "programs.toml"
        path.write_text(text, encoding="utf-8")
        env[PROGRAMS] = str(path)
    return env


# -- the test's own arithmetic (docs/domain.md, Orders and Settlement) -------------------


def half_up(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded half up (non-negative numerators only)."""
    assert numerator >= 0
    whole, rest = divmod(numerator, denominator)
    return whole + (1 if 2 * rest >= denominator else 0)


def commission(amount: int, refunded: int, product: str) -> int:
    return half_up((amount - refunded) * RATES[product], 10_000)


def largest_remainder(total: int, shares: tuple[int, int, int]) -> list[int]:
    """Floors of the exact shares, then one unit each to the largest fractional parts;
    ties to the larger share, then network, platform, guide. A negative total (an
    adjustment) mirrors the split of its magnitude."""
    if total < 0:
        return [-part for part in largest_remainder(-total, shares)]
    exact = [Fraction(total * bps, 10_000) for bps in shares]
    parts = [int(x) for x in exact]  # floor: non-negative
    ranked = sorted(range(3), key=lambda i: (exact[i] - parts[i], shares[i], -i), reverse=True)
    for i in ranked[: total - sum(parts)]:
        parts[i] += 1
    return parts


def month_of(moment: datetime) -> str:
    local = moment.astimezone(TZ)
    return f"{local.year:04d}-{local.month:02d}"


def next_month(period: str) -> str:
    year, month = map(int, period.split("-"))
    return f"{year + month // 12:04d}-{month % 12 + 1:02d}"


@dataclass
class Sale:
    creator: str
    channel: str
    product: str
    amount: int
    refunded: int = 0
    commission: int = 0
    settled: str | None = None


def _figures() -> dict[str, int]:
    return {"orders": 0, "gmv": 0, "commission": 0}


@dataclass
class Book:
    figures: dict[str, int] = field(default_factory=_figures)
    creators: dict[str, dict[str, int]] = field(default_factory=dict)
    order_ids: set[str] = field(default_factory=set)


class Ledger:
    """The month as docs/domain.md tells it, kept by the test from the events it sends."""

    def __init__(self, shares: dict[str, tuple[int, int, int]]) -> None:
        self.shares = shares
        self.sales: dict[str, Sale] = {}
        self.closed: set[str] = set()
        self.books: dict[tuple[str, bool, str, str], Book] = {}
        self.spend: dict[str, dict[str, int]] = defaultdict(dict)
        self.frozen: dict[str, dict[str, Any]] = {}

    def first_open(self, period: str) -> str:
        while period in self.closed:
            period = next_month(period)
        return period

    def _move(self, period: str, adjustment: bool, order_id: str, orders: int, gmv: int, c: int):
        sale = self.sales[order_id]
        key = (period, adjustment, ACCOUNTS[sale.creator], sale.channel)
        book = self.books.setdefault(key, Book())
        for target in (book.figures, book.creators.setdefault(sale.creator, _figures())):
            target["orders"] += orders
            target["gmv"] += gmv
            target["commission"] += c
        if adjustment:
            book.order_ids.add(f"taobao:{order_id}")

    def paid(self, order_id: str, creator: str, channel: str, product: str, amount: int) -> None:
        sale = Sale(creator, channel, product, amount, commission=commission(amount, 0, product))
        self.sales[order_id] = sale

    def confirmed(self, order_id: str, when: datetime) -> None:
        sale = self.sales[order_id]
        sale.settled = self.first_open(month_of(when))
        self._move(sale.settled, False, order_id, 1, sale.amount, sale.commission)

    def refunded(self, order_id: str, when: datetime, total: int) -> None:
        sale = self.sales[order_id]
        assert sale.settled is not None
        now_due = commission(sale.amount, total, sale.product)
        gmv, c = -(total - sale.refunded), now_due - sale.commission
        if sale.settled in self.closed:
            self._move(self.first_open(month_of(when)), True, order_id, 0, gmv, c)
        else:
            self._move(sale.settled, False, order_id, 0, gmv, c)
        sale.refunded, sale.commission = total, now_due

    def cancelled(self, order_id: str) -> None:
        self.sales[order_id].commission = 0

    def ad_spend(self, period: str, account: str, amount: int) -> None:
        self.spend[period][account] = amount

    def close(self, period: str, at: datetime) -> None:
        doc = self.statement(period, "closed")
        doc["closed_at"] = at
        self.frozen[period] = doc
        self.closed.add(period)

    def statement(self, period: str, status: str) -> dict[str, Any]:
        if period in self.frozen:
            return self.frozen[period]
        spend = self.spend[period]
        ordered = sorted(
            (key for key in self.books if key[0] == period),
            key=lambda k: (k[1], k[2], k[3]),  # regular lines first, then by account, channel
        )
        lines = []
        for _, adjustment, account, channel in ordered:
            book = self.books[(period, adjustment, account, channel)]
            network, platform, guide = largest_remainder(
                book.figures["commission"], self.shares[channel]
            )
            account_type, account_id = account.split(":")
            line: dict[str, Any] = {
                "account_id": account_id,
                "account_type": account_type,
                "channel": channel,
                **book.figures,
                "network": network,
                "platform": platform,
                "guide": guide,
                "ad_spend": spend.get(account, 0),
                "ad_rebate": 0,
                "platform_net": platform,
                "guide_payable": guide,
                "creators": [
                    {"creator_id": who, **figures} for who, figures in sorted(book.creators.items())
                ],
            }
            if adjustment:
                line["adjustment"] = True
                line["order_ids"] = sorted(book.order_ids)
            lines.append(line)
        accounts = {f"{x['account_type']}:{x['account_id']}" for x in lines}
        for account in accounts:  # ad spend offsets platform, regular lines in channel order
            left = spend.get(account, 0)
            for line in lines:
                if f"{line['account_type']}:{line['account_id']}" != account:
                    continue
                if line.get("adjustment"):
                    continue
                rebate = max(0, min(line["platform"], left))
                left -= rebate
                line["ad_rebate"] = rebate
                line["platform_net"] = line["platform"] - rebate
                line["guide_payable"] = line["guide"] + rebate
        totals = {name: sum(line[name] for line in lines) for name in FIGURES}
        totals["ad_spend"] = sum(spend.get(account, 0) for account in accounts)
        return {
            "period": period,
            "status": status,
            "currency": "CNY",
            "timezone": "Asia/Shanghai",
            "totals": totals,
            "lines": lines,
        }


# -- driving the service -------------------------------------------------------------------


class Market:
    """The world, its links, a storefront posting signed events, and the mock clock."""

    def __init__(self, api: Api, store: Any) -> None:
        self.api = api
        self.clock = MockClock(store)
        self.at(datetime(2026, 10, 31, 9, tzinfo=TZ))
        self.world = api.world()
        self.keys = {"alice": self.world["alice"], "bob": self.world["bob"]}
        self.shop = StorefrontClient(
            "taobao",
            self.world["shop"]["signing_secret"],
            post=lambda p, b, h: api.client.post(p, data=b, headers=h),
            clock=self.clock.now,
        )
        self.links: dict[tuple[str, str, str], dict[str, Any]] = {}
        self.amounts: dict[str, int] = {}

    def at(self, moment: datetime) -> None:
        self.clock.set(moment)

    def link(self, creator: str, channel: str, product: str) -> dict[str, Any]:
        key = (creator, channel, product)
        if key not in self.links:
            self.links[key] = self.api.link(self.keys[creator], product_id=product, channel=channel)
        return self.links[key]

    def sell(
        self, order_id: str, creator: str, channel: str, product: str, amount: int, when: datetime
    ) -> None:
        """A shopper clicks the creator's link half a minute before paying at ``when``."""
        self.at(when - timedelta(seconds=30))
        token = self.link(creator, channel, product)["token"]
        click = self.api.client.get(f"/r/{token}", headers={"User-Agent": DESKTOP_CHROME})
        click_id = parse_qs(urlsplit(click.headers["Location"]).query)["rd_click"][0]
        self.at(when)
        self.amounts[order_id] = amount
        paid = self.shop.send(self.shop.event(order_id, "paid", amount, when, click_id=click_id))
        assert paid.status_code == 200, paid.get_json()
        assert paid.get_json()["attributed"]["creator_id"] == creator

    def event(
        self,
        order_id: str,
        status: str,
        when: datetime,
        refunded: int | None = None,
        arrives: datetime | None = None,
    ) -> dict[str, Any]:
        """The storefront posts ``status`` dated ``when``, arriving at ``arrives`` (or then)."""
        self.at(arrives or when)
        body = self.shop.event(
            order_id, status, self.amounts[order_id], when, refunded_amount=refunded
        )
        response = self.shop.send(body)
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    def statement(self, period: str) -> dict[str, Any]:
        return self.api.ok("GET", f"/api/v1/settlements/{period}")

    def ad_spend(self, period: str, account_id: str, amount: int) -> Any:
        return self.api.admin("PUT", f"/api/v1/ad-spend/{period}/{account_id}", {"amount": amount})


def dated(doc: dict[str, Any]) -> dict[str, Any]:
    """A statement with its ``closed_at`` read as an instant (its precision is the API's)."""
    if "closed_at" not in doc:
        return doc
    return {**doc, "closed_at": datetime.fromisoformat(doc["closed_at"])}


def line_of(doc: dict[str, Any], account_id: str, channel: str, adjustment: bool = False) -> Any:
    [line] = [
        x
        for x in doc["lines"]
        if (x["account_id"], x["channel"], bool(x.get("adjustment")))
        == (account_id, channel, adjustment)
    ]
    return line


# -- the month -----------------------------------------------------------------------------

CLOSE_AT = datetime(2026, 12, 1, 0, 30, tzinfo=TZ)
LAST_EVENT = datetime(2026, 12, 20, tzinfo=TZ)


@dataclass(order=True)
class Step:
    arrives: datetime
    seq: int
    what: str = field(compare=False)
    data: dict[str, Any] = field(compare=False, default_factory=dict)


def between(rng: random.Random, start: datetime, end: datetime) -> datetime:
    return start + timedelta(seconds=rng.randint(0, int((end - start).total_seconds())))


def plan_month(rng: random.Random, orders: int = 40) -> list[Step]:
    """A month of traffic in arrival order: sales, confirmations (some on either side of
    midnight, one arriving late), partial and full refunds before and after the close,
    cancellations, ad spend, and the close of 2026-11."""
    steps: list[Step] = []

    def add(arrives: datetime, what: str, **data: Any) -> None:
        steps.append(Step(arrives, len(steps), what, data))

    nov_start = datetime(2026, 11, 1, tzinfo=TZ)
    edges = [
        datetime(2026, 11, 30, 23, 59, rng.randint(0, 59), tzinfo=TZ),  # November
        datetime(2026, 11, 30, 15, 59, 59, tzinfo=UTC),  # November, said in UTC
        datetime(2026, 11, 30, 15, 59, 59, 999_000, tzinfo=UTC),  # its last millisecond
        datetime(2026, 11, 30, 16, 0, 0, tzinfo=UTC),  # December's first instant
        datetime(2026, 11, 30, 16, 0, rng.randint(1, 59), tzinfo=UTC),  # December
        datetime(2026, 12, 1, 0, 1, rng.randint(0, 59), tzinfo=TZ),  # December
    ]
    late = len(edges)  # confirmed on 30 November, delivered after the close
    for i in range(orders):
        order_id = f"o-{i:02d}"
        creator, channel = rng.choice(PLACEMENTS)
        product = rng.choice(sorted(RATES))
        if rng.random() < 0.2:  # tea at 15%: an exact half fen to round up
            product, amount = "tea", 20 * rng.randint(0, 24_999) + 10
        else:
            amount = rng.randint(1, 500_000)
        paid = between(rng, nov_start, nov_start + timedelta(days=26))
        sale = {"creator": creator, "channel": channel, "product": product, "amount": amount}
        add(paid, "paid", order_id=order_id, **sale)
        arrives = None
        if i < len(edges):
            fate, confirmed = "confirmed", edges[i]
        elif i == late:
            fate, confirmed = "confirmed", datetime(2026, 11, 30, 20, rng.randint(0, 59), tzinfo=TZ)
            arrives = CLOSE_AT + timedelta(minutes=5)
        else:
            fate = rng.choices(["confirmed", "cancelled", "paid"], [7, 2, 1])[0]
            confirmed = min(
                between(rng, paid + timedelta(minutes=10), paid + timedelta(days=4)),
                datetime(2026, 11, 30, 22, tzinfo=TZ),
            )
        if fate == "cancelled":
            when = between(rng, paid + timedelta(minutes=1), datetime(2026, 12, 5, tzinfo=TZ))
            add(when, "cancelled", order_id=order_id, when=when)
        if fate != "confirmed":
            continue
        if rng.random() < 0.5:  # sent in UTC rather than in +08:00: the same instant
            confirmed = confirmed.astimezone(UTC)
        add(arrives or confirmed, "confirmed", order_id=order_id, when=confirmed)
        if rng.random() < 0.5:
            continue
        count = rng.choice([1, 1, 2, 3])
        totals = sorted(rng.sample(range(1, amount + 1), min(count, amount)))
        if rng.random() < 0.4:
            totals[-1] = amount  # refunded in full at last
        totals = sorted(set(totals))
        before = 0 if arrives else rng.randint(0, len(totals))
        start = (arrives or confirmed) + timedelta(seconds=1)
        early = sorted(between(rng, start, CLOSE_AT - timedelta(seconds=1)) for _ in range(before))
        late_times = sorted(
            between(rng, max(start, CLOSE_AT + timedelta(minutes=10)), LAST_EVENT)
            for _ in range(len(totals) - before)
        )
        for when, total in zip(early + late_times, totals, strict=True):
            add(when, "refunded", order_id=order_id, when=when, total=total)
    for period, account, start, end in [
        (NOV, "starlight", nov_start, CLOSE_AT),
        (NOV, "bob", nov_start, CLOSE_AT),
        (NOV, "starlight", nov_start, CLOSE_AT),  # recorded again: it replaces
        (DEC, "starlight", CLOSE_AT, LAST_EVENT),
        (DEC, "bob", CLOSE_AT, LAST_EVENT),
    ]:
        amount = rng.choice([0, rng.randint(1, 50_000), rng.randint(50_000, 400_000), 10**7])
        add(between(rng, start, end), "ad_spend", period=period, account=account, amount=amount)
    add(CLOSE_AT, "close", period=NOV)
    return sorted(steps)


def play_month(market: Market, seed: int) -> tuple[Ledger, Any]:
    """Send the month to the service and keep the books; answers them and the close answer."""
    ledger = Ledger(MONTH_SHARES)
    closing = None
    for step in plan_month(random.Random(seed)):
        d = step.data
        if step.what == "paid":
            sale = (d["order_id"], d["creator"], d["channel"], d["product"], d["amount"])
            market.sell(*sale, step.arrives)
            ledger.paid(*sale)
        elif step.what == "confirmed":
            market.event(d["order_id"], "confirmed", d["when"], arrives=step.arrives)
            ledger.confirmed(d["order_id"], d["when"])
        elif step.what == "refunded":
            market.event(d["order_id"], "refunded", d["when"], refunded=d["total"])
            ledger.refunded(d["order_id"], d["when"], d["total"])
        elif step.what == "cancelled":
            market.event(d["order_id"], "cancelled", d["when"])
            ledger.cancelled(d["order_id"])
        elif step.what == "ad_spend":
            market.at(step.arrives)
            response = market.ad_spend(d["period"], d["account"], d["amount"])
            assert response.status_code == 200, response.get_json()
            ledger.ad_spend(d["period"], GUIDES[d["account"]], d["amount"])
        else:
            market.at(step.arrives)
            closing = market.api.admin("POST", f"/api/v1/settlements/{d['period']}/close")
            assert closing.status_code == 200, closing.get_json()
            ledger.close(d["period"], step.arrives)
    market.at(LAST_EVENT + timedelta(hours=1))
    return ledger, closing


SEEDS = [20261130, 7, 1234567]


@pytest.mark.parametrize("env", [MONTH_PROGRAMS], indirect=True, ids=["month-programs"])
@pytest.mark.parametrize("seed", SEEDS)
def test_a_random_month_settles_exactly_as_the_rules_say(api: Api, store: Any, seed: int) -> None:
    market = Market(api, store)
    ledger, closing = play_month(market, seed)

    expected_nov = ledger.statement(NOV, "closed")
    assert dated(closing.get_json()) == expected_nov
    november = api.call("GET", f"/api/v1/settlements/{NOV}")
    assert november.get_data() == closing.get_data()

    december = market.statement(DEC)
    assert december == ledger.statement(DEC, "open")
    # The month did what it says: both sides of midnight, and refunds after the close.
    assert any(line.get("adjustment") for line in december["lines"])
    assert december["totals"]["orders"] >= 4
    assert expected_nov["totals"]["orders"] >= 3


# -- closing -------------------------------------------------------------------------------


def test_a_period_closes_once_after_its_end_and_stays_frozen(api: Api, store: Any) -> None:
    market = Market(api, store)
    market.sell("o-1", "alice", "weibo", "tea", 12_800, datetime(2026, 11, 10, 12, tzinfo=TZ))
    market.event("o-1", "confirmed", datetime(2026, 11, 12, 12, tzinfo=TZ))
    assert market.ad_spend(NOV, "starlight", 200).status_code == 200

    market.at(datetime(2026, 11, 30, 15, 59, 59, tzinfo=UTC))  # 23:59:59 in Shanghai
    before = snapshot(store)
    early = api.admin("POST", f"/api/v1/settlements/{NOV}/close")
    assert early.status_code == 409
    assert early.get_json()["error"]["code"] == "conflict"
    assert snapshot(store) == before
    assert market.statement(NOV)["status"] == "open"

    market.at(DEC_START)
    closing = api.admin("POST", f"/api/v1/settlements/{NOV}/close")
    assert closing.status_code == 200
    assert closing.get_json()["status"] == "closed"
    assert datetime.fromisoformat(closing.get_json()["closed_at"]) == DEC_START

    # After the close: a refund of the November order, ad spend on November.
    market.event("o-1", "refunded", datetime(2026, 12, 3, 10, tzinfo=TZ), refunded=2_801)
    before = snapshot(store)
    frozen_spend = market.ad_spend(NOV, "starlight", 999)
    assert frozen_spend.status_code == 409
    assert snapshot(store) == before
    again = api.admin("POST", f"/api/v1/settlements/{NOV}/close")
    assert again.status_code == 409
    assert snapshot(store) == before

    november = api.call("GET", f"/api/v1/settlements/{NOV}")
    assert november.get_data() == closing.get_data()

    # The refund lands in December as a negative adjustment naming the order:
    # commission 1920 -> round_half_up(9999 * 0.15) = 1500, so -420.
    adjustment = line_of(market.statement(DEC), "starlight", "weibo", adjustment=True)
    assert adjustment["order_ids"] == ["taobao:o-1"]
    assert adjustment["orders"] == 0
    assert (adjustment["gmv"], adjustment["commission"]) == (-2_801, -420)
    assert (adjustment["network"], adjustment["platform"], adjustment["guide"]) == (-42, -126, -252)
    assert adjustment["creators"] == [
        {"creator_id": "alice", "orders": 0, "gmv": -2_801, "commission": -420}
    ]


def test_a_confirmation_of_a_closed_period_settles_in_the_next_open_one(
    api: Api, store: Any
) -> None:
    market = Market(api, store)
    market.sell("o-1", "bob", "kuaishou", "cup", 5_900, datetime(2026, 11, 20, 12, tzinfo=TZ))
    market.sell("o-2", "bob", "kuaishou", "cup", 1_000, datetime(2026, 11, 20, 13, tzinfo=TZ))
    market.event("o-2", "confirmed", datetime(2026, 11, 21, 12, tzinfo=TZ))
    market.at(datetime(2026, 12, 1, 0, 5, tzinfo=TZ))
    closing = api.ok("POST", f"/api/v1/settlements/{NOV}/close")

    # Confirmed on 30 November, but the storefront delivers it after the close.
    market.event(
        "o-1",
        "confirmed",
        datetime(2026, 11, 30, 23, 0, tzinfo=TZ),
        arrives=datetime(2026, 12, 1, 1, 0, tzinfo=TZ),
    )
    order = api.ok("GET", "/api/v1/orders/taobao/o-1")
    assert order["settled_period"] == DEC
    assert market.statement(NOV) == closing
    december = line_of(market.statement(DEC), "bob", "kuaishou")
    assert "adjustment" not in december
    assert (december["orders"], december["gmv"], december["commission"]) == (1, 5_900, 1_180)


def test_a_late_refund_lands_in_the_earliest_open_period_not_before_its_date(
    api: Api, store: Any
) -> None:
    market = Market(api, store)
    market.sell("o-1", "bob", "weibo", "cup", 10_000, datetime(2026, 11, 10, tzinfo=TZ))
    market.event("o-1", "confirmed", datetime(2026, 11, 12, tzinfo=TZ))
    market.at(DEC_START)
    api.ok("POST", f"/api/v1/settlements/{NOV}/close")

    # Dated 28 December, delivered on 2 January: December is still open, so there.
    market.event(
        "o-1",
        "refunded",
        datetime(2026, 12, 28, 23, tzinfo=TZ),
        refunded=1_000,
        arrives=datetime(2027, 1, 2, tzinfo=TZ),
    )
    api.ok("POST", f"/api/v1/settlements/{DEC}/close")
    # Dated 30 December, delivered after December closed: January, the first open one.
    market.event(
        "o-1",
        "refunded",
        datetime(2026, 12, 30, tzinfo=TZ),
        refunded=3_000,
        arrives=datetime(2027, 1, 5, tzinfo=TZ),
    )

    december = line_of(market.statement(DEC), "bob", "weibo", adjustment=True)
    january = line_of(market.statement("2027-01"), "bob", "weibo", adjustment=True)
    assert (december["gmv"], december["commission"], december["order_ids"]) == (
        -1_000,
        -200,
        ["taobao:o-1"],
    )
    assert (january["gmv"], january["commission"], january["order_ids"]) == (
        -2_000,
        -400,
        ["taobao:o-1"],
    )


@pytest.mark.parametrize("env", [WEIBO_HOLDS_10_DAYS], indirect=True, ids=["weibo-holds-10"])
def test_holding_days_push_a_confirmation_into_the_next_period(api: Api, store: Any) -> None:
    market = Market(api, store)
    assert {
        p["channel"]: p["holding_days"] for p in api.ok("GET", "/api/v1/programs")["programs"]
    } == {
        "weibo": 10,
        "douyin": 0,
        "kuaishou": 0,
    }
    day = datetime(2026, 11, 25, 12, tzinfo=TZ)
    market.sell("o-weibo", "alice", "weibo", "tea", 10_000, day - timedelta(days=2))
    market.sell("o-douyin", "alice", "douyin", "tea", 10_000, day - timedelta(days=2))
    market.event("o-weibo", "confirmed", day)
    market.event("o-douyin", "confirmed", day)

    assert api.ok("GET", "/api/v1/orders/taobao/o-weibo")["settled_period"] == DEC
    assert api.ok("GET", "/api/v1/orders/taobao/o-douyin")["settled_period"] == NOV
    november, december = market.statement(NOV), market.statement(DEC)
    assert [(x["channel"], x["orders"]) for x in november["lines"]] == [("douyin", 1)]
    assert [(x["channel"], x["orders"]) for x in december["lines"]] == [("weibo", 1)]


# -- bad input -----------------------------------------------------------------------------

BAD_INPUT = [
    ("GET", "/api/v1/settlements/2026-13", None, "admin", 422),
    ("GET", "/api/v1/settlements/2026-1", None, "admin", 422),
    ("GET", "/api/v1/settlements/abc", None, "admin", 422),
    ("GET", "/api/v1/settlements/2031-01", None, "admin", 422),
    ("POST", "/api/v1/settlements/2026-13/close", None, "admin", 422),
    ("POST", "/api/v1/settlements/2031-01/close", None, "admin", 422),
    ("PUT", "/api/v1/ad-spend/2026-1/starlight", {"amount": 1}, "admin", 422),
    ("PUT", "/api/v1/ad-spend/2031-01/starlight", {"amount": 1}, "admin", 422),
    ("PUT", "/api/v1/ad-spend/2026-11/starlight", {"amount": -1}, "admin", 422),
    ("PUT", "/api/v1/ad-spend/2026-11/starlight", {"amount": "100"}, "admin", 422),
    ("PUT", "/api/v1/ad-spend/2026-11/nobody", {"amount": 1}, "admin", 404),
    ("PUT", "/api/v1/ad-spend/2026-11/alice", {"amount": 1}, "admin", 422),
    ("GET", "/api/v1/creators/alice/earnings?period=abc", None, "admin", 422),
    ("GET", "/api/v1/settlements/2026-11", None, "alice", 403),
    ("GET", "/api/v1/settlements/2026-11?format=csv", None, "alice", 403),
    ("POST", "/api/v1/settlements/2026-11/close", None, "alice", 403),
    ("PUT", "/api/v1/ad-spend/2026-11/starlight", {"amount": 1}, "alice", 403),
]
CODES = {403: "forbidden", 404: "not_found", 422: "invalid_field"}


@pytest.mark.parametrize(
    ("method", "path", "body", "who", "status"),
    BAD_INPUT,
    ids=[f"{m}-{p.split('/v1/')[1]}-{b and b['amount']}-{w}" for m, p, b, w, _ in BAD_INPUT],
)
def test_bad_settlement_input_is_a_clear_error_and_changes_nothing(
    api: Api, store: Any, method: str, path: str, body: Any, who: str, status: int
) -> None:
    market = Market(api, store)
    market.sell("o-1", "alice", "weibo", "tea", 10_000, datetime(2026, 11, 10, tzinfo=TZ))
    market.event("o-1", "confirmed", datetime(2026, 11, 11, tzinfo=TZ))
    assert market.ad_spend(NOV, "starlight", 100).status_code == 200
    market.at(datetime(2026, 12, 5, tzinfo=TZ))  # November could be closed by an admin

    before = snapshot(store)
    token = market.keys["alice"] if who == "alice" else None
    kw = {"token": token} if token else {}
    response = api.call(method, path, json=body, **kw)
    assert response.status_code == status
    error = response.get_json()["error"]
    assert error["code"] == CODES[status]
    assert error["message"]
    if status == 422:
        assert [f["field"] for f in error["fields"]] in (["period"], ["amount"], ["account_id"])
    assert snapshot(store) == before


# -- CSV -----------------------------------------------------------------------------------

CSV_HEADER = (
    "kind,account_id,account_type,channel,orders,gmv,commission,network,platform,guide,"
    "ad_spend,ad_rebate,platform_net,guide_payable,creators,order_ids"
)


def test_the_statement_downloads_as_csv_with_a_totals_row(api: Api, store: Any) -> None:
    market = Market(api, store)
    for i, (creator, channel) in enumerate(PLACEMENTS):
        when = datetime(2026, 11, 3 + i, 10, tzinfo=TZ)
        market.sell(f"o-{i}", creator, channel, "cup", 10_000 + i, when)
        market.event(f"o-{i}", "confirmed", when + timedelta(days=1))
    market.ad_spend(NOV, "starlight", 700)
    market.at(DEC_START)
    api.ok("POST", f"/api/v1/settlements/{NOV}/close")
    market.event("o-0", "refunded", datetime(2026, 12, 2, tzinfo=TZ), refunded=500)

    for period in (NOV, DEC):
        doc = market.statement(period)
        response = api.call("GET", f"/api/v1/settlements/{period}?format=csv")
        assert response.status_code == 200
        assert response.mimetype == "text/csv"
        assert response.headers["Content-Disposition"] == (
            f'attachment; filename="statement-{period}.csv"'
        )
        text = response.get_data(as_text=True)
        assert text.splitlines()[0] == CSV_HEADER
        rows = list(csv.DictReader(io.StringIO(text)))
        assert len(rows) == len(doc["lines"]) + 1
        for row, line in zip(rows, doc["lines"], strict=False):
            assert row["kind"] == ("adjustment" if line.get("adjustment") else "line")
            assert (row["account_id"], row["channel"]) == (line["account_id"], line["channel"])
            assert {name: int(row[name]) for name in FIGURES} == {n: line[n] for n in FIGURES}
            assert row["order_ids"] == " ".join(line.get("order_ids", []))
        assert rows[-1]["kind"] == "totals"
        assert {name: int(rows[-1][name]) for name in FIGURES} == doc["totals"]
    assert [r["kind"] for r in csv.DictReader(io.StringIO(text))] == ["adjustment", "totals"]


# -- creator earnings ----------------------------------------------------------------------


def test_a_creator_sees_only_her_own_earnings(api: Api, store: Any) -> None:
    market = Market(api, store)
    market.sell("o-1", "alice", "weibo", "tea", 10_010, datetime(2026, 11, 3, tzinfo=TZ))
    market.sell("o-2", "alice", "douyin", "cup", 20_000, datetime(2026, 11, 4, tzinfo=TZ))
    market.sell("o-3", "alice", "douyin", "tea", 30_000, datetime(2026, 11, 5, tzinfo=TZ))
    market.sell("o-4", "bob", "weibo", "tea", 40_000, datetime(2026, 11, 6, tzinfo=TZ))
    for order_id in ("o-1", "o-2", "o-3", "o-4"):
        market.event(order_id, "confirmed", datetime(2026, 11, 20, tzinfo=TZ))
    market.at(DEC_START)
    api.ok("POST", f"/api/v1/settlements/{NOV}/close")
    market.event("o-1", "refunded", datetime(2026, 12, 2, tzinfo=TZ), refunded=10)

    alice = market.keys["alice"]
    mine = api.ok("GET", f"/api/v1/creators/alice/earnings?period={NOV}", token=alice)
    assert mine == {
        "creator_id": "alice",
        "period": NOV,
        "status": "closed",
        "orders": 3,
        "gmv": 60_010,
        "commission": 1_502 + 4_000 + 4_500,  # 10010 x 15% = 1501.5, rounded up
        "lines": [
            {
                "account_id": "starlight",
                "channel": "douyin",
                "orders": 2,
                "gmv": 50_000,
                "commission": 8_500,
            },
            {
                "account_id": "starlight",
                "channel": "weibo",
                "orders": 1,
                "gmv": 10_010,
                "commission": 1_502,
            },
        ],
    }
    assert api.ok("GET", f"/api/v1/creators/alice/earnings?period={NOV}") == mine

    peeking = api.call("GET", f"/api/v1/creators/alice/earnings?period={NOV}", token="x")
    assert peeking.status_code == 401
    peeking = api.call(
        "GET", f"/api/v1/creators/alice/earnings?period={NOV}", token=market.keys["bob"]
    )
    assert peeking.status_code == 403
    unknown = api.call("GET", f"/api/v1/creators/nobody/earnings?period={NOV}")
    assert unknown.status_code == 404

    # The refund after the close shows up in December, where its adjustment landed.
    december = api.ok("GET", f"/api/v1/creators/alice/earnings?period={DEC}", token=alice)
    assert (december["orders"], december["gmv"], december["commission"]) == (0, -10, -2)
    assert december["lines"] == [
        {
            "account_id": "starlight",
            "channel": "weibo",
            "orders": 0,
            "gmv": -10,
            "commission": -2,
            "adjustment": True,
        },
    ]
    bob = api.ok("GET", f"/api/v1/creators/bob/earnings?period={DEC}", token=market.keys["bob"])
    assert (bob["orders"], bob["lines"]) == (0, [])


# -- reconciliation ------------------------------------------------------------------------


@pytest.mark.parametrize("env", [MONTH_PROGRAMS], indirect=True, ids=["month-programs"])
def test_reconcile_agrees_after_a_month_and_reports_a_corrupted_figure(
    app: Any, api: Api, store: Any
) -> None:
    from redirector.extension import context

    market = Market(api, store)
    play_month(market, SEEDS[0])
    with app.app_context():
        assert settlement.reconcile(context(), Period(2026, 11)) == []
        assert settlement.reconcile(context(), Period(2026, 12)) == []

    stored = store.hgetall(keys.period_lines(NOV))
    name = next(f for f, v in sorted(stored.items()) if f.endswith("|*|gmv") and int(v) > 0)
    store.hincrby(keys.period_lines(NOV), name, 1)
    adjusted = sorted(store.smembers(keys.period_adjusted_orders(DEC)))[0]
    store.srem(keys.period_adjusted_orders(DEC), adjusted)
    with app.app_context():
        assert settlement.reconcile(context(), Period(2026, 11)) == [
            Difference("lines", name, int(stored[name]) + 1, int(stored[name]))
        ]
        assert settlement.reconcile(context(), Period(2026, 12)) == [
            Difference("adjusted_orders", adjusted, None, adjusted)
        ]


@pytest.mark.skipif(
    not real_redis_url(), reason="the command builds its own store: needs REDIS_URL"
)
def test_the_reconcile_command_exits_1_on_a_difference(
    api: Api,
    store: Any,
    env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    runner: CliRunner,
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    market = Market(api, store)
    market.sell("o-1", "bob", "weibo", "cup", 10_000, datetime(2026, 11, 3, tzinfo=TZ))
    market.event("o-1", "confirmed", datetime(2026, 11, 4, tzinfo=TZ))

    agreed = runner.invoke(redirector.cli.main, ["reconcile", NOV])
    assert agreed.exit_code == 0, agreed.output
    assert "equal" in agreed.output

    store.hincrby(keys.period_lines(NOV), "creator:bob|weibo|bob|commission", 1)
    differs = runner.invoke(redirector.cli.main, ["reconcile", NOV])
    assert differs.exit_code == 1
    assert "creator:bob|weibo|bob|commission: stored 2001, recomputed 2000" in differs.output


# -- cost ----------------------------------------------------------------------------------


class CountingStore:
    """The store, counting the commands sent through it (a pipeline's each)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.commands = 0

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.inner, name)
        if name == "pipeline":
            return lambda *a, **kw: CountingPipeline(self, attr(*a, **kw))
        if not callable(attr):
            return attr

        def command(*args: Any, **kw: Any) -> Any:
            self.commands += 1
            return attr(*args, **kw)

        return command


class CountingPipeline:
    def __init__(self, counter: CountingStore, pipe: Any) -> None:
        self.counter = counter
        self.pipe = pipe

    def __getattr__(self, name: str) -> Any:
        return getattr(self.pipe, name)

    def __enter__(self) -> CountingPipeline:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.pipe.reset()

    def execute(self, *args: Any, **kw: Any) -> Any:
        self.counter.commands += len(self.pipe.command_stack)
        return self.pipe.execute(*args, **kw)


@pytest.fixture
def counted(app: Any, store: Any) -> Iterator[CountingStore]:
    ctx = extension.context_of(app)
    counting = CountingStore(store)
    extension.init_app(app, dataclasses.replace(ctx, store=counting))
    yield counting
    extension.init_app(app, ctx)


def test_a_statement_costs_its_lines_not_its_orders(
    api: Api, store: Any, counted: CountingStore
) -> None:
    market = Market(api, store)

    def sell_round(first: int, count: int) -> None:
        for i in range(first, first + count):
            creator, channel = PLACEMENTS[i % len(PLACEMENTS)]
            when = datetime(2026, 11, 2, tzinfo=TZ) + timedelta(hours=i)
            market.sell(f"o-{i}", creator, channel, "tea", 1_000 + i, when)
            market.event(f"o-{i}", "confirmed", when + timedelta(minutes=5))

    def cost(period: str) -> int:
        counted.commands = 0
        market.statement(period)
        return counted.commands

    sell_round(0, len(PLACEMENTS))
    few = cost(NOV)
    sell_round(len(PLACEMENTS), 40)
    assert market.statement(NOV)["totals"]["orders"] == 44
    assert cost(NOV) == few <= 5

    market.at(DEC_START)
    api.ok("POST", f"/api/v1/settlements/{NOV}/close")
    assert cost(NOV) == 1  # the frozen document


# -- a close racing an event -----------------------------------------------------------------


def test_a_period_closed_between_an_events_read_and_its_write_never_takes_the_event(
    api: Api, store: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The confirmation reads November open; before it writes, an admin closes
    November. The write must see the close (``APPLY`` guards every period it
    writes to open) and the event be planned again, into December."""
    market = Market(api, store)
    market.sell("o-1", "bob", "weibo", "cup", 10_000, datetime(2026, 11, 20, tzinfo=TZ))
    closings: list[Any] = []
    read = writes.read

    def read_then_close(*args: Any) -> writes.Snapshot:
        seen = read(*args)
        if not closings:  # in the gap between the first read and its write
            closings.append(api.admin("POST", f"/api/v1/settlements/{NOV}/close"))
            closings.append(store.hgetall(keys.period_lines(NOV)))
        else:
            closings.append("read again")
        return seen

    with monkeypatch.context() as patched:
        patched.setattr(writes, "read", read_then_close)
        market.event("o-1", "confirmed", datetime(2026, 11, 30, 23, tzinfo=TZ), arrives=DEC_START)

    closing, lines_at_close, *again = closings
    assert closing.status_code == 200, closing.get_json()
    assert closing.get_json()["totals"]["orders"] == 0
    assert api.ok("GET", "/api/v1/orders/taobao/o-1")["settled_period"] == DEC
    assert store.hgetall(keys.period_lines(NOV)) == lines_at_close
    assert api.call("GET", f"/api/v1/settlements/{NOV}").get_data() == closing.get_data()
    december = line_of(market.statement(DEC), "bob", "weibo")
    assert (december["orders"], december["gmv"], december["commission"]) == (1, 10_000, 2_000)
    assert again == ["read again"]  # planned once more, seeing November closed


# -- statements worked by hand -------------------------------------------------------------


def test_ad_spend_offsets_the_platform_share_in_channel_name_order_until_spent(
    api: Api, store: Any
) -> None:
    market = Market(api, store)
    # Sold in the reverse of the channels' name order, so arrival order is not the rule.
    market.sell("o-w", "alice", "weibo", "cup", 5_900, datetime(2026, 11, 3, tzinfo=TZ))
    market.sell("o-k", "alice", "kuaishou", "tea", 10_000, datetime(2026, 11, 4, tzinfo=TZ))
    market.sell("o-d", "alice", "douyin", "cup", 10_000, datetime(2026, 11, 5, tzinfo=TZ))
    for order_id in ("o-w", "o-k", "o-d"):
        market.event(order_id, "confirmed", datetime(2026, 11, 10, tzinfo=TZ))
    assert market.ad_spend(NOV, "starlight", 800).status_code == 200

    # Default shares 10/30/60 %:
    #   douyin   cup 10000 x 20% = 2000 -> 200 / 600 / 1200
    #   kuaishou tea 10000 x 15% = 1500 -> 150 / 450 /  900
    #   weibo    cup  5900 x 20% = 1180 -> 118 / 354 /  708
    # Starlight's 800 of ad spend, line by line in channel-name order:
    #   douyin   min(600, 800) = 600, 200 left: platform_net 0,   guide_payable 1800
    #   kuaishou min(450, 200) = 200,   0 left: platform_net 250, guide_payable 1100
    #   weibo    0:                             platform_net 354, guide_payable  708
    doc = market.statement(NOV)
    shown = ("channel", "platform", "ad_spend", "ad_rebate", "platform_net", "guide")
    assert [(*(x[name] for name in shown), x["guide_payable"]) for x in doc["lines"]] == [
        ("douyin", 600, 800, 600, 0, 1_200, 1_800),
        ("kuaishou", 450, 800, 200, 250, 900, 1_100),
        ("weibo", 354, 800, 0, 354, 708, 708),
    ]
    assert doc["totals"] == {
        "orders": 3,
        "gmv": 25_900,
        "commission": 4_680,
        "network": 468,
        "platform": 1_404,
        "guide": 2_808,
        "ad_spend": 800,
        "ad_rebate": 800,
        "platform_net": 604,
        "guide_payable": 3_608,
    }


@pytest.mark.parametrize(
    ("zone", "settles_in", "stays_empty"),
    [("Asia/Shanghai", DEC, NOV), ("UTC", NOV, DEC)],
    ids=["shanghai", "utc"],
)
def test_the_configured_zone_says_which_month_a_confirmation_settles_in(
    env: dict[str, str],
    request: pytest.FixtureRequest,
    zone: str,
    settles_in: str,
    stays_empty: str,
) -> None:
    env["REDIRECTOR_TIMEZONE"] = zone
    api, store = request.getfixturevalue("api"), request.getfixturevalue("store")
    market = Market(api, store)
    market.sell("o-1", "bob", "weibo", "cup", 10_000, datetime(2026, 11, 20, tzinfo=UTC))
    # 2026-11-30T17:00:00Z is 1 December 01:00 in Asia/Shanghai, still 30 November in UTC.
    market.event("o-1", "confirmed", datetime(2026, 11, 30, 17, tzinfo=UTC))

    # Bob is independent: his own guide account. Cup 10000 x 20% = 2000 commission,
    # split 10/30/60 % = 200 / 600 / 1200; no ad spend, so nothing is rebated.
    figures = {"orders": 1, "gmv": 10_000, "commission": 2_000}
    split = {"network": 200, "platform": 600, "guide": 1_200}
    rebated = {"ad_spend": 0, "ad_rebate": 0, "platform_net": 600, "guide_payable": 1_200}
    assert market.statement(settles_in) == {
        "period": settles_in,
        "status": "open",
        "currency": "CNY",
        "timezone": zone,
        "totals": {**figures, **split, **rebated},
        "lines": [
            {
                "account_id": "bob",
                "account_type": "creator",
                "channel": "weibo",
                **figures,
                **split,
                **rebated,
                "creators": [{"creator_id": "bob", **figures}],
            }
        ],
    }
    empty = market.statement(stays_empty)
    assert (empty["lines"], set(empty["totals"].values())) == ([], {0})
    assert api.ok("GET", "/api/v1/orders/taobao/o-1")["settled_period"] == settles_in


def test_the_statement_builder_alone_worked_by_hand() -> None:
    """``build_statement`` from a period's aggregates as the store keeps them: no
    HTTP, no store."""

    def line(account: str, channel: str, creator: str, orders: int, gmv: int, c: int) -> dict:
        return {
            f"{account}|{channel}|{creator}|{metric}": str(value)
            for metric, value in (("orders", orders), ("gmv", gmv), ("commission", c))
        }

    aggregates = settlement.PeriodAggregates(
        lines={
            **line("creator:bob", "kuaishou", "*", 1, 5_000, 750),
            **line("creator:bob", "kuaishou", "bob", 1, 5_000, 750),
            **line("agency:starlight", "weibo", "*", 1, 10_000, 1_500),
            **line("agency:starlight", "weibo", "alice", 1, 10_000, 1_500),
            **line("agency:starlight", "douyin", "*", 2, 20_000, 4_001),
            **line("agency:starlight", "douyin", "carol", 1, 8_000, 1_601),
            **line("agency:starlight", "douyin", "alice", 1, 12_000, 2_400),
        },
        adjustments={
            **line("agency:starlight", "weibo", "*", 0, -2_000, -300),
            **line("agency:starlight", "weibo", "alice", 0, -2_000, -300),
        },
        adjusted_orders=["agency:starlight|weibo|taobao:o-9", "agency:starlight|weibo|taobao:o-3"],
        ad_spend={"agency:starlight": "1300", "creator:bob": "0", "agency:nobody": "500"},
    )
    doc = settlement.build_statement(
        Period(2026, 11),
        "open",
        aggregates,
        currency="CNY",
        tz=TZ,
        programs=default_programs(),
    )

    # Shares 10/30/60 %, largest remainder:
    #   douyin 4001: 400.1 / 1200.3 / 2400.6 -> floors 400/1200/2400, the 1 left to guide
    #   weibo 1500 -> 150/450/900;  kuaishou 750 -> 75/225/450
    #   the adjustment -300 mirrors 300 -> -30/-90/-180
    # Starlight's 1300 of ad spend, regular lines in channel-name order: douyin
    # min(1200, 1300) = 1200, then weibo min(450, 100) = 100; the adjustment none.
    # Bob spent 0. "agency:nobody" has no line: its spend is not in the totals.
    def figures(orders: int, gmv: int, c: int, split: tuple, spend: int, rebate: int) -> dict:
        network, platform, guide = split
        return {
            "orders": orders,
            "gmv": gmv,
            "commission": c,
            "network": network,
            "platform": platform,
            "guide": guide,
            "ad_spend": spend,
            "ad_rebate": rebate,
            "platform_net": platform - rebate,
            "guide_payable": guide + rebate,
        }

    def creator(creator_id: str, orders: int, gmv: int, c: int) -> dict:
        return {"creator_id": creator_id, "orders": orders, "gmv": gmv, "commission": c}

    starlight = {"account_id": "starlight", "account_type": "agency"}
    assert doc == {
        "period": "2026-11",
        "status": "open",
        "currency": "CNY",
        "timezone": "Asia/Shanghai",
        "totals": {
            "orders": 4,
            "gmv": 33_000,
            "commission": 5_951,
            "network": 595,
            "platform": 1_785,
            "guide": 3_571,
            "ad_spend": 1_300,
            "ad_rebate": 1_300,
            "platform_net": 485,
            "guide_payable": 4_871,
        },
        "lines": [
            {
                **starlight,
                "channel": "douyin",
                **figures(2, 20_000, 4_001, (400, 1_200, 2_401), 1_300, 1_200),
                "creators": [creator("alice", 1, 12_000, 2_400), creator("carol", 1, 8_000, 1_601)],
            },
            {
                **starlight,
                "channel": "weibo",
                **figures(1, 10_000, 1_500, (150, 450, 900), 1_300, 100),
                "creators": [creator("alice", 1, 10_000, 1_500)],
            },
            {
                "account_id": "bob",
                "account_type": "creator",
                "channel": "kuaishou",
                **figures(1, 5_000, 750, (75, 225, 450), 0, 0),
                "creators": [creator("bob", 1, 5_000, 750)],
            },
            {
                **starlight,
                "channel": "weibo",
                **figures(0, -2_000, -300, (-30, -90, -180), 1_300, 0),
                "creators": [creator("alice", 0, -2_000, -300)],
                "adjustment": True,
                "order_ids": ["taobao:o-3", "taobao:o-9"],
            },
        ],
    }


def test_where_an_order_settles_and_a_refund_lands_worked_by_hand() -> None:
    def ms(*when: int) -> int:
        return ms_from_datetime(datetime(*when, tzinfo=TZ))

    settles, lands = period_placement.settlement_period, period_placement.refund_landing
    nov, dec, jan = Period(2026, 11), Period(2026, 12), Period(2027, 1)
    # December's first local instant is December; the millisecond before it is not.
    assert settles(ms(2026, 12, 1), 0, TZ, set()) == dec
    assert settles(ms(2026, 12, 1) - 1, 0, TZ, set()) == nov
    # Holding days are local calendar days: 21 November + 10 is 1 December.
    assert settles(ms(2026, 11, 21, 0, 1), 10, TZ, set()) == dec
    assert settles(ms(2026, 11, 20, 23, 59), 10, TZ, set()) == nov
    # A closed period passes the order on to the first open one after it.
    assert settles(ms(2026, 11, 10), 0, TZ, {NOV, DEC}) == jan
    # A refund moves the order's own line while its period is open, whatever its date.
    assert lands(ms(2027, 1, 5), nov, TZ, {DEC}) == period_placement.Landing(nov, adjustment=False)
    # Closed: an adjustment, not before the refund's period...
    assert lands(ms(2026, 12, 28), nov, TZ, {NOV}) == period_placement.Landing(dec, adjustment=True)
    assert lands(ms(2026, 12, 28), nov, TZ, {NOV, DEC}) == period_placement.Landing(
        jan, adjustment=True
    )
    # ...nor before the order's own: a refund dated October lands after November.
    assert lands(ms(2026, 10, 15), nov, TZ, {NOV}) == period_placement.Landing(dec, adjustment=True)


def test_a_late_refund_lands_by_its_month_in_the_configured_time_zone() -> None:
    lands = period_placement.refund_landing
    october = Period(2026, 10)
    dec_start = ms_from_datetime(DEC_START)  # 2026-11-30T16:00Z: still November in UTC
    # October is closed, November and December open: the refund's own local month decides.
    assert lands(dec_start, october, TZ, {"2026-10"}) == period_placement.Landing(
        Period(2026, 12), adjustment=True
    )
    assert lands(dec_start - 1, october, TZ, {"2026-10"}) == period_placement.Landing(
        Period(2026, 11), adjustment=True
    )
