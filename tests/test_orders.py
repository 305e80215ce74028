"""Order callbacks through the API: signed by the storefront, applied exactly once,
moved through the lifecycle, read back by admins; the mock clock every rule reads.
And the lifecycle rule itself, ``orders.plan``, tested without Flask or Redis."""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import standardwebhooks
from hypothesis import given
from hypothesis import strategies as st

from redirector import orders, webhooks
from redirector.clock import MockClock, ms_from_datetime
from redirector.errors import Conflict, InvalidField
from redirector.money import commission_of
from redirector.orders import Credit, Order, OrderEvent
from redirector.programs import default_programs
from redirector.storefront_client import StorefrontClient

from .conftest import (
    SHANGHAI,
    T0,
    Browser,
    Shop,
    advance,
    error_of,
    money,
    order_missing,
    order_of,
    real_redis_only,
    snapshot,
    stats,
    when,
)

TOLERANCE = webhooks.TOLERANCE_SECONDS


# -- fixtures ----------------------------------------------------------------------------


@pytest.fixture
def sale(app: Any, api: Any, world: dict[str, Any], clock: MockClock) -> dict[str, Any]:
    """Alice's tea link, clicked once by a desktop browser a minute ago."""
    link = api.link(world["alice"], "tea")
    click_id = Browser(app).click(link)
    advance(clock, minutes=1)
    return {"link": link, "click_id": click_id}


# -- signatures and validation: refused requests write nothing -----------------------------


def _wrong_secret(shop: Shop, event: dict) -> tuple[bytes, dict[str, str]]:
    other = StorefrontClient("taobao", webhooks.new_secret(), post=lambda *_: None)
    return other.prepare(event, timestamp=_now_ts(shop))


def _body_altered(shop: Shop, event: dict) -> tuple[bytes, dict[str, str]]:
    body, headers = shop.client.prepare(event)
    return body.replace(b'"amount":12800', b'"amount":1280'), headers


def _skewed(seconds: int) -> Any:
    def build(shop: Shop, event: dict) -> tuple[bytes, dict[str, str]]:
        return shop.client.prepare(event, timestamp=_now_ts(shop) + seconds)

    return build


def _without(header: str) -> Any:
    def build(shop: Shop, event: dict) -> tuple[bytes, dict[str, str]]:
        body, headers = shop.client.prepare(event)
        del headers[header]
        return body, headers

    return build


def _now_ts(shop: Shop) -> int:
    return int(shop.clock.now().timestamp())


@pytest.mark.parametrize(
    ("tamper", "reason"),
    [
        (_wrong_secret, "bad_signature"),
        (_body_altered, "bad_signature"),
        (_skewed(-TOLERANCE - 1), "stale_timestamp"),
        (_skewed(TOLERANCE + 1), "stale_timestamp"),
        (_without("webhook-id"), "missing_headers"),
        (_without("webhook-timestamp"), "missing_headers"),
        (_without("webhook-signature"), "missing_headers"),
    ],
    ids=[
        "wrong secret",
        "body altered",
        "timestamp 301 s old",
        "timestamp 301 s ahead",
        "no webhook-id",
        "no webhook-timestamp",
        "no webhook-signature",
    ],
)
def test_a_callback_that_fails_verification_is_401_and_writes_nothing(
    api: Any, client: Any, store: Any, shop: Shop, sale: dict, tamper: Any, reason: str
) -> None:
    event = shop.event("o-1", "paid", 12800, click_id=sale["click_id"])
    body, headers = tamper(shop, event)
    before = snapshot(store)
    response = client.post(shop.client.path, data=body, headers=headers)
    error = error_of(response, 401)
    assert error["code"] == "unauthorized" and error["reason"] == reason
    assert snapshot(store) == before
    assert order_missing(api, "o-1")
    assert money(stats(api, sale["link"])) == (0, 0, 0)


def test_a_timestamp_exactly_300_s_either_side_of_the_clock_verifies(
    api: Any, shop: Shop, clock: MockClock
) -> None:
    now = _now_ts(shop)
    assert shop.ok("o-1", "paid", 12800, timestamp=now - TOLERANCE)["status"] == "paid"
    assert shop.ok("o-1", "confirmed", 12800, timestamp=now + TOLERANCE)["status"] == "confirmed"
    assert order_of(api, "o-1")["status"] == "confirmed"


def test_a_callback_to_an_unknown_storefront_is_404(
    api: Any, client: Any, store: Any, shop: Shop
) -> None:
    body, headers = shop.client.prepare(shop.event("o-1", "paid", 12800))
    before = snapshot(store)
    response = client.post("/api/v1/storefronts/jd/orders", data=body, headers=headers)
    assert error_of(response, 404)["code"] == "not_found"
    assert snapshot(store) == before


def test_a_signed_body_that_is_not_json_is_400(
    api: Any, client: Any, store: Any, world: dict, clock: MockClock
) -> None:
    # Signed by the reference Standard Webhooks library, not by our own code.
    body = '{"order_id": "o-1", "status": "paid", '
    signature = standardwebhooks.Webhook(world["shop"]["signing_secret"]).sign(
        "msg_broken", clock.now(), body
    )
    headers = {
        "webhook-id": "msg_broken",
        "webhook-timestamp": str(int(clock.now().timestamp())),
        "webhook-signature": signature,
        "Content-Type": "application/json",
    }
    before = snapshot(store)
    response = client.post("/api/v1/storefronts/taobao/orders", data=body, headers=headers)
    assert error_of(response, 400)["code"] == "bad_request"
    assert snapshot(store) == before
    assert order_missing(api, "o-1")


