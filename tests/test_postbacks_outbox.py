"""The outbox: which changes announce which events, recorded by the very script
that makes the change; whom each event reaches; and the dispatcher, which fans
the outbox out once per endpoint and event, whatever crashes in between."""

from __future__ import annotations

import json
from typing import Any

import pytest

from redirector import keys, postbacks
from redirector.postbacks import dispatcher, events, outbox
from redirector.postbacks.outbox import parse

from .conftest import Api, Browser, Shop, advance

ALL = list(events.EVENT_TYPES)
ORDERS = [t for t in ALL if t.startswith("order.")]


@pytest.fixture
def env(env: dict[str, str]) -> dict[str, str]:
    return {**env, "REDIRECTOR_WEBHOOK_ALLOW_PRIVATE": "1"}


def recorded(store: Any) -> list[tuple[str, str | None]]:
    """The outbox: (type, order id or period) of each event, oldest first."""
    out = []
    for line in store.lrange(keys.outbox(), 0, -1):
        event = parse(line).event
        data = json.loads(event.body)["data"]
        out.append((event.type, data.get("order_id") or data.get("period")))
    return out


def paid(api: Api, app: Any, shop: Shop, clock: Any, key: str, order_id: str, wait: float = 1800):
    click = Browser(app).click(api.link(key))
    advance(clock, seconds=wait)
    return shop.ok(order_id, "paid", 12800, click_id=click)


def test_each_change_of_an_attributed_order_announces_itself(
    api: Api, app: Any, shop: Shop, clock: Any, world: dict[str, Any], store: Any
) -> None:
    paid(api, app, shop, clock, world["bob"], "T1")
    advance(clock, days=1)
    shop.ok("T1", "confirmed", 12800)
    shop.ok("T1", "confirmed", 12800)  # a repeat changes nothing: no event
    shop.ok("T1", "refunded", 12800, refunded_amount=800)
    paid(api, app, shop, clock, world["bob"], "T2")
    shop.ok("T2", "cancelled", 12800)
    assert shop.send("T2", "confirmed", 12800).status_code == 409  # refused: no event
    shop.ok("T3", "paid", 5000)  # never attributed: nothing to announce
    shop.ok("T3", "confirmed", 5000)

    assert recorded(store) == [
        ("order.attributed", "T1"),
        ("order.confirmed", "T1"),
        ("order.refunded", "T1"),
        ("order.attributed", "T2"),
        ("order.cancelled", "T2"),
    ]


def test_a_held_order_announces_its_hold_and_its_review(
    api: Api, app: Any, shop: Shop, clock: Any, world: dict[str, Any], store: Any
) -> None:
    paid(api, app, shop, clock, world["bob"], "H1", wait=2)  # paid seconds after the click
    paid(api, app, shop, clock, world["bob"], "H2", wait=2)
    api.ok("POST", "/api/v1/orders/taobao/H1/release")
    api.ok("POST", "/api/v1/orders/taobao/H2/reject")
    assert recorded(store) == [
        ("order.attributed", "H1"),
        ("order.held", "H1"),
        ("order.attributed", "H2"),
        ("order.held", "H2"),
        ("order.released", "H1"),
        ("order.rejected", "H2"),
    ]
    held = json.loads(parse(store.lrange(keys.outbox(), 1, 1)[0]).event.body)
    assert held["data"]["review"]["status"] == "held"
    assert held["data"]["review"]["reason"] == "instant_conversion"


def test_closing_a_period_announces_its_statement(
    api: Api, app: Any, shop: Shop, clock: Any, world: dict[str, Any], store: Any
) -> None:
    paid(api, app, shop, clock, world["alice"], "T1")
    shop.ok("T1", "confirmed", 12800)
    advance(clock, days=15)
    api.ok("POST", "/api/v1/settlements/2026-11/close")
    closing = parse(store.lrange(keys.outbox(), -1, -1)[0])
    message = json.loads(closing.event.body)
    assert message["type"] == "statement.closed"
    assert message["data"]["period"] == "2026-11" and message["data"]["status"] == "closed"
    assert message["data"]["totals"]["commission"] == 1920
    assert closing.event.creator_id is None and closing.event.agency_id is None
    # The same script closed the period: the event's sequence is the closing's.
    closed_at_sequence = int(store.hget(keys.periods(), "2026-11").split(":")[1])
    assert closing.sequence == closed_at_sequence


class Hook:
    """An endpoint registered through the API; its queue read from the store."""

    def __init__(self, api: Api, store: Any, events_: list[str], token: str | None, **extra: Any):
        body = {"url": "http://127.0.0.1:9/hook", "events": events_, **extra}
        self.id = api.ok("POST", "/api/v1/webhooks", body, **({"token": token} if token else {}))[
            "id"
        ]
        self.store = store

    def queued(self) -> list[tuple[str, str | None]]:
        ids = self.store.lrange(keys.postback_queue(self.id), 0, -1)
        out = []
        for i in ids:
            body = json.loads(
                json.loads(self.store.hget(keys.postback_deliveries(self.id), i))["body"]
            )
            out.append((body["type"], body["data"].get("order_id") or body["data"].get("period")))
        return out


