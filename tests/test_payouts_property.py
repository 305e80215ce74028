"""Payouts never create or lose a fen: over random months of sales, refunds after
a close (negative adjustment lines), ad spend, closes and payouts marked paid or
failed, every guide account's paid + pending payouts + balance equals the sum
of its ``guide_payable`` over the closed statements, after every close and
every mark. Driven through the API, on the store the suite runs on."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from redis.cluster import RedisCluster

from redirector.clock import MockClock
from redirector.config import MIN_PAYOUT
from redirector.storefront_client import StorefrontClient

from .conftest import ADMIN_TOKEN, Api, Browser, cluster_url, mock_clock

TZ = ZoneInfo("Asia/Shanghai")
ACCOUNTS = {"alice": "starlight", "bob": "bob", "carol": "carol"}  # creator -> guide account
FIRST = datetime(2026, 10, 1, tzinfo=TZ)


@pytest.fixture
def env(env: dict[str, str]) -> dict[str, str]:
    env[MIN_PAYOUT] = "1500"  # one tea's guide part (1152) carries, two pay
    return env


@dataclass
class MonthPlan:
    sales: list[tuple[str, int]]  # (creator, amount)
    refunds: list[tuple[int, bool]]  # (which earlier order, in full or half)
    ad_spend: dict[str, int]
    marks: list[tuple[int, str]]  # (which pending payout, paid or failed)


months = st.lists(
    st.builds(
        MonthPlan,
        sales=st.lists(
            st.tuples(
                st.sampled_from(sorted(ACCOUNTS)),
                st.sampled_from([12800, 5900]) | st.integers(1, 60_000),
            ),
            max_size=3,
        ),
        refunds=st.lists(st.tuples(st.integers(0, 20), st.booleans()), max_size=2),
        ad_spend=st.dictionaries(st.sampled_from(["starlight", "bob"]), st.integers(0, 3000)),
        marks=st.lists(
            st.tuples(st.integers(0, 10), st.sampled_from(["paid", "failed"])), max_size=3
        ),
    ),
    min_size=1,
    max_size=4,
)


@dataclass
class Run:
    app: Any
    api: Api
    clock: MockClock
    shop: StorefrontClient
    links: dict[str, dict[str, Any]]
    orders: list[tuple[str, int, bool]] = field(default_factory=list)  # id, amount, refunded
    closed: list[str] = field(default_factory=list)

    def sell(self, creator: str, amount: int, at: datetime) -> None:
        self.clock.set(at)
        click_id = Browser(self.app).click(self.links[creator])
        self.clock.set(at + timedelta(minutes=10))
        order_id = f"o-{len(self.orders)}"
        for status in ("paid", "confirmed"):
            self.send(order_id, status, amount, click_id=click_id if status == "paid" else None)
        self.orders.append((order_id, amount, False))

    def send(self, order_id: str, status: str, amount: int, **extra: Any) -> None:
        event = self.shop.event(order_id, status, amount, self.clock.now(), **extra)
        answer = self.shop.send(event)
        assert answer.status_code == 200, answer.get_json()

    def refund(self, which: int, full: bool) -> None:
        if not self.orders:
            return
        i = which % len(self.orders)
        order_id, amount, refunded = self.orders[i]
        if refunded:
            return
        total = amount if full or amount < 2 else amount // 2
        self.send(order_id, "refunded", amount, refunded_amount=total)
        self.orders[i] = (order_id, amount, True)

    def check(self) -> None:
        """Each account: paid + pending + balance == its guide_payable over closed periods."""
        payable = dict.fromkeys(set(ACCOUNTS.values()), 0)
        for period in self.closed:
            for line in self.api.ok("GET", f"/api/v1/settlements/{period}")["lines"]:
                payable[line["account_id"]] += line["guide_payable"]
        held = dict.fromkeys(payable, 0)
        for payout in self.api.ok("GET", "/api/v1/payouts")["payouts"]:
            if payout["status"] != "failed":
                held[payout["account_id"]] += payout["amount"]
        for account in payable:
            held[account] += self.api.ok("GET", f"/api/v1/accounts/{account}/balance")["balance"]
        assert held == payable


def fresh(store: Any, app: Any) -> MockClock:
    """An empty store for each example, as the ``store`` fixture leaves it."""
    if cluster_url():
        store.flushall(target_nodes=RedisCluster.PRIMARIES)
    else:
        store.flushdb()
    return mock_clock(app)


def start(app: Any, store: Any) -> Run:
    clock = fresh(store, app)
    clock.set(FIRST)
    api = Api(app.test_client())
    world = api.world()
    carol = api.ok("PUT", "/api/v1/creators/carol", {"name": "Carol"})["api_key"]
    keys = {"alice": world["alice"], "bob": world["bob"], "carol": carol}
    links = {creator: api.link(key) for creator, key in keys.items()}
    shop = StorefrontClient(
        "taobao",
        world["shop"]["signing_secret"],
        post=lambda p, b, h: api.client.post(p, data=b, headers=h),
        clock=clock.now,
    )
    return Run(app, api, clock, shop, links)


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(plans=months)
def test_paid_pending_and_balances_always_sum_to_what_closed_periods_owe(
    app: Any, store: Any, plans: list[MonthPlan]
) -> None:
    run = start(app, store)
    month_start = FIRST
    for plan in plans:
        for day, (creator, amount) in enumerate(plan.sales, start=2):
            run.sell(creator, amount, month_start + timedelta(days=day))
        run.clock.set(month_start + timedelta(days=10))
        for which, full in plan.refunds:  # orders of closed periods: adjustment lines
            run.refund(which, full)
        period = f"{month_start:%Y-%m}"
        for account, amount in plan.ad_spend.items():
            run.api.ok("PUT", f"/api/v1/ad-spend/{period}/{account}", {"amount": amount})
        month_start = (month_start + timedelta(days=32)).replace(day=1)
        run.clock.set(month_start + timedelta(minutes=5))
        run.api.ok("POST", f"/api/v1/settlements/{period}/close")
        run.closed.append(period)
        run.check()
        for which, outcome in plan.marks:
            pending = run.api.ok("GET", "/api/v1/payouts?status=pending")["payouts"]
            if not pending:
                break
            target = pending[which % len(pending)]["id"]
            note = {"paid": {"reference": "T"}, "failed": {"reason": "R"}}[outcome]
            answer = run.api.call(
                "POST", f"/api/v1/payouts/{target}/{outcome}", token=ADMIN_TOKEN, json=note
            )
            assert answer.status_code == 200, answer.get_json()
            run.check()