def test_the_reference_library_signs_an_event_we_apply(
    api: Any, client: Any, world: dict, clock: MockClock, sale: dict
) -> None:
    event = {
        "order_id": "o-1",
        "status": "paid",
        "amount": 12800,
        "currency": "CNY",
        "occurred_at": clock.now().astimezone(SHANGHAI).isoformat(),
        "click_id": sale["click_id"],
    }
    body = json.dumps(event)
    hook = standardwebhooks.Webhook(world["shop"]["signing_secret"])
    headers = {
        "webhook-id": "msg_reference",
        "webhook-timestamp": str(int(clock.now().timestamp())),
        "webhook-signature": hook.sign("msg_reference", clock.now(), body),
    }
    response = client.post("/api/v1/storefronts/taobao/orders", data=body, headers=headers)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["commission"] == 1920
    assert money(stats(api, sale["link"])) == (1, 12800, 1920)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"currency": "USD"}, "currency"),
        ({"amount": -1}, "amount"),
        ({"status": "shipped"}, "status"),
        ({"occurred_at": "yesterday"}, "occurred_at"),
        ({"occurred_at": "2026-11-20T10:00:00"}, "occurred_at"),
        (
            {"occurred_at": lambda now: (now + timedelta(seconds=TOLERANCE + 1)).isoformat()},
            "occurred_at",
        ),
    ],
    ids=["currency USD", "negative amount", "unknown status", "not a time", "naive", "future"],
)
def test_an_invalid_field_is_422_naming_it_and_writes_nothing(
    api: Any, store: Any, shop: Shop, sale: dict, change: dict, field: str
) -> None:
    event = shop.event("o-1", "paid", 12800, click_id=sale["click_id"])
    now = shop.clock.now()
    event.update({k: v(now) if callable(v) else v for k, v in change.items()})
    before = snapshot(store)
    response = shop.client.send(event)
    error = error_of(response, 422)
    assert error["code"] == "invalid_field"
    assert [f["field"] for f in error["fields"]] == [field]
    assert snapshot(store) == before
    assert order_missing(api, "o-1")


def test_an_event_up_to_300_s_ahead_of_the_clock_is_taken(api: Any, shop: Shop) -> None:
    at = shop.clock.now() + timedelta(seconds=TOLERANCE)
    shop.ok("o-1", "paid", 12800, at=at)
    assert when(order_of(api, "o-1")["paid_at"]) == at


# -- secret rotation --------------------------------------------------------------------------


def test_after_rotation_both_secrets_verify_until_the_grace_ends(
    api: Any, client: Any, world: dict, shop: Shop, clock: MockClock
) -> None:
    rotated = api.ok("POST", "/api/v1/storefronts/taobao/signing-secret", {"grace_seconds": 3600})
    new_secret = rotated["signing_secret"]
    assert new_secret.startswith("whsec_") and new_secret != world["shop"]["signing_secret"]
    assert when(rotated["previous_valid_until"]) == T0 + timedelta(hours=1)
    renewed = Shop(client, clock, new_secret)

    assert shop.ok("o-1", "paid", 12800)["status"] == "paid"  # the old secret
    assert renewed.ok("o-2", "paid", 5900)["status"] == "paid"  # the new one

    advance(clock, seconds=3601)
    stale = shop.send("o-1", "confirmed", 12800)
    assert error_of(stale, 401)["reason"] == "bad_signature"
    assert order_of(api, "o-1")["status"] == "paid"
    assert renewed.ok("o-1", "confirmed", 12800)["status"] == "confirmed"


def test_rotation_is_for_admins_only(api: Any, world: dict, shop: Shop) -> None:
    response = api.call(
        "POST",
        "/api/v1/storefronts/taobao/signing-secret",
        token=world["alice"],
        json={"grace_seconds": 3600},
    )
    assert error_of(response, 403)["code"] == "forbidden"
    assert shop.ok("o-1", "paid", 12800)["status"] == "paid"  # the secret did not change


def test_a_header_carrying_the_old_and_the_new_signature_verifies(
    api: Any, client: Any, world: dict, clock: MockClock, shop: Shop
) -> None:
    old = world["shop"]["signing_secret"]
    new = api.ok("POST", "/api/v1/storefronts/taobao/signing-secret", {"grace_seconds": 0})[
        "signing_secret"
    ]
    # With no grace only the new secret verifies: a sender that signs with both
    # during its own switch-over still gets through.
    body = json.dumps(shop.event("o-1", "paid", 12800)).encode()
    ts = _now_ts(shop)
    headers = {
        "webhook-id": "msg_both",
        "webhook-timestamp": str(ts),
        "webhook-signature": " ".join(webhooks.sign(s, "msg_both", ts, body) for s in (old, new)),
    }
    alone = {**headers, "webhook-signature": webhooks.sign(old, "msg_both", ts, body)}
    assert error_of(client.post(shop.client.path, data=body, headers=alone), 401)
    response = client.post(shop.client.path, data=body, headers=headers)
    assert response.status_code == 200, response.get_json()
    assert order_of(api, "o-1")["status"] == "paid"