def test_each_endpoint_receives_what_its_scope_and_events_cover(
    api: Api, app: Any, shop: Shop, clock: Any, world: dict[str, Any], store: Any
) -> None:
    bob = Hook(api, store, ORDERS, world["bob"])
    alice = Hook(api, store, ["order.confirmed"], world["alice"])
    agency = Hook(api, store, ORDERS, None, agency_id="starlight")  # alice is in it
    everything = Hook(api, store, ALL, None)
    paid(api, app, shop, clock, world["bob"], "B1")
    paid(api, app, shop, clock, world["alice"], "A1")
    shop.ok("A1", "confirmed", 12800)
    advance(clock, days=15)
    api.ok("POST", "/api/v1/settlements/2026-11/close")
    dispatcher.dispatch(postbacks_ctx(app))

    assert bob.queued() == [("order.attributed", "B1")]
    assert alice.queued() == [("order.confirmed", "A1")]
    assert agency.queued() == [("order.attributed", "A1"), ("order.confirmed", "A1")]
    assert everything.queued() == [
        ("order.attributed", "B1"),
        ("order.attributed", "A1"),
        ("order.confirmed", "A1"),
        ("statement.closed", "2026-11"),
    ]
    assert store.llen(keys.outbox()) == 0


def postbacks_ctx(app: Any) -> Any:
    return app.extensions["redirector"]


def test_an_endpoint_receives_only_events_recorded_after_it_was_registered(
    api: Api, app: Any, shop: Shop, clock: Any, world: dict[str, Any], store: Any
) -> None:
    paid(api, app, shop, clock, world["bob"], "T1")  # recorded, not yet dispatched
    hook = Hook(api, store, ORDERS, world["bob"])
    shop.ok("T1", "confirmed", 12800)
    dispatcher.dispatch(postbacks_ctx(app))
    assert hook.queued() == [("order.confirmed", "T1")]


def test_a_crash_in_the_middle_of_a_fan_out_neither_skips_nor_repeats(
    api: Api,
    app: Any,
    shop: Shop,
    clock: Any,
    world: dict[str, Any],
    store: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hooks = [Hook(api, store, ORDERS, None) for _ in range(3)]
    for i in range(4):
        paid(api, app, shop, clock, world["bob"], f"T{i}")
    real_run = dispatcher.run_scripts

    def half_then_crash(client: Any, calls: Any) -> Any:
        real_run(client, calls[: len(calls) // 2 + 1])  # some endpoints got some events...
        raise ConnectionError("the dispatcher's host died")  # ...and the outbox was not trimmed

    monkeypatch.setattr(dispatcher, "run_scripts", half_then_crash)
    with pytest.raises(ConnectionError):
        dispatcher.dispatch(postbacks_ctx(app))
    assert store.llen(keys.outbox()) == 4
    monkeypatch.setattr(dispatcher, "run_scripts", real_run)
    dispatcher.dispatch(postbacks_ctx(app))  # the lease was released on the way out

    expected = [("order.attributed", f"T{i}") for i in range(4)]
    assert [h.queued() for h in hooks] == [expected] * 3
    assert store.llen(keys.outbox()) == 0


def test_a_removed_endpoint_is_offered_nothing_more_and_leaves_no_key(
    api: Api, app: Any, shop: Shop, clock: Any, world: dict[str, Any], store: Any
) -> None:
    hook = Hook(api, store, ORDERS, world["bob"])
    paid(api, app, shop, clock, world["bob"], "T1")
    dispatcher.dispatch(postbacks_ctx(app))
    api.ok("DELETE", f"/api/v1/webhooks/{hook.id}", token=world["bob"])
    shop.ok("T1", "confirmed", 12800)
    dispatcher.dispatch(postbacks_ctx(app))
    assert not [k for k in store.scan_iter(f"rd:{{pb:{hook.id}}}*")]
    assert store.llen(keys.outbox()) == 0


def test_a_transaction_records_its_events_with_it_or_not_at_all(store: Any) -> None:
    """The call a MULTI/EXEC write (a payout marked paid) uses: its events land
    with the transaction, after the money sequence moved."""
    from redirector.clock import Clock

    tz = __import__("zoneinfo").ZoneInfo("Asia/Shanghai")
    event = events.Event.of(
        events.PAYOUT_PAID, Clock().now_ms(), {"payout_id": "po_1"}, tz, agency_id="starlight"
    )
    with store.pipeline(transaction=True) as pipe:
        pipe.multi()
        pipe.hset("rd:{money}:payout:po_1", "status", "paid")
        outbox.queue(pipe, [event])
        pipe.execute()
    (line,) = store.lrange(keys.outbox(), 0, -1)
    assert parse(line).sequence == int(store.get(keys.money_sequence())) == 1
    assert parse(line).event == event

    with store.pipeline(transaction=True) as pipe:  # a transaction that does not apply
        pipe.watch("rd:{money}:payout:po_1")
        store.hset("rd:{money}:payout:po_1", "status", "failed")  # someone else got there
        pipe.multi()
        outbox.queue(pipe, [event])
        with pytest.raises(Exception, match="Watch"):
            pipe.execute()
    assert store.llen(keys.outbox()) == 1
    assert postbacks.EVENT_TYPES[-3:] == ("payout.created", "payout.paid", "payout.failed")
