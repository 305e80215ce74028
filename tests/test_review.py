"""Click fraud: floods of clicks are flagged, instant and flagged conversions are
held, and an admin releases or rejects them (API and console); the statement,
the link figures and a reconciliation agree throughout."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from redirector import clicks, fraud, settlement
from redirector.clock import MockClock
from redirector.config import SHIPPED_FRAUD, Settings
from redirector.errors import ConfigError
from redirector.periods import Period

from .conftest import (
    ADMIN_TOKEN,
    DESKTOP_CHROME,
    Api,
    Browser,
    Shop,
    advance,
    money,
    real_redis_only,
    stats,
)

NOV, DEC = "2026-11", "2026-12"
HELD_LIST = "/api/v1/review/orders?status=held"


@pytest.fixture
def link(api: Api, world: dict[str, Any]) -> dict[str, Any]:
    return api.link(world["alice"], "tea")


def order(api: Api, order_id: str) -> dict[str, Any]:
    return api.ok("GET", f"/api/v1/orders/taobao/{order_id}")


def decide(api: Api, order_id: str, action: str, token: str | None = ADMIN_TOKEN) -> Any:
    return api.call("POST", f"/api/v1/orders/taobao/{order_id}/{action}", token=token)


def totals(api: Api, period: str) -> dict[str, int]:
    return api.ok("GET", f"/api/v1/settlements/{period}")["totals"]


def reconciled(app: Any, *periods: str) -> None:
    from redirector.extension import context

    with app.app_context():
        for name in periods:
            assert settlement.reconcile(context(), Period.parse(name)) == [], name


def instant_order(
    app: Any, shop: Shop, link: dict[str, Any], clock: MockClock, order_id: str
) -> str:
    """A click, and an order paid on it three seconds later: held."""
    click_id = Browser(app).click(link)
    advance(clock, seconds=3)
    shop.ok(order_id, "paid", 12800, click_id=click_id)
    return click_id


# -- thresholds -----------------------------------------------------------------------------


def test_the_shipped_thresholds_are_the_defaults_in_code() -> None:
    assert fraud.load_fraud_rules(SHIPPED_FRAUD) == fraud.FraudRules()
    assert Settings.from_env({}).fraud == fraud.FraudRules()


def test_a_bad_thresholds_file_stops_the_start_naming_the_setting(tmp_path: Path) -> None:
    bad = tmp_path / "fraud.toml"
    bad.write_text("[flood]\nwindow_seconds = 0\n")
    with pytest.raises(ConfigError, match=r"REDIRECTOR_FRAUD=.*flood\.window_seconds"):
        Settings.from_env({"REDIRECTOR_FRAUD": str(bad)})
    bad.write_text("[flood]\nmax_clicks = 3\n")
    with pytest.raises(ConfigError, match=r"REDIRECTOR_FRAUD=.*unknown field max_clicks"):
        Settings.from_env({"REDIRECTOR_FRAUD": str(bad)})
    good = tmp_path / "strict.toml"
    good.write_text(
        "[flood]\nmax_new_per_address_agent = 3\n[instant_conversion]\nmin_seconds = 0\n"
    )
    rules = Settings.from_env({"REDIRECTOR_FRAUD": str(good)}).fraud
    assert (rules.max_new_per_address_agent, rules.max_clicks_per_device, rules.min_seconds) == (
        3,
        5,
        0,
    )
    bad.write_text("[flood]\nwindow_seconds = 600\ncounts_kept_seconds = 1000\n")
    with pytest.raises(ConfigError, match=r"flood\.counts_kept_seconds must be at least two"):
        Settings.from_env({"REDIRECTOR_FRAUD": str(bad)})


def test_the_hold_rule() -> None:
    rules = fraud.FraudRules(min_seconds=10)
    assert fraud.hold_reason(rules, suspicious=True, click_ms=0, paid_ms=99_000) == "flood"
    assert fraud.hold_reason(rules, suspicious=False, click_ms=0, paid_ms=9_999) == (
        "instant_conversion"
    )
    assert fraud.hold_reason(rules, suspicious=False, click_ms=0, paid_ms=10_000) is None


# -- holding, releasing, rejecting ------------------------------------------------------------


def test_an_order_paid_seconds_after_its_click_is_held_out_of_settlement(
    app: Any, api: Api, shop: Shop, link: dict, clock: MockClock
) -> None:
    instant_order(app, shop, link, clock, "o-1")
    held = order(api, "o-1")
    assert held["review"] == {"status": "held", "reason": "instant_conversion", "reviewed_at": None}
    assert held["commission"] == 1920
    assert money(stats(api, link)) == (1, 12800, 1920)  # link figures move as usual

    advance(clock, days=1)
    shop.ok("o-1", "confirmed", 12800)
    assert order(api, "o-1")["settled_period"] is None
    assert totals(api, NOV)["orders"] == 0
    listed = api.ok("GET", HELD_LIST)["orders"]
    assert [(o["order_id"], o["reason"], o["amount"]) for o in listed] == [
        ("o-1", "instant_conversion", 12800)
    ]
    assert listed[0]["attributed"]["creator_id"] == "alice"
    reconciled(app, NOV)

    released = decide(api, "o-1", "release")
    assert released.status_code == 200, released.get_json()
    doc = released.get_json()
    assert doc["review"]["status"] == "released" and doc["review"]["reviewed_at"]
    assert doc["settled_period"] == NOV
    assert doc["history"][-1]["status"] == "release"
    assert (totals(api, NOV)["orders"], totals(api, NOV)["commission"]) == (1, 1920)
    assert api.ok("GET", HELD_LIST)["orders"] == []
    reconciled(app, NOV)

    # Twice, or the other way: 409, and nothing changes.
    for action in ("release", "reject"):
        again = decide(api, "o-1", action)
        assert again.status_code == 409, again.get_json()
    assert order(api, "o-1") == doc
    assert (totals(api, NOV)["orders"], totals(api, NOV)["commission"]) == (1, 1920)


def test_an_order_paid_after_the_threshold_is_not_held(
    app: Any, api: Api, shop: Shop, link: dict, clock: MockClock
) -> None:
    click_id = Browser(app).click(link)
    advance(clock, seconds=fraud.FraudRules().min_seconds)
    shop.ok("o-2", "paid", 12800, click_id=click_id)
    assert order(api, "o-2")["review"] is None
    assert decide(api, "o-2", "release").status_code == 409
    assert decide(api, "o-2", "reject").status_code == 409
    assert decide(api, "nope", "release").status_code == 404


def test_a_rejected_order_earns_nothing_and_never_settles(
    app: Any, api: Api, shop: Shop, link: dict, clock: MockClock
) -> None:
    instant_order(app, shop, link, clock, "o-3")
    rejected = decide(api, "o-3", "reject")
    assert rejected.status_code == 200, rejected.get_json()
    doc = rejected.get_json()
    assert (doc["review"]["status"], doc["commission"]) == ("rejected", 0)
    assert money(stats(api, link)) == (0, 0, 0)

    advance(clock, days=1)
    shop.ok("o-3", "confirmed", 12800)
    advance(clock, days=1)
    shop.ok("o-3", "refunded", 12800, refunded_amount=800)
    after = order(api, "o-3")
    assert (after["status"], after["commission"], after["settled_period"]) == ("refunded", 0, None)
    assert money(stats(api, link)) == (0, 0, 0)
    assert totals(api, NOV)["orders"] == 0
    assert decide(api, "o-3", "reject").status_code == 409
    assert decide(api, "o-3", "release").status_code == 409
    reconciled(app, NOV)


def test_rejecting_a_cancelled_held_order_takes_nothing_out_twice(
    app: Any, api: Api, shop: Shop, link: dict, clock: MockClock
) -> None:
    instant_order(app, shop, link, clock, "o-4")
    instant_order(app, shop, link, clock, "o-5")
    advance(clock, minutes=5)
    shop.ok("o-4", "cancelled", 12800)
    assert money(stats(api, link)) == (1, 12800, 1920)
    assert decide(api, "o-4", "reject").status_code == 200
    assert money(stats(api, link)) == (1, 12800, 1920)
    assert decide(api, "o-5", "reject").status_code == 200
    assert money(stats(api, link)) == (0, 0, 0)


def test_a_held_order_refunded_then_released_settles_its_net_in_a_later_open_period(
    app: Any, api: Api, shop: Shop, link: dict, clock: MockClock
) -> None:
    instant_order(app, shop, link, clock, "late")
    instant_order(app, shop, link, clock, "soon")
    advance(clock, days=2)
    shop.ok("late", "confirmed", 12800)
    shop.ok("soon", "confirmed", 12800)
    advance(clock, days=2)
    shop.ok("late", "refunded", 12800, refunded_amount=2800)  # net 10000, commission 1500
    # "soon" is released while November is open: it settles there.
    assert decide(api, "soon", "release").get_json()["settled_period"] == NOV

    advance(clock, days=14)  # December 8th: November can close
    assert api.admin("POST", f"/api/v1/settlements/{NOV}/close").status_code == 200
    released = decide(api, "late", "release").get_json()
    assert released["settled_period"] == DEC  # the first open period not before November
    dec = totals(api, DEC)
    assert (dec["orders"], dec["gmv"], dec["commission"]) == (1, 10000, 1500)
    assert totals(api, NOV)["orders"] == 1
    reconciled(app, NOV, DEC)

    # A refund after it settled in the open December moves December's line.
    advance(clock, days=1)
    shop.ok("late", "refunded", 12800, refunded_amount=12800)
    assert totals(api, DEC)["commission"] == 0
    reconciled(app, NOV, DEC)


def test_review_is_for_admins(
    app: Any, api: Api, shop: Shop, link: dict, clock: MockClock, world: dict
) -> None:
    instant_order(app, shop, link, clock, "o-6")
    assert api.call("GET", HELD_LIST, token=world["alice"]).status_code == 403
    assert api.call("GET", HELD_LIST, token=None).status_code == 401
    for action in ("release", "reject"):
        assert decide(api, "o-6", action, token=world["alice"]).status_code == 403
        assert decide(api, "o-6", action, token=None).status_code == 401
    assert order(api, "o-6")["review"]["status"] == "held"
    assert api.call("GET", "/api/v1/review/orders?status=released").status_code == 422


def test_the_api_document_describes_review() -> None:
    from redirector import create_app

    app = create_app(
        Settings.from_env({"REDIRECTOR_ADMIN_TOKEN": ADMIN_TOKEN}), test_config={"TESTING": True}
    )
    doc = app.test_client().get("/openapi.json").get_json()
    assert "/api/v1/review/orders" in doc["paths"]
    release = doc["paths"]["/api/v1/orders/{storefront_id}/{order_id}/release"]["post"]
    assert {"200", "404", "409"} <= set(release["responses"])
    assert "OrderReview" in doc["components"]["schemas"]


# -- the console ------------------------------------------------------------------------------


def csrf_token(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match
    return match.group(1)


def test_the_console_lists_held_orders_and_its_buttons_decide_them(
    app: Any, api: Api, client: Any, shop: Shop, link: dict, clock: MockClock
) -> None:
    instant_order(app, shop, link, clock, "c-1")
    instant_order(app, shop, link, clock, "c-2")
    sign_in_page = client.get("/console/sign-in").get_data(as_text=True)
    client.post(
        "/console/sign-in", data={"credential": ADMIN_TOKEN, "csrf_token": csrf_token(sign_in_page)}
    )
    dashboard = client.get("/console/admin").get_data(as_text=True)
    assert 'href="/console/admin/held-orders"' in dashboard

    page = client.get("/console/admin/held-orders", headers={"Accept-Language": "en"})
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'data-order="taobao:c-1"' in html and 'data-order="taobao:c-2"' in html
    assert "instant conversion" in html
    token = csrf_token(html)

    no_token = client.post("/console/admin/held-orders/taobao/c-1/release")
    assert no_token.status_code == 400
    assert order(api, "c-1")["review"]["status"] == "held"

    done = client.post("/console/admin/held-orders/taobao/c-1/release", data={"csrf_token": token})
    assert done.status_code == 302
    done = client.post("/console/admin/held-orders/taobao/c-2/reject", data={"csrf_token": token})
    assert done.status_code == 302
    assert order(api, "c-1")["review"]["status"] == "released"
    assert order(api, "c-2")["review"]["status"] == "rejected"
    html = client.get("/console/admin/held-orders").get_data(as_text=True)
    assert "data-order=" not in html

    again = client.post("/console/admin/held-orders/taobao/c-1/reject", data={"csrf_token": token})
    assert again.status_code == 302
    assert order(api, "c-1")["review"]["status"] == "released"
    history = client.get("/console/admin/orders/taobao/c-2").get_data(as_text=True)
    assert "order.reject" not in history


@real_redis_only
def test_concurrent_releases_and_rejections_apply_one(
    app: Any, api: Api, shop: Shop, link: dict, clock: MockClock
) -> None:
    instant_order(app, shop, link, clock, "race")
    advance(clock, minutes=1)
    shop.ok("race", "confirmed", 12800)

    def post(action: str) -> int:
        return decide(Api(app.test_client()), "race", action).status_code

    with ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(post, ["release", "reject"] * 10))
    assert sorted(answers) == [200] + [409] * 19
    final = order(api, "race")
    assert len([h for h in final["history"] if h["status"] in ("release", "reject")]) == 1
    if final["review"]["status"] == "released":
        assert totals(api, NOV)["orders"] == 1 and money(stats(api, link))[0] == 1
    else:
        assert totals(api, NOV)["orders"] == 0 and money(stats(api, link)) == (0, 0, 0)
    reconciled(app, NOV)


# -- floods -----------------------------------------------------------------------------------


def from_ip(app: Any, ip: str) -> Any:
    """A new device (its own client, no cookie yet) at ``ip``."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = ip
    return client