# -- exactly once ---------------------------------------------------------------------------


def test_a_retried_webhook_id_answers_the_first_response_and_changes_nothing(
    api: Any, store: Any, shop: Shop, clock: MockClock, sale: dict
) -> None:
    first = shop.send("o-1", "paid", 12800, click_id=sale["click_id"], msg_id="msg_1")
    assert first.status_code == 200 and "Webhook-Replayed" not in first.headers
    advance(clock, seconds=90)  # re-signed later, with a new timestamp
    before = snapshot(store)
    again = shop.send("o-1", "paid", 12800, click_id=sale["click_id"], msg_id="msg_1")
    assert again.status_code == 200
    assert again.headers["Webhook-Replayed"] == "true"
    assert again.data == first.data
    # Even a different body under the same id: the id was processed, nothing moves.
    other = shop.send("o-1", "cancelled", 12800, msg_id="msg_1")
    assert other.data == first.data and other.headers["Webhook-Replayed"] == "true"

    assert snapshot(store) == before
    assert money(stats(api, sale["link"])) == (1, 12800, 1920)
    assert len(order_of(api, "o-1")["history"]) == 1


def test_the_same_status_and_data_under_a_new_id_is_recorded_but_moves_nothing(
    api: Any, shop: Shop, sale: dict
) -> None:
    first = shop.ok("o-1", "paid", 12800, click_id=sale["click_id"])
    again = shop.send("o-1", "paid", 12800, click_id=sale["click_id"])
    assert again.status_code == 200 and "Webhook-Replayed" not in again.headers
    assert again.get_json() == first
    shop.ok("o-1", "confirmed", 12800)
    shop.ok("o-1", "confirmed", 12800)
    shop.ok("o-1", "refunded", 12800, refunded_amount=800)
    assert shop.ok("o-1", "refunded", 12800, refunded_amount=800)["commission"] == 1800

    assert money(stats(api, sale["link"])) == (1, 12000, 1800)
    history = order_of(api, "o-1")["history"]
    assert [(h["status"], h["applied"]) for h in history] == [
        ("paid", True),
        ("paid", False),
        ("confirmed", True),
        ("confirmed", False),
        ("refunded", True),
        ("refunded", False),
    ]


# -- lifecycle, commission and link stats -------------------------------------------------


def test_paid_confirmed_then_two_partial_refunds_move_commission_and_stats(
    api: Any, shop: Shop, clock: MockClock, sale: dict
) -> None:
    # 12830 at 1500 bps is 1924.5: half up gives 1925 (floor and half-even give 1924).
    paid = shop.ok("o-1", "paid", 12830, click_id=sale["click_id"])
    assert paid["commission"] == 1925
    assert money(stats(api, sale["link"])) == (1, 12830, 1925)

    advance(clock, days=1)
    assert shop.ok("o-1", "confirmed", 12830)["commission"] == 1925
    assert money(stats(api, sale["link"])) == (1, 12830, 1925)

    advance(clock, days=1)  # net 11830: 1774.5 -> 1775
    refunded = shop.ok("o-1", "refunded", 12830, refunded_amount=1000)
    assert (refunded["status"], refunded["commission"]) == ("refunded", 1775)
    assert money(stats(api, sale["link"])) == (1, 11830, 1775)

    advance(clock, days=1)  # cumulative: net 3, 0.45 -> 0
    assert shop.ok("o-1", "refunded", 12830, refunded_amount=12827)["commission"] == 0
    assert money(stats(api, sale["link"])) == (1, 3, 0)

    order = order_of(api, "o-1")
    assert (order["status"], order["refunded_amount"], order["commission"]) == (
        "refunded",
        12827,
        0,
    )
    assert [h["refunded_amount"] for h in order["history"]] == [None, None, 1000, 12827]


def test_a_small_order_rounds_half_up(api: Any, shop: Shop, sale: dict) -> None:
    assert shop.ok("o-1", "paid", 10, click_id=sale["click_id"])["commission"] == 2  # 1.5
    assert money(stats(api, sale["link"])) == (1, 10, 2)


def test_a_cancelled_order_gives_back_what_it_added_to_the_link(
    api: Any, shop: Shop, clock: MockClock, sale: dict
) -> None:
    shop.ok("o-1", "paid", 12800, click_id=sale["click_id"])
    before = money(stats(api, sale["link"]))
    assert before == (1, 12800, 1920)

    shop.ok("o-2", "paid", 5990, click_id=sale["click_id"])  # 898.5 -> 899
    assert money(stats(api, sale["link"])) == (2, 18790, 2819)
    advance(clock, hours=2)
    cancelled = shop.ok("o-2", "cancelled", 5990)
    assert (cancelled["status"], cancelled["commission"]) == ("cancelled", 0)
    assert money(stats(api, sale["link"])) == before

    order = order_of(api, "o-2")
    assert (order["status"], order["commission"]) == ("cancelled", 0)
    assert when(order["cancelled_at"]) == clock.now()


