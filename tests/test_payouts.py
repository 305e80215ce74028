"""Payouts (docs/domain.md: Payouts; docs/rules.md: Payouts; the payout, balance
and earnings endpoints).

Each story sells through the API (a shopper clicks, the storefront posts signed
events), closes periods as the mock clock passes month ends, and reads what
each guide account is paid. The world's tea earns 1920 commission, split
192 / 576 / 1152: the guide's part of one tea is 1152. The minimum payout is
set to 2000 here, so two teas in a period pay and one carries.
"""

from __future__ import annotations

import csv
import io
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from redirector import keys, payouts
from redirector.api import payout_schemas
from redirector.clock import MockClock
from redirector.config import MIN_PAYOUT, Settings
from redirector.errors import ConfigError
from redirector.postbacks.outbox import parse as parse_outbox

from .conftest import ADMIN_TOKEN, Api, Browser, Shop, advance, error_of, snapshot

TZ = ZoneInfo("Asia/Shanghai")
NOV, DEC, JAN = "2026-11", "2026-12", "2027-01"
MINIMUM = 2000
TEA_GUIDE = 1152  # the guide's part of one tea's commission (1920)


@pytest.fixture
def env(env: dict[str, str]) -> dict[str, str]:
    env[MIN_PAYOUT] = str(MINIMUM)
    return env