def click_from(client: Any, link: dict[str, Any]) -> str:
    response = client.get(f"/r/{link['token']}", headers={"User-Agent": DESKTOP_CHROME})
    assert response.status_code == 302
    return parse_qs(urlsplit(response.headers["Location"]).query)["rd_click"][0]


def test_the_click_over_the_address_and_agent_threshold_is_suspicious_and_still_counts(
    app: Any, api: Api, store: Any, link: dict, clock: MockClock
) -> None:
    """New devices (no cookie yet), one address, one user agent: a farm's clicks."""
    rules = fraud.FraudRules()
    ip = "203.0.113.7"
    limit = rules.max_new_per_address_agent
    ids = [click_from(from_ip(app, ip), link) for _ in range(limit + 1)]
    assert [clicks.get_click(store, i).suspicious for i in ids] == [False] * limit + [True]
    assert not clicks.get_click(store, click_from(from_ip(app, "198.51.100.23"), link)).suspicious
    figures = stats(api, link)
    assert (figures["clicks"], figures["unique_clicks"], figures["suspicious_clicks"]) == (
        limit + 2,
        limit + 2,
        1,
    )
    daily = api.ok("GET", f"/api/v1/links/{link['id']}")["daily"]
    assert [d["suspicious_clicks"] for d in daily] == [1]

    advance(clock, seconds=rules.window_seconds)  # a new window
    assert not clicks.get_click(store, click_from(from_ip(app, ip), link)).suspicious
    assert stats(api, link)["suspicious_clicks"] == 1