IMPOSSIBLE = {
    "none to confirmed": ([], ("confirmed", None), ("none", "confirmed")),
    "paid to refunded": ([("paid", None)], ("refunded", 100), ("paid", "refunded")),
    "cancelled to paid": (
        [("paid", None), ("cancelled", None)],
        ("paid", None),
        ("cancelled", "paid"),
    ),
    "refunded to confirmed": (
        [("paid", None), ("confirmed", None), ("refunded", 100)],
        ("confirmed", None),
        ("refunded", "confirmed"),
    ),
    "confirmed to cancelled": (
        [("paid", None), ("confirmed", None)],
        ("cancelled", None),
        ("confirmed", "cancelled"),
    ),
}


@pytest.mark.parametrize(("before", "move", "states"), IMPOSSIBLE.values(), ids=IMPOSSIBLE)
def test_an_impossible_move_is_409_naming_both_states(
    api: Any, store: Any, shop: Shop, sale: dict, before: list, move: tuple, states: tuple
) -> None:
    for status, refunded in before:
        shop.ok("o-1", status, 12800, click_id=sale["click_id"], refunded_amount=refunded)
    figures = money(stats(api, sale["link"]))
    kept = snapshot(store)

    status, refunded = move
    error = error_of(shop.send("o-1", status, 12800, refunded_amount=refunded), 409)
    assert error["code"] == "conflict"
    current, wanted = states
    assert f"from {current} to {wanted}" in error["message"]
    assert snapshot(store) == kept
    assert money(stats(api, sale["link"])) == figures


def test_a_refund_above_the_amount_is_422(api: Any, store: Any, shop: Shop, sale: dict) -> None:
    shop.ok("o-1", "paid", 12800, click_id=sale["click_id"])
    shop.ok("o-1", "confirmed", 12800)
    kept = snapshot(store)
    error = error_of(shop.send("o-1", "refunded", 12800, refunded_amount=12801), 422)
    assert [f["field"] for f in error["fields"]] == ["refunded_amount"]
    assert snapshot(store) == kept
    # The whole amount is a refund like any other.
    assert shop.ok("o-1", "refunded", 12800, refunded_amount=12800)["commission"] == 0
    assert money(stats(api, sale["link"])) == (1, 0, 0)


def test_a_refunded_amount_never_goes_down(api: Any, store: Any, shop: Shop, sale: dict) -> None:
    shop.ok("o-1", "paid", 12800, click_id=sale["click_id"])
    shop.ok("o-1", "confirmed", 12800)
    shop.ok("o-1", "refunded", 12800, refunded_amount=3000)
    kept = snapshot(store)
    error = error_of(shop.send("o-1", "refunded", 12800, refunded_amount=2000), 409)
    assert "3000" in error["message"] and "2000" in error["message"]
    assert snapshot(store) == kept
    assert order_of(api, "o-1")["refunded_amount"] == 3000


def test_an_event_with_another_amount_than_the_order_is_409(
    api: Any, store: Any, shop: Shop, sale: dict
) -> None:
    shop.ok("o-1", "paid", 12800, click_id=sale["click_id"])
    kept = snapshot(store)
    error = error_of(shop.send("o-1", "confirmed", 12900), 409)
    assert "12900" in error["message"] and "12800" in error["message"]
    assert snapshot(store) == kept
    assert order_of(api, "o-1")["status"] == "paid"


def test_order_ids_that_extend_another_order_id_do_not_clash(api: Any, shop: Shop) -> None:
    # Order ids may hold ':' (schemas.OrderId), so "T1:history" and "T1" are two orders.
    shop.ok("T1:history", "paid", 100)
    shop.ok("T1", "paid", 200)
    assert order_of(api, "T1")["amount"] == 200
    assert order_of(api, "T1:history")["amount"] == 100


# -- the order as admins read it ---------------------------------------------------------------


def test_an_admin_reads_the_order_with_its_attribution_and_history(
    api: Any, world: dict, shop: Shop, clock: MockClock, sale: dict
) -> None:
    paid_at = clock.now().astimezone(SHANGHAI)
    shop.ok("o-1", "paid", 12800, click_id=sale["click_id"], msg_id="msg_paid")
    advance(clock, days=2)
    confirmed_at = clock.now().astimezone(SHANGHAI)
    shop.ok("o-1", "confirmed", 12800, msg_id="msg_confirmed")

    order = order_of(api, "o-1")
    assert set(order) == {
        "storefront_id",
        "order_id",
        "status",
        "amount",
        "refunded_amount",
        "currency",
        "paid_at",
        "confirmed_at",
        "refunded_at",
        "cancelled_at",
        "attributed",
        "commission_rate_bps",
        "commission",
        "settled_period",
        "review",
        "history",
    }
    assert order["storefront_id"] == "taobao" and order["order_id"] == "o-1"
    assert (order["status"], order["amount"], order["refunded_amount"]) == ("confirmed", 12800, 0)
    assert order["currency"] == "CNY"
    assert when(order["paid_at"]) == paid_at
    assert when(order["confirmed_at"]) == confirmed_at
    assert order["refunded_at"] is None and order["cancelled_at"] is None
    assert order["attributed"] == {
        "click_id": sale["click_id"],
        "link_id": sale["link"]["id"],
        "creator_id": "alice",
        "product_id": "tea",
        "channel": "weibo",
        "account_id": "starlight",
        "account_type": "agency",
        "by": "click_id",
    }
    assert (order["commission_rate_bps"], order["commission"]) == (1500, 1920)

    history = order["history"]
    assert [h["webhook_id"] for h in history] == ["msg_paid", "msg_confirmed"]  # oldest first
    assert when(history[0].pop("occurred_at")) == paid_at
    assert when(history[0].pop("received_at")) == paid_at
    assert history[0] == {
        "webhook_id": "msg_paid",
        "status": "paid",
        "amount": 12800,
        "refunded_amount": None,
        "click_id": sale["click_id"],
        "device_id": None,
        "applied": True,
    }
    assert when(history[1]["occurred_at"]) == confirmed_at