class Month:
    """Sales through the API and the mock clock across month ends."""

    def __init__(self, app: Any, api: Api, shop: Shop, clock: MockClock, world: dict) -> None:
        self.app, self.api, self.shop, self.clock, self.world = app, api, shop, clock, world
        self.sold = 0

    def sell(self, creator: str, amount: int = 12800) -> str:
        """A shopper clicks the creator's tea link, pays ten minutes later, confirms."""
        link = self.api.link(self.world[creator], "tea")
        click_id = Browser(self.app).click(link)
        advance(self.clock, minutes=10)
        self.sold += 1
        order_id = f"o-{self.sold}"
        self.shop.ok(order_id, "paid", amount, click_id=click_id)
        self.shop.ok(order_id, "confirmed", amount)
        return order_id

    def at(self, year: int, month: int, day: int, hour: int = 10) -> None:
        self.clock.set(datetime(year, month, day, hour, tzinfo=TZ))

    def close(self, period: str) -> dict[str, Any]:
        year, month = map(int, period.split("-"))
        after = datetime(year + month // 12, month % 12 + 1, 1, 0, 5, tzinfo=TZ)
        if self.clock.now() < after:
            self.clock.set(after)
        return self.api.ok("POST", f"/api/v1/settlements/{period}/close")

    def payouts(self, query: str = "", token: str | None = ADMIN_TOKEN) -> list[dict[str, Any]]:
        return self.api.ok("GET", f"/api/v1/payouts{query}", token=token)["payouts"]

    def balance(self, account_id: str, token: str | None = ADMIN_TOKEN) -> int:
        return self.api.ok("GET", f"/api/v1/accounts/{account_id}/balance", token=token)["balance"]

    def mark(self, payout_id: str, outcome: str, note: str = "x", token: str = ADMIN_TOKEN) -> Any:
        field = "reference" if outcome == "paid" else "reason"
        return self.api.call(
            "POST", f"/api/v1/payouts/{payout_id}/{outcome}", token=token, json={field: note}
        )


@pytest.fixture
def month(app: Any, api: Api, shop: Shop, clock: MockClock, world: dict) -> Month:
    return Month(app, api, shop, clock, world)


def summary(items: list[dict[str, Any]]) -> list[tuple[str, str, str, int, str]]:
    return [
        (p["period"], p["account_type"], p["account_id"], p["amount"], p["status"]) for p in items
    ]


# -- made at close ---------------------------------------------------------------------------


def test_a_close_pays_each_account_that_reaches_the_minimum_and_carries_the_rest(
    month: Month, store: Any
) -> None:
    month.sell("alice")
    month.sell("alice")  # starlight: 2 x 1152 = 2304, over the minimum
    month.sell("bob")  # bob: 1152, under it
    statement = month.close(NOV)
    closed_at = statement["closed_at"]

    made = month.payouts(f"?period={NOV}")
    assert summary(made) == [(NOV, "agency", "starlight", 2 * TEA_GUIDE, "pending")]
    [payout] = made
    assert payout["id"].startswith("po_") and len(payout["id"]) == 19
    assert payout["currency"] == "CNY" and payout["created_at"] == closed_at
    assert set(payout) == {
        "id",
        "account_id",
        "account_type",
        "period",
        "amount",
        "currency",
        "status",
        "created_at",
    }
    assert month.api.ok("GET", f"/api/v1/payouts/{payout['id']}") == payout
    assert month.balance("starlight") == 0
    assert month.balance("bob") == TEA_GUIDE
    balance = month.api.ok("GET", "/api/v1/accounts/bob/balance")
    assert balance == {
        "account_id": "bob",
        "account_type": "creator",
        "balance": TEA_GUIDE,
        "currency": "CNY",
        "min_payout": MINIMUM,
    }

    # December: bob's second tea brings him over the minimum with what he carried.
    month.at(2026, 12, 10)
    month.sell("bob")
    month.close(DEC)
    assert summary(month.payouts(f"?period={DEC}")) == [
        (DEC, "creator", "bob", 2 * TEA_GUIDE, "pending")
    ]
    assert month.balance("bob") == 0
    assert store.hgetall(keys.balances()) == {}  # nothing carried is kept as a 0


def test_a_failed_payout_returns_to_the_balance_and_is_paid_at_a_later_close(
    month: Month, store: Any
) -> None:
    month.sell("alice")
    month.sell("alice")
    month.close(NOV)
    [payout] = month.payouts()
    failed = month.mark(payout["id"], "failed", "  account closed at the bank  ")
    assert failed.status_code == 200
    doc = failed.get_json()
    assert (doc["status"], doc["reason"]) == ("failed", "account closed at the bank")
    assert doc["failed_at"] == month.api.ok("GET", "/api/v1/clock")["now"]
    assert month.balance("starlight") == 2 * TEA_GUIDE

    # No line for starlight in December: its balance alone reaches the minimum.
    month.at(2026, 12, 10)
    month.sell("bob")
    month.close(DEC)
    again = month.payouts(f"?period={DEC}&account_id=starlight")
    assert summary(again) == [(DEC, "agency", "starlight", 2 * TEA_GUIDE, "pending")]
    assert month.balance("starlight") == 0
    assert summary(month.payouts("?status=failed")) == [
        (NOV, "agency", "starlight", 2 * TEA_GUIDE, "failed")
    ]

    paid = month.mark(again[0]["id"], "paid", "ICBC-20270102-0001")
    assert paid.get_json()["status"] == "paid"
    assert paid.get_json()["reference"] == "ICBC-20270102-0001"
    assert "paid_at" in paid.get_json() and "failed_at" not in paid.get_json()


def test_a_payout_no_longer_pending_is_409_and_changes_nothing(month: Month, store: Any) -> None:
    month.sell("alice")
    month.sell("alice")
    month.close(NOV)
    [payout] = month.payouts()
    assert month.mark(payout["id"], "paid", "T-1").status_code == 200
    before = snapshot(store)
    for outcome in ("paid", "failed"):
        error = error_of(month.mark(payout["id"], outcome, "T-2"), 409)
        assert "is paid, not pending" in error["message"]
    assert snapshot(store) == before
    assert month.balance("starlight") == 0


def test_negative_sums_carry_and_are_paid_only_once_made_good(month: Month) -> None:
    month.sell("bob")
    month.sell("bob")  # 2304: paid at November's close
    month.close(NOV)
    # Refunded in full after the close: December gets bob's -2304 adjustment line.
    month.at(2026, 12, 3)
    month.shop.ok("o-1", "refunded", 12800, refunded_amount=12800)
    month.shop.ok("o-2", "refunded", 12800, refunded_amount=12800)
    month.sell("bob")  # +1152 in December
    december = month.close(DEC)
    assert sum(line["guide_payable"] for line in december["lines"]) == TEA_GUIDE - 2 * TEA_GUIDE
    assert month.payouts(f"?period={DEC}") == []
    assert month.balance("bob") == -TEA_GUIDE

    month.at(2027, 1, 5)
    for _ in range(3):
        month.sell("bob")  # 3456 - 1152 = 2304
    month.close(JAN)
    assert summary(month.payouts(f"?period={JAN}")) == [
        (JAN, "creator", "bob", 2 * TEA_GUIDE, "pending")
    ]
    assert month.balance("bob") == 0


def test_ad_rebate_is_paid_with_the_guide_share(month: Month) -> None:
    month.sell("bob")
    month.sell("bob")  # platform share 2 x 576
    month.api.ok("PUT", f"/api/v1/ad-spend/{NOV}/bob", {"amount": 900})
    statement = month.close(NOV)
    assert statement["totals"]["guide_payable"] == 2 * TEA_GUIDE + 900
    assert summary(month.payouts()) == [(NOV, "creator", "bob", 2 * TEA_GUIDE + 900, "pending")]


# -- who sees what -----------------------------------------------------------------------------


def test_creators_see_their_own_payouts_and_balance_only(month: Month, world: dict) -> None:
    for creator in ("alice", "alice", "bob", "bob"):
        month.sell(creator)
    month.close(NOV)
    alice, bob = world["alice"], world["bob"]
    everything = month.payouts()
    assert [p["account_id"] for p in everything] == ["starlight", "bob"]
    starlight, bobs = everything

    assert month.payouts(token=bob) == [bobs]
    assert month.payouts("?account_id=bob&status=pending", token=bob) == [bobs]
    assert month.api.ok("GET", f"/api/v1/payouts/{bobs['id']}", token=bob) == bobs
    error_of(month.api.call("GET", f"/api/v1/payouts/{starlight['id']}", token=bob), 404)
    error_of(month.api.call("GET", "/api/v1/payouts?account_id=starlight", token=bob), 403)
    assert month.balance("bob", token=bob) == 0
    error_of(month.api.call("GET", "/api/v1/accounts/starlight/balance", token=bob), 403)

    # Alice is paid through her agency: no payouts of her own, no balance of her own.
    assert month.payouts(token=alice) == []
    refused = error_of(month.api.call("GET", "/api/v1/accounts/alice/balance", token=alice), 404)
    assert "paid through agency 'starlight'" in refused["message"]
    error_of(month.api.call("GET", f"/api/v1/payouts/{starlight['id']}", token=alice), 404)

    for outcome in ("paid", "failed"):
        error_of(month.mark(bobs["id"], outcome, token=bob), 403)
    assert month.api.ok("GET", f"/api/v1/payouts/{bobs['id']}")["status"] == "pending"


def test_an_independent_creators_earnings_show_what_it_is_paid(month: Month, world: dict) -> None:
    month.sell("bob")
    month.sell("bob")
    month.sell("alice")
    month.close(NOV)
    bob = month.api.ok("GET", f"/api/v1/creators/bob/earnings?period={NOV}", token=world["bob"])
    assert bob["commission"] == 2 * 1920
    assert bob["guide_payable"] == 2 * TEA_GUIDE
    assert bob["payouts"] == month.payouts(f"?account_id=bob&period={NOV}")
    assert summary(bob["payouts"]) == [(NOV, "creator", "bob", 2 * TEA_GUIDE, "pending")]
    open_december = month.api.ok("GET", "/api/v1/creators/bob/earnings", token=world["bob"])
    assert (open_december["guide_payable"], open_december["payouts"]) == (0, [])

    alice = month.api.ok("GET", f"/api/v1/creators/alice/earnings?period={NOV}")
    assert alice["commission"] == 1920
    assert "guide_payable" not in alice and "payouts" not in alice


# -- the bank batch ----------------------------------------------------------------------------


def test_the_bank_batch_is_csv_in_minor_units_and_decimals(month: Month, api: Api) -> None:
    api.ok("PUT", "/api/v1/agencies/starlight", {"name": '=HYPERLINK("x")'})  # a hostile name
    month.sell("alice")
    month.sell("alice", amount=12810)  # commission 1922 (1921.5 up): guide 1153
    month.sell("bob")
    month.sell("bob")
    month.close(NOV)
    response = api.call("GET", f"/api/v1/payouts?period={NOV}&format=csv")
    assert response.status_code == 200
    assert response.content_type == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"] == f'attachment; filename="payouts-{NOV}.csv"'
    text = response.get_data(as_text=True)
    assert text.endswith("\r\n")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == list(payouts.CSV_COLUMNS)
    ids = [p["id"] for p in month.payouts()]
    hostile = '\'=HYPERLINK("x")'  # written so that no spreadsheet runs it
    assert rows[1:] == [
        [ids[0], NOV, "starlight", "agency", hostile, "2305", "23.05", "CNY", "pending", ""],
        [ids[1], NOV, "bob", "creator", "Bob", "2304", "23.04", "CNY", "pending", ""],
    ]
    everything = api.call("GET", "/api/v1/payouts?format=csv")
    assert everything.headers["Content-Disposition"] == 'attachment; filename="payouts.csv"'


# -- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "field"),
    [
        ("GET", "/api/v1/payouts?colour=red", None, 422, "colour"),
        ("GET", "/api/v1/payouts?status=lost", None, 422, "status"),
        ("GET", "/api/v1/payouts?period=2026-13", None, 422, "period"),
        ("GET", "/api/v1/payouts?account_id=Not%20A%20Slug", None, 422, "account_id"),
        ("GET", "/api/v1/payouts?format=xml", None, 422, "format"),
        ("GET", "/api/v1/payouts/po_0000000000000000", None, 404, None),
        ("GET", "/api/v1/payouts/not-a-payout-id", None, 404, None),
        ("GET", "/api/v1/accounts/nobody/balance", None, 404, None),
        ("POST", "/api/v1/payouts/{id}/paid", {"reference": "   "}, 422, "reference"),
        ("POST", "/api/v1/payouts/{id}/paid", {"reference": ""}, 422, "reference"),
        ("POST", "/api/v1/payouts/{id}/paid", {"reference": "a\nb"}, 422, "reference"),
        ("POST", "/api/v1/payouts/{id}/paid", {"reference": "x" * 201}, 422, "reference"),
        ("POST", "/api/v1/payouts/{id}/paid", {"reason": "x"}, 422, "reference"),
        ("POST", "/api/v1/payouts/{id}/failed", {"reason": 7}, 422, "reason"),
        ("POST", "/api/v1/payouts/{id}/failed", {"reason": "x" * 501}, 422, "reason"),
        ("POST", "/api/v1/payouts/{id}/failed", {"reason": "ok", "extra": 1}, 422, "extra"),
        ("POST", "/api/v1/payouts/po_0000000000000000/paid", {"reference": "x"}, 404, None),
    ],
)
def test_bad_payout_input_is_a_clear_error_and_changes_nothing(
    month: Month, store: Any, method: str, path: str, body: Any, status: int, field: str | None
) -> None:
    month.sell("alice")
    month.sell("alice")
    month.close(NOV)
    [payout] = month.payouts()
    before = snapshot(store)
    answer = month.api.call(method, path.format(id=payout["id"]), json=body)
    error = error_of(answer, status)
    if field:
        assert field in [f["field"] for f in error["fields"]], error
    assert snapshot(store) == before


