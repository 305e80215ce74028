"""A signed order callback whose JSON repeats a key is refused (400), at any
depth: parsers disagree on which value wins, so the storefront and the service
could read two different orders from one body."""

from __future__ import annotations

import json
from typing import Any

import pytest
import standardwebhooks

from redirector.clock import MockClock

from .conftest import Shop, error_of, order_missing, snapshot

PATH = "/api/v1/storefronts/taobao/orders"


def signed(secret: str, clock: MockClock, body: str, msg_id: str) -> dict[str, str]:
    """Headers signed by the reference Standard Webhooks library for this exact body."""
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(clock.now().timestamp())),
        "webhook-signature": standardwebhooks.Webhook(secret).sign(msg_id, clock.now(), body),
        "Content-Type": "application/json",
    }


@pytest.mark.parametrize(
    ("repeat", "key"),
    [
        ('"amount": 1, "amount": 12800', "amount"),  # last-one-wins read 12800
        ('"status": "refunded", "status": "paid"', "status"),
        ('"x": {"a": 1, "a": 2}', "a"),  # inside a nested object too
    ],
)
def test_a_callback_repeating_a_key_is_400(
    api: Any,
    client: Any,
    store: Any,
    world: dict,
    shop: Shop,
    clock: MockClock,
    repeat: str,
    key: str,
) -> None:
    event = json.dumps(shop.event("o-1", "paid", 12800))
    body = event[:-1] + ", " + repeat + "}"
    headers = signed(world["shop"]["signing_secret"], clock, body, "msg_dup")
    before = snapshot(store)
    response = client.post(PATH, data=body, headers=headers)
    error = error_of(response, 400)
    assert error["code"] == "bad_request"
    assert repr(key) in error["message"]
    assert snapshot(store) == before
    assert order_missing(api, "o-1")


def test_the_same_event_without_a_repeat_is_applied(
    client: Any, world: dict, shop: Shop, clock: MockClock
) -> None:
    body = json.dumps(shop.event("o-1", "paid", 12800))
    headers = signed(world["shop"]["signing_secret"], clock, body, "msg_once")
    assert client.post(PATH, data=body, headers=headers).get_json()["status"] == "paid"