def test_an_order_is_for_admins_only(api: Any, world: dict, shop: Shop) -> None:
    shop.ok("o-1", "paid", 12800)
    path = "/api/v1/orders/taobao/o-1"
    assert error_of(api.call("GET", path, token=world["alice"]), 403)["code"] == "forbidden"
    assert error_of(api.call("GET", path, token=None), 401)["code"] == "unauthorized"
    assert error_of(api.admin("GET", "/api/v1/orders/taobao/o-404"), 404)["code"] == "not_found"


# -- the clock ------------------------------------------------------------------------------


def test_the_mock_clock_is_set_by_admins_and_read_by_every_rule(
    api: Any, client: Any, world: dict
) -> None:
    assert when(api.ok("GET", "/api/v1/clock")["now"]) == T0
    later = "2031-03-01T01:00:00Z"
    frozen = datetime.fromisoformat(later)
    assert when(api.ok("PUT", "/api/v1/clock", {"now": later})["now"]) == frozen
    assert when(api.ok("GET", "/api/v1/clock")["now"]) == frozen

    # The signature tolerance reads it: a timestamp at the mock time verifies,
    # one at the real time (years away) does not.
    at_mock = StorefrontClient(
        "taobao",
        world["shop"]["signing_secret"],
        lambda path, body, headers: client.post(path, data=body, headers=headers),
        clock=lambda: frozen,
    )
    response = at_mock.send(at_mock.event("o-1", "paid", 12800, frozen))
    assert response.status_code == 200, response.get_json()
    assert when(order_of(api, "o-1")["history"][0]["received_at"]) == frozen
    at_real = StorefrontClient(
        "taobao",
        world["shop"]["signing_secret"],
        lambda path, body, headers: client.post(path, data=body, headers=headers),
    )
    stale = at_real.send(at_real.event("o-2", "paid", 12800, datetime.now(UTC)))
    assert error_of(stale, 401)["reason"] == "stale_timestamp"


def test_the_mock_clock_starts_at_the_real_time(api: Any) -> None:
    before = datetime.now(UTC)
    first = when(api.ok("GET", "/api/v1/clock")["now"])  # never set: read first here
    time.sleep(0.05)
    again = when(api.ok("GET", "/api/v1/clock")["now"])

    assert before - timedelta(seconds=1) <= first <= datetime.now(UTC)
    assert again == first  # and then stands still


def test_only_admins_read_or_set_the_clock_and_only_with_an_offset(api: Any, world: dict) -> None:
    alice = world["alice"]
    assert error_of(api.call("GET", "/api/v1/clock", token=alice), 403)["code"] == "forbidden"
    response = api.call("PUT", "/api/v1/clock", token=alice, json={"now": "2031-01-01T00:00:00Z"})
    assert error_of(response, 403)["code"] == "forbidden"
    naive = api.admin("PUT", "/api/v1/clock", {"now": "2031-01-01T00:00:00"})
    assert [f["field"] for f in error_of(naive, 422)["fields"]] == ["now"]
    assert when(api.ok("GET", "/api/v1/clock")["now"]) == T0


def test_with_the_real_clock_the_clock_endpoints_do_not_exist(
    env: dict[str, str], request: pytest.FixtureRequest
) -> None:
    env["REDIRECTOR_CLOCK"] = "real"
    api = request.getfixturevalue("api")
    assert error_of(api.admin("GET", "/api/v1/clock"), 404)["code"] == "not_found"
    put = api.admin("PUT", "/api/v1/clock", {"now": "2031-01-01T00:00:00+08:00"})
    assert error_of(put, 404)["code"] == "not_found"

    # and callbacks are checked against the real time
    world = api.world()
    real = StorefrontClient(
        "taobao",
        world["shop"]["signing_secret"],
        lambda path, body, headers: api.client.post(path, data=body, headers=headers),
    )
    response = real.send(real.event("o-1", "paid", 12800, datetime.now(UTC)))
    assert response.status_code == 200, response.get_json()


# -- concurrency (real Redis) ---------------------------------------------------------------


def _all_at_once(app: Any, requests: list[tuple[bytes, dict[str, str]]], path: str) -> list:
    """Post every (body, headers) from its own thread and test client, all released together."""
    barrier = threading.Barrier(len(requests))

    def deliver(request: tuple[bytes, dict[str, str]]) -> tuple[int, bytes, str | None]:
        body, headers = request
        own = app.test_client()
        barrier.wait()
        response = own.post(path, data=body, headers=headers)
        return response.status_code, response.data, response.headers.get("Webhook-Replayed")

    with ThreadPoolExecutor(len(requests)) as pool:
        return list(pool.map(deliver, requests))