def test_a_body_that_is_not_json_is_400(month: Month) -> None:
    month.sell("alice")
    month.sell("alice")
    month.close(NOV)
    [payout] = month.payouts()
    answer = month.api.call(
        "POST",
        f"/api/v1/payouts/{payout['id']}/paid",
        data=b"{",
        headers={"Content-Type": "application/json"},
    )
    error_of(answer, 400)


@pytest.mark.parametrize("value", ["0", "-5", "ten", "1.5", "１０", "10000000000001", "²"])
def test_a_bad_minimum_payout_stops_the_start_with_one_line(value: str, env: dict) -> None:
    with pytest.raises(ConfigError) as refused:
        Settings.from_env({**env, MIN_PAYOUT: value})
    assert MIN_PAYOUT in str(refused.value) and "\n" not in str(refused.value)


def test_the_minimum_payout_defaults_to_10000(env: dict) -> None:
    assert Settings.from_env({k: v for k, v in env.items() if k != MIN_PAYOUT}).min_payout == 10000
    assert Settings.from_env({**env, MIN_PAYOUT: " 1 "}).min_payout == 1


# -- nothing paid twice: concurrency ---------------------------------------------------------


def _together(app: Any, count: int, send: Any) -> list[Any]:
    """``send(client, i)`` from ``count`` threads, each with its own test client,
    released at once."""
    barrier = threading.Barrier(count)

    def one(i: int) -> Any:
        own = app.test_client()
        barrier.wait()
        return send(own, i)

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(one, range(count)))


AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def test_admins_closing_at_once_make_one_payout_per_account(app: Any, month: Month) -> None:
    for creator in ("alice", "alice", "bob"):
        month.sell(creator)
    month.clock.set(datetime(2026, 12, 1, 0, 5, tzinfo=TZ))
    answers = _together(
        app, 8, lambda c, _: c.post(f"/api/v1/settlements/{NOV}/close", headers=AUTH)
    )
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [200] + [409] * 7
    assert summary(month.payouts()) == [(NOV, "agency", "starlight", 2 * TEA_GUIDE, "pending")]
    assert month.balance("bob") == TEA_GUIDE


def test_admins_marking_at_once_make_one_transition(app: Any, month: Month) -> None:
    month.sell("alice")
    month.sell("alice")
    month.close(NOV)
    [payout] = month.payouts()
    path = f"/api/v1/payouts/{payout['id']}"

    def mark(client: Any, i: int) -> Any:
        outcome, body = (("paid", {"reference": "T"}), ("failed", {"reason": "R"}))[i % 2]
        return client.post(f"{path}/{outcome}", headers=AUTH, json=body)

    answers = _together(app, 8, mark)
    won = [a.get_json() for a in answers if a.status_code == 200]
    assert len(won) == 1 and sorted(a.status_code for a in answers)[1:] == [409] * 7
    final = month.api.ok("GET", path)
    assert final["status"] == won[0]["status"]
    assert month.balance("starlight") == (2 * TEA_GUIDE if final["status"] == "failed" else 0)