def test_bots_never_count_towards_a_flood(
    app: Any, store: Any, link: dict, clock: MockClock
) -> None:
    client = from_ip(app, "203.0.113.9")
    for _ in range(fraud.FraudRules().max_new_per_address_agent + 5):
        client.get(f"/r/{link['token']}", headers={"User-Agent": "Googlebot/2.1"})
    assert not clicks.get_click(store, click_from(client, link)).suspicious


def test_an_order_on_a_flooded_click_is_held_and_settles_once_released(
    app: Any, api: Api, shop: Shop, link: dict, clock: MockClock
) -> None:
    rules = fraud.FraudRules()
    device = Browser(app)
    ids = [device.click(link) for _ in range(rules.max_clicks_per_device + 1)]
    assert stats(api, link)["suspicious_clicks"] == 1
    advance(clock, minutes=5)  # not instant: held for the flood alone
    shop.ok("f-1", "paid", 12800, click_id=ids[-1])
    shop.ok("f-2", "paid", 12800, click_id=ids[0])  # an earlier click of the same device
    assert order(api, "f-1")["review"]["reason"] == "flood"
    assert order(api, "f-2")["review"] is None
    advance(clock, days=1)
    shop.ok("f-1", "confirmed", 12800)
    shop.ok("f-2", "confirmed", 12800)
    assert totals(api, NOV)["orders"] == 1
    reconciled(app, NOV)
    assert decide(api, "f-1", "release").status_code == 200
    assert (totals(api, NOV)["orders"], totals(api, NOV)["commission"]) == (2, 3840)
    reconciled(app, NOV)