@real_redis_only
def test_twenty_concurrent_deliveries_of_one_event_apply_it_once(
    app: Any, api: Any, shop: Shop, sale: dict
) -> None:
    event = shop.event("o-1", "paid", 12800, click_id=sale["click_id"])
    signed = shop.client.prepare(event, msg_id="msg_storm")
    answers = _all_at_once(app, [signed] * 20, shop.client.path)

    assert {(status, data) for status, data, _ in answers} == {(200, answers[0][1])}
    assert [replayed for _, _, replayed in answers].count(None) == 1
    assert json.loads(answers[0][1])["commission"] == 1920
    assert money(stats(api, sale["link"])) == (1, 12800, 1920)
    assert len(order_of(api, "o-1")["history"]) == 1


@real_redis_only
def test_twenty_concurrent_partial_refunds_end_at_the_highest(
    app: Any, api: Any, shop: Shop, sale: dict
) -> None:
    amount = 12830
    shop.ok("o-1", "paid", amount, click_id=sale["click_id"])
    shop.ok("o-1", "confirmed", amount)
    gmv_before = stats(api, sale["link"])["gmv"]
    refunds = [
        shop.client.prepare(shop.event("o-1", "refunded", amount, refunded_amount=100 * i))
        for i in range(1, 21)
    ]
    answers = _all_at_once(app, refunds, shop.client.path)

    assert {status for status, _, _ in answers} <= {200, 409}
    refused = [json.loads(data)["error"]["message"] for status, data, _ in answers if status == 409]
    assert all("cannot go down" in message for message in refused), refused
    assert all(replayed is None for _, _, replayed in answers)
    order = order_of(api, "o-1")
    assert order["refunded_amount"] == 2000
    final_commission = commission_of(amount, 2000, 1500)  # 10830 * 0.15 = 1624.5
    assert final_commission == 1625 and order["commission"] == final_commission
    after = stats(api, sale["link"])
    assert (after["orders"], after["gmv"], after["commission"]) == (1, amount - 2000, 1625)
    assert gmv_before - after["gmv"] == 2000

    # Applied refunds form a rising sequence; every refused one was lower than one before it.
    applied = [h["refunded_amount"] for h in order["history"] if h["status"] == "refunded"]
    assert applied == sorted(applied) and applied[-1] == 2000
    assert all(h["applied"] for h in order["history"])
    assert len(applied) == [status for status, _, _ in answers].count(200)


# -- the rule, pure ---------------------------------------------------------------------------

PROGRAMS = default_programs()
CREDIT = Credit(
    click_id="c1",
    link_id="L000000001",
    creator_id="alice",
    product_id="tea",
    channel="weibo",
    account="agency:starlight",
    rate_bps=1500,
    how="click_id",
)
T0_MS = ms_from_datetime(T0)


def an_order(
    status: str,
    amount: int = 12830,
    refunded: int = 0,
    credit: Credit | None = CREDIT,
    settled_period: str | None = None,
) -> Order:
    times = {f"{s}_at": T0_MS + i for i, s in enumerate(("paid", "confirmed", "refunded"))}
    kept = {"paid": 1, "confirmed": 2, "refunded": 3, "cancelled": 1}[status]
    times = dict(list(times.items())[:kept])
    if status == "cancelled":
        times["cancelled_at"] = T0_MS + 1
    return Order(
        storefront_id="taobao",
        order_id="o-1",
        status=status,
        amount=amount,
        refunded_amount=refunded,
        currency="CNY",
        version=3,
        times=times,
        credit=credit,
        commission=0 if credit is None else commission_of(amount, refunded, credit.rate_bps),
        settled_period=settled_period,
    )


def an_event(status: str, amount: int = 12830, refunded: int | None = None, at: int = 0) -> Any:
    return OrderEvent(
        webhook_id="msg",
        order_id="o-1",
        status=status,
        amount=amount,
        currency="CNY",
        occurred_ms=T0_MS + 60_000 + at,
        received_ms=T0_MS + 60_000 + at,
        refunded_amount=refunded,
    )


def plan(order: Order | None, event: OrderEvent, credit: Credit | None = None) -> Any:
    return orders.plan(order, event, credit=credit, programs=PROGRAMS, tz=SHANGHAI, closed=set())


def test_plan_a_paid_order_is_born_attributed_with_its_rate_snapshotted() -> None:
    p = plan(None, an_event("paid"), CREDIT)
    assert p.applied and p.status == "paid" and p.commission == 1925
    assert p.fields["commission_rate_bps"] == 1500 and p.fields["paid_at"] == T0_MS + 60_000
    assert p.link == {"orders": 1, "gmv": 12830, "commission": 1925}


def test_plan_an_unattributed_order_is_born_earning_nothing_and_moving_no_link() -> None:
    p = plan(None, an_event("paid"), None)
    assert p.applied and p.commission == 0 and p.fields["commission"] == 0
    assert p.link == {} and p.product == {} and "link_id" not in p.fields
    refund = plan(an_order("confirmed", credit=None), an_event("refunded", refunded=30))
    assert refund.applied and refund.link == {} and refund.fields["refunded_amount"] == 30