def test_a_failure_marked_while_a_period_closes_is_paid_once(app: Any, month: Month) -> None:
    """The returned amount lands before the close reads the balances (paid now) or
    after the close (carried, paid at the next): never lost, never paid twice."""
    month.sell("alice")
    month.sell("alice")
    month.close(NOV)
    [november] = month.payouts()
    month.at(2026, 12, 10)
    month.sell("bob")
    month.clock.set(datetime(2027, 1, 1, 0, 5, tzinfo=TZ))

    def either(client: Any, i: int) -> Any:
        if i % 2:
            return client.post(f"/api/v1/settlements/{DEC}/close", headers=AUTH)
        body = {"reason": "bounced"}
        return client.post(f"/api/v1/payouts/{november['id']}/failed", headers=AUTH, json=body)

    answers = _together(app, 6, either)
    assert sorted(a.status_code for a in answers) == [200, 200, 409, 409, 409, 409]
    assert month.api.ok("GET", f"/api/v1/payouts/{november['id']}")["status"] == "failed"
    paid_again = [p["amount"] for p in month.payouts(f"?period={DEC}&account_id=starlight")]
    carried = month.balance("starlight")
    assert (paid_again, carried) in [([2 * TEA_GUIDE], 0), ([], 2 * TEA_GUIDE)]


@pytest.mark.parametrize("starlight_sells_in_december", [True, False])
def test_a_failure_landing_between_the_closes_read_and_its_write_is_seen(
    month: Month, monkeypatch: pytest.MonkeyPatch, starlight_sells_in_december: bool
) -> None:
    """The close reads the balances; before it writes, an admin marks November's
    payout failed. ``CLOSE`` must see the balance move (an account it considered,
    or one it did not know carried anything) and plan the close again."""
    month.sell("alice")
    month.sell("alice")
    month.close(NOV)
    [november] = month.payouts()
    month.at(2026, 12, 10)
    month.sell("bob")
    if starlight_sells_in_december:
        month.sell("alice")
    plans: list[Any] = []
    at_close = payouts.at_close

    def fail_in_the_gap(*args: Any) -> Any:
        if not plans:
            plans.append(month.mark(november["id"], "failed", "bounced").status_code)
        else:
            plans.append("planned again")
        return at_close(*args)

    with monkeypatch.context() as patched:
        patched.setattr(payouts, "at_close", fail_in_the_gap)
        month.close(DEC)
    assert plans == [200, "planned again"]
    december = 2 * TEA_GUIDE + (TEA_GUIDE if starlight_sells_in_december else 0)
    assert summary(month.payouts(f"?period={DEC}&account_id=starlight")) == [
        (DEC, "agency", "starlight", december, "pending")
    ]
    assert month.balance("starlight") == 0


def test_a_failure_landing_on_a_balance_already_carried_is_seen(
    month: Month, monkeypatch: pytest.MonkeyPatch
) -> None:
    month.sell("alice")
    month.sell("alice")
    month.close(NOV)  # a payout of 2304
    [november] = month.payouts()
    month.at(2026, 12, 10)
    month.sell("alice")
    month.close(DEC)  # 1152 carried
    month.at(2027, 1, 10)
    month.sell("bob")
    at_close, marked = payouts.at_close, []

    def fail_in_the_gap(*args: Any) -> Any:
        if not marked:
            marked.append(month.mark(november["id"], "failed", "bounced").status_code)
        return at_close(*args)

    with monkeypatch.context() as patched:
        patched.setattr(payouts, "at_close", fail_in_the_gap)
        month.close(JAN)
    assert summary(month.payouts(f"?period={JAN}&account_id=starlight")) == [
        (JAN, "agency", "starlight", 3 * TEA_GUIDE, "pending")
    ]
    assert month.balance("starlight") == 0


# -- the rule, pure ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payable", "carried", "payout", "balance"),
    [
        (2000, 0, 2000, 0),  # reaches the minimum exactly
        (1999, 0, 0, 1999),
        (0, 2500, 2500, 0),  # no line: the balance alone is paid
        (500, 1500, 2000, 0),
        (-700, 500, 0, -200),  # negative sums carry
        (-700, 0, 0, -700),
        (2500, -600, 0, 1900),
        (0, 0, 0, 0),
    ],
)
def test_the_rule_worked_by_hand(payable: int, carried: int, payout: int, balance: int) -> None:
    decided = payouts.due("creator:bob", payable, carried, MINIMUM)
    assert (decided.payout, decided.balance) == (payout, balance)
    assert decided.payout + decided.balance == payable + carried


def test_a_minimum_of_one_never_pays_nothing() -> None:
    assert payouts.due("agency:a", 0, 0, 1).payout == 0
    assert payouts.due("agency:a", -3, 0, 1).balance == -3
    assert payouts.due("agency:a", 1, 0, 1).payout == 1


def test_every_account_with_a_line_or_a_balance_is_considered() -> None:
    statement = {
        "lines": [
            {"account_type": "agency", "account_id": "a", "guide_payable": 1500},
            {"account_type": "agency", "account_id": "a", "guide_payable": 900},
            {"account_type": "agency", "account_id": "a", "guide_payable": -100},  # adjustment
            {"account_type": "creator", "account_id": "b", "guide_payable": 300},
        ]
    }
    decided = payouts.at_close(statement, {"creator:c": "2000", "creator:b": "-50"}, MINIMUM)
    assert [(d.account, d.payable, d.carried, d.payout, d.balance) for d in decided] == [
        ("agency:a", 2300, 0, 2300, 0),
        ("creator:b", 300, -50, 0, 250),
        ("creator:c", 0, 2000, 2000, 0),
    ]