def test_plan_the_same_status_with_the_same_data_is_a_no_op() -> None:
    for status, refunded in (("paid", None), ("confirmed", None), ("refunded", 500)):
        order = an_order(status, refunded=refunded or 0)
        p = plan(order, an_event(status, refunded=refunded))
        assert not p.applied and p.link == {} and p.fields == {}
        assert p.commission == order.commission


@pytest.mark.parametrize(
    ("current", "wanted"),
    [
        ("none", "confirmed"),
        ("none", "refunded"),
        ("none", "cancelled"),
        ("paid", "refunded"),
        ("cancelled", "paid"),
        ("cancelled", "confirmed"),
        ("refunded", "confirmed"),
        ("refunded", "cancelled"),
        ("confirmed", "cancelled"),
        ("confirmed", "paid"),
    ],
)
def test_plan_an_impossible_move_names_both_states(current: str, wanted: str) -> None:
    order = None if current == "none" else an_order(current, refunded=100 * (current == "refunded"))
    refunded = 200 if wanted == "refunded" else None
    with pytest.raises(Conflict) as caught:
        plan(order, an_event(wanted, refunded=refunded), CREDIT)
    assert caught.value.message == f"order cannot go from {current} to {wanted}"
    assert caught.value.details == {"current_status": current, "requested_status": wanted}


def test_plan_refund_edges() -> None:
    confirmed = an_order("confirmed")
    with pytest.raises(InvalidField, match="refunded_amount"):
        plan(confirmed, an_event("refunded", refunded=12831))
    with pytest.raises(InvalidField, match="refunded_amount"):
        plan(confirmed, an_event("refunded", refunded=0))
    with pytest.raises(InvalidField, match="refunded_amount"):
        plan(confirmed, an_event("refunded"))
    with pytest.raises(InvalidField, match="refunded_amount"):
        plan(an_order("paid"), an_event("confirmed", refunded=10))
    with pytest.raises(Conflict, match="cannot go down from 500 to 400"):
        plan(an_order("refunded", refunded=500), an_event("refunded", refunded=400))
    with pytest.raises(Conflict, match="amount 12831 differs"):
        plan(confirmed, an_event("refunded", amount=12831, refunded=100))
    whole = plan(confirmed, an_event("refunded", refunded=12830))
    assert whole.commission == 0 and whole.link == {"gmv": -12830, "commission": -1925}


def test_plan_an_event_dated_before_the_last_one_is_refused() -> None:
    order = an_order("paid")
    with pytest.raises(InvalidField, match="occurred_at"):
        plan(order, an_event("confirmed", at=-61_000))


def test_plan_a_cancel_takes_back_everything_the_order_added() -> None:
    p = plan(an_order("paid"), an_event("cancelled"))
    assert p.applied and p.fields["commission"] == 0 and p.commission == 0
    assert p.link == {"orders": -1, "gmv": -12830, "commission": -1925}
    assert p.product == {"orders": -1, "gmv": -12830}


def test_plan_a_paid_order_is_born_with_its_fields_and_its_link_and_product_figures() -> None:
    p = plan(None, an_event("paid"), CREDIT)
    assert p.fields == {
        "paid_at": T0_MS + 60_000,
        "status": "paid",
        "order_id": "o-1",
        "amount": 12830,
        "refunded_amount": 0,
        "currency": "CNY",
        "created_at": T0_MS + 60_000,
        **CREDIT.to_hash(),
        "commission": 1925,
    }
    assert p.product == {"orders": 1, "gmv": 12830}


def test_plan_a_confirmation_keeps_the_commission_and_settles_unless_held() -> None:
    settles = plan(an_order("paid"), an_event("confirmed"))
    assert (settles.applied, settles.status, settles.commission) == (True, "confirmed", 1925)
    assert settles.fields["settled_period"] == "2026-11" and len(settles.settlement) == 1
    waits = plan(replace(an_order("paid"), review=orders.HELD), an_event("confirmed"))
    assert waits == orders.Plan(
        True, "confirmed", 1925, {"confirmed_at": T0_MS + 60_000, "status": "confirmed"}
    )


def test_plan_a_refund_takes_the_refunded_gmv_back_from_the_product_too() -> None:
    p = plan(an_order("confirmed"), an_event("refunded", refunded=30))
    assert p.product == {"gmv": -30}


def test_plan_a_late_refund_of_a_closed_period_lands_by_its_local_month() -> None:
    october = replace(an_order("confirmed"), settled_period="2026-10")
    dec_start = ms_from_datetime(datetime(2026, 12, 1, tzinfo=SHANGHAI))  # November in UTC
    event = replace(an_event("refunded", refunded=30), occurred_ms=dec_start)
    p = orders.plan(october, event, credit=None, programs=PROGRAMS, tz=SHANGHAI, closed={"2026-10"})
    assert [(m.period, m.adjustment) for m in p.settlement] == [("2026-12", True)]


def test_plan_an_event_dated_before_the_last_one_names_occurred_at() -> None:
    with pytest.raises(InvalidField) as caught:
        plan(an_order("paid"), an_event("confirmed", at=-61_000))
    assert caught.value.details["fields"] == [
        {
            "field": "occurred_at",
            "message": "is before the order's previous event: events must move forward",
        }
    ]