def test_the_api_names_the_statuses_the_domain_has() -> None:
    assert payout_schemas.PayoutStatus.__args__ == payouts.STATUSES  # type: ignore[attr-defined]


def test_the_payout_endpoints_are_in_the_openapi_document(client: Any) -> None:
    paths = client.get("/openapi.json").get_json()["paths"]
    for path, method in [
        ("/api/v1/payouts", "get"),
        ("/api/v1/payouts/{payout_id}", "get"),
        ("/api/v1/payouts/{payout_id}/paid", "post"),
        ("/api/v1/payouts/{payout_id}/failed", "post"),
        ("/api/v1/accounts/{account_id}/balance", "get"),
    ]:
        operation = paths[path][method]
        assert operation["security"] == [{"bearer": []}], path
        assert {"200", "401", "404", "422"} <= set(operation["responses"]), path
    listing = paths["/api/v1/payouts"]["get"]
    assert {p["name"] for p in listing["parameters"]} == {
        "period",
        "status",
        "account_id",
        "format",
    }


def test_a_creator_of_the_same_id_as_an_agency_reads_its_own_balance(
    month: Month, api: Api
) -> None:
    api.ok("PUT", "/api/v1/agencies/bob", {"name": "Bob's agency"})
    month.sell("bob")
    month.close(NOV)
    assert month.api.ok("GET", "/api/v1/accounts/bob/balance")["account_type"] == "agency"
    own = month.api.ok("GET", "/api/v1/accounts/bob/balance", token=month.world["bob"])
    assert (own["account_type"], own["balance"]) == ("creator", TEA_GUIDE)


# -- postbacks: each change announced by the script that makes it --------------------------


def announced(store: Any) -> list[tuple[str, dict[str, Any], Any]]:
    """The outbox's events, oldest first: (type, data, the event)."""
    out = []
    for line in store.lrange(keys.outbox(), 0, -1):
        entry = parse_outbox(line)
        out.append((entry.event.type, json.loads(entry.event.body)["data"], entry))
    return out


def test_a_close_announces_its_statement_and_each_payout_in_the_same_step(
    month: Month, store: Any
) -> None:
    month.sell("alice")
    month.sell("alice")
    month.sell("bob")  # under the minimum: carried, no payout, no event
    store.delete(keys.outbox())  # the orders' own events
    month.close(NOV)
    [payout] = month.payouts()
    [closed, created] = announced(store)
    assert closed[0] == "statement.closed" and closed[1]["period"] == NOV
    assert created[0] == "payout.created"
    assert created[1] == {**payout, "created_at": created[1]["created_at"]}
    assert created[1]["created_at"] == closed[1]["closed_at"]  # rendered as the API does
    # An agency's payout reaches that agency's endpoints (and the ones that see all).
    assert (created[2].event.agency_id, created[2].event.creator_id) == ("starlight", None)
    closing_sequence = int(store.hget(keys.periods(), NOV).split(":")[1])
    assert created[2].sequence == closed[2].sequence == closing_sequence


def test_marking_announces_paid_or_failed_once_and_a_refused_mark_nothing(
    month: Month, store: Any
) -> None:
    month.sell("bob")
    month.sell("bob")
    month.close(NOV)
    [payout] = month.payouts()
    store.delete(keys.outbox())
    assert month.mark(payout["id"], "failed", "account closed").status_code == 200
    assert month.mark(payout["id"], "paid", "late").status_code == 409
    [(kind, data, entry)] = announced(store)
    assert kind == "payout.failed"
    assert data == month.api.ok("GET", f"/api/v1/payouts/{payout['id']}")
    assert (entry.event.creator_id, entry.event.agency_id) == ("bob", None)

    month.at(2026, 12, 10)
    month.close(DEC)  # bob's returned balance alone reaches the minimum
    [again] = month.payouts(f"?period={DEC}")
    store.delete(keys.outbox())
    assert month.mark(again["id"], "paid", "ICBC-1").status_code == 200
    [(kind, data, _)] = announced(store)
    assert (kind, data["status"], data["reference"]) == ("payout.paid", "paid", "ICBC-1")