def held(status: str, credit: Credit | None = CREDIT) -> Order:
    return replace(an_order(status, credit=credit), review=orders.HELD, review_reason="burst")


def test_plan_only_a_held_order_is_reviewed_and_a_refusal_names_why() -> None:
    with pytest.raises(Conflict) as caught:
        plan(None, an_event("reject"))
    assert caught.value.message == "order cannot go from none to reject"
    assert caught.value.details == {"current_status": "none", "requested_status": "reject"}
    with pytest.raises(Conflict) as caught:
        plan(an_order("paid"), an_event("release"))
    assert caught.value.message == "order cannot be released: it is not held"
    assert caught.value.details == {"review": None, "requested_action": "release"}
    released = replace(an_order("paid"), review=orders.RELEASED)
    with pytest.raises(Conflict) as caught:
        plan(released, an_event("reject"))
    assert caught.value.message == "order cannot be rejected: it is released"
    assert caught.value.details == {"review": "released", "requested_action": "reject"}


def test_plan_a_release_keeps_status_and_commission_and_settles_a_confirmed_order() -> None:
    reviewed = {"review": orders.RELEASED, "reviewed_at": T0_MS + 60_000}
    paid = plan(held("paid"), an_event("release"))
    assert paid == orders.Plan(True, "paid", 1925, reviewed)
    confirmed = plan(held("confirmed"), an_event("release"))
    assert (confirmed.applied, confirmed.status, confirmed.commission) == (True, "confirmed", 1925)
    assert confirmed.fields == {**reviewed, "settled_period": confirmed.settlement[0].period}
    assert [(m.orders, m.gmv, m.commission) for m in confirmed.settlement] == [(1, 12830, 1925)]


def test_plan_a_reject_earns_nothing_and_takes_back_the_figures_once() -> None:
    reviewed = {"review": orders.REJECTED, "reviewed_at": T0_MS + 60_000, "commission": 0}
    taken_back = (
        {"orders": -1, "gmv": -12830, "commission": -1925},
        {"orders": -1, "gmv": -12830},
    )
    assert plan(held("paid"), an_event("reject")) == orders.Plan(
        True, "paid", 0, reviewed, *taken_back
    )
    # A cancellation took the figures back already: only the review and commission move.
    assert plan(held("cancelled"), an_event("reject")) == orders.Plan(
        True, "cancelled", 0, reviewed
    )
    # Without a credit there is nothing to take back or zero: only the review moves.
    assert plan(held("paid", credit=None), an_event("reject")) == orders.Plan(
        True, "paid", 0, {"review": orders.REJECTED, "reviewed_at": T0_MS + 60_000}
    )


@given(
    amount=st.integers(1, 10**9),
    rate=st.integers(0, 10_000),
    cuts=st.lists(st.floats(0.0, 1.0), min_size=1, max_size=6),
)
def test_plan_refunds_in_any_steps_add_up_to_the_last_cumulative_figure(
    amount: int, rate: int, cuts: list[float]
) -> None:
    targets = sorted({max(1, min(amount, round(amount * c))) for c in cuts})
    credit = replace(CREDIT, rate_bps=rate)
    born = plan(None, an_event("paid", amount=amount), credit)
    gmv, commission = born.link["gmv"], born.link["commission"]
    order = an_order("confirmed", amount=amount, credit=credit)
    for i, target in enumerate(targets):
        p = plan(order, an_event("refunded", amount=amount, refunded=target, at=i))
        gmv += p.link["gmv"]
        commission += p.link["commission"]
        order = an_order("refunded", amount=amount, refunded=target, credit=credit)
    assert gmv == amount - targets[-1]
    assert commission == commission_of(amount, targets[-1], rate)


@pytest.fixture
def utc_and_usd(env: dict[str, str]) -> None:
    """A deployment in UTC settling in USD (asked for before ``app``)."""
    env["REDIRECTOR_TIMEZONE"] = "UTC"
    env["REDIRECTOR_CURRENCY"] = "USD"


def test_periods_and_currency_are_the_deployments_own(
    utc_and_usd: None, app: Any, api: Any, client: Any, world: dict
) -> None:
    clock = app.extensions["redirector"].clock
    clock.set(datetime(2026, 3, 31, 23, 0, tzinfo=UTC))
    shop = Shop(client, clock, world["shop"]["signing_secret"])
    link = api.link(world["alice"], "tea")
    click_id = Browser(app).click(link)
    at = clock.set(datetime(2026, 3, 31, 23, 30, tzinfo=UTC))  # April already in Shanghai

    refused = shop.send("o-0", "paid", 12800, currency="CNY", at=at)
    assert error_of(refused, 422)["fields"][0]["field"] == "currency"
    shop.ok("o-1", "paid", 12800, currency="USD", click_id=click_id, at=at)
    shop.ok("o-1", "confirmed", 12800, currency="USD", at=at)

    march = api.ok("GET", "/api/v1/settlements/2026-03")
    assert (march["timezone"], march["currency"]) == ("UTC", "USD")
    assert march["totals"]["orders"] == 1
    assert api.ok("GET", "/api/v1/settlements/2026-04")["totals"]["orders"] == 0
    assert order_of(api, "o-1")["paid_at"].endswith("+00:00")
