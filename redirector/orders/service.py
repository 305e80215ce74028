"""What the API and the console call: a storefront's event (``receive``), an
admin's review (``review``), and the orders read back.

An event is admitted when it is in the service's currency and not dated
ahead of its arrival by more than the signature tolerance (a storefront's
clock may run that far ahead); then, at ``paid``, it is attributed and judged
for review, and written through the one write path (``writes.write``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .. import attribution, fraud, keys, webhooks
from ..clicks import Click
from ..context import Context
from ..errors import Conflict, InvalidField, NotFound
from ..programs import Program
from ..store import StoreClient
from .announcements import announce, order_after
from .documents import event_response, order_document
from .lifecycle import ADMIN_STATUSES, REVIEWED, plan
from .records import Credit, Order, OrderEvent, parse_history_line
from .writes import Snapshot, Step, write

__all__ = [
    "admit",
    "get_order",
    "held_orders",
    "receive",
    "recent_orders",
    "review",
    "storefronts_holding",
]


def admit(event: OrderEvent, currency: str) -> None:
    """422 unless the event is in ``currency`` and not dated in the future."""
    if event.currency != currency:
        raise InvalidField.one(
            "currency", f"this service settles in {currency}, not {event.currency}"
        )
    if event.occurred_ms > event.received_ms + webhooks.TOLERANCE_SECONDS * 1000:
        raise InvalidField.one("occurred_at", "is in the future")


def receive(ctx: Context, storefront_id: str, event: OrderEvent) -> tuple[dict, bool]:
    """Apply a verified event exactly once; answers (response, replayed)."""
    admit(event, ctx.settings.currency)

    def decide(seen: Snapshot) -> Step:
        credit, hold = None, None
        if seen.order is None and event.status == "paid":
            credit, hold = _credit_and_hold(ctx, storefront_id, event)
        settings = ctx.settings
        p = plan(
            seen.order,
            event,
            credit=credit,
            programs=settings.programs,
            tz=settings.timezone,
            closed=seen.closed,
            hold=hold,
        )
        effective = credit if seen.order is None else seen.order.credit
        after = order_after(storefront_id, event.order_id, seen.fields, p)
        return Step(
            event,
            p,
            effective,
            event_response(event.order_id, p.status, effective, p.commission),
            announced=announce(after, event.status, p, event.received_ms, settings.timezone),
        )

    record = keys.delivery(storefront_id, event.webhook_id)
    busy = "the order is changing too fast; retry the event shortly"
    settings = ctx.settings
    outcome = write(
        ctx.store,
        storefront_id,
        event.order_id,
        record,
        decide,
        busy,
        settings.timezone,
        settings.money_replicas,
    )
    return outcome.response, outcome.replayed


def review(ctx: Context, storefront_id: str, order_id: str, action: str) -> dict[str, Any]:
    """An admin releases (``release``) or rejects (``reject``) a held order.

    Applied once, through the write path like a storefront's event and kept in
    the order's history: the request id ``review-<order id>-<action>`` is
    recorded with it, so a repeated request (a double click) changes nothing and
    is 409, as is any action on an order that is not held. Answers the order."""
    if action not in ADMIN_STATUSES:
        raise ValueError(f"unknown review action {action!r}")

    def decide(seen: Snapshot) -> Step:
        order = seen.order
        if order is None:
            raise NotFound(f"order {order_id!r} of storefront {storefront_id!r} not found")
        now_ms = ctx.clock.now_ms()
        event = OrderEvent(
            webhook_id=f"review-{order_id}-{action}",
            order_id=order_id,
            status=action,
            amount=order.amount,
            currency=order.currency,
            occurred_ms=now_ms,
            received_ms=now_ms,
        )
        settings = ctx.settings
        p = plan(
            order,
            event,
            credit=order.credit,
            programs=settings.programs,
            tz=settings.timezone,
            closed=seen.closed,
        )
        after = order_after(storefront_id, order_id, seen.fields, p)
        return Step(
            event,
            p,
            order.credit,
            {"review": p.fields["review"]},
            by="admin",
            announced=announce(after, action, p, now_ms, settings.timezone),
        )

    record = keys.review_request(storefront_id, order_id, action)
    outcome = write(
        ctx.store,
        storefront_id,
        order_id,
        record,
        decide,
        "the order is changing too fast; retry shortly",
        ctx.settings.timezone,
        ctx.settings.money_replicas,
    )
    if outcome.replayed:
        raise Conflict(f"order was {REVIEWED[action]} already", requested_action=action)
    return get_order(ctx.store, storefront_id, order_id)


def _credit_and_hold(
    ctx: Context, storefront_id: str, event: OrderEvent
) -> tuple[Credit | None, str | None]:
    """Who a new order pays (None: nobody), and why it is held for review (None: it is not)."""
    r, settings = ctx.store, ctx.settings
    found = attribution.attribute(
        r,
        storefront_id=storefront_id,
        order_ms=event.occurred_ms,
        click_id=event.click_id,
        device=event.device_id,
        programs=settings.programs,
        verify_device=ctx.devices.verify,
    )
    credit = _credit_for(r, found, settings.programs) if found else None
    if credit is None or found is None or found.click is None:
        return credit, None
    click = found.click
    hold = fraud.hold_reason(
        settings.fraud,
        suspicious=click.suspicious,
        click_ms=click.at_ms,
        paid_ms=event.occurred_ms,
        crowd=_crowd_counts(r, click, settings.fraud),
    )
    return credit, hold


def _crowd_counts(
    r: StoreClient, click: Click, rules: fraud.FraudRules
) -> fraud.CrowdCounts | None:
    """A new device's click window's counts as they are now (None: not a new
    device's click, or already flagged): the first clicks of a flood were not
    over a threshold when made, and are judged by the whole window here."""
    if click.suspicious or not click.new_device:
        return None
    key = keys.link_crowd(click.link_id, fraud.flood_bucket(click.at_ms, rules))
    by_address, by_agent = r.hmget(key, click.ip_hash, f"{click.ip_hash}:{click.agent}")
    return fraud.CrowdCounts(int(by_address or 0), int(by_agent or 0))


def _credit_for(
    r: StoreClient, found: attribution.Attribution, programs: Mapping[str, Program]
) -> Credit | None:
    link = r.hgetall(keys.link(found.link_id))
    if not link:
        return None
    creator = r.hgetall(keys.creator(link["creator_id"]))
    agency = creator.get("agency_id") if creator else None
    rate = r.hget(keys.product(link["product_id"]), "commission_rate_bps")
    if rate is None or link["channel"] not in programs:
        return None
    return Credit(
        click_id=found.click_id,
        link_id=found.link_id,
        creator_id=link["creator_id"],
        product_id=link["product_id"],
        channel=link["channel"],
        account=f"agency:{agency}" if agency else f"creator:{link['creator_id']}",
        rate_bps=int(rate),
        how=found.how,
    )


def held_orders(r: StoreClient) -> list[dict[str, Any]]:
    """Orders held for review, oldest first."""
    return [get_order(r, *ref.split(":", 1)) for ref in r.zrange(keys.held_orders(), 0, -1)]


def recent_orders(r: StoreClient, count: int) -> list[dict[str, Any]]:
    """The ``count`` orders that arrived last, newest first."""
    refs = r.zrevrange(keys.orders(), 0, count - 1)
    return [get_order(r, *ref.split(":", 1)) for ref in refs]


def storefronts_holding(r: StoreClient, storefront_ids: Sequence[str], order_id: str) -> list[str]:
    """Of ``storefront_ids``, those holding an order numbered ``order_id``: an
    order is named by storefront and number, and there is no index by number
    alone, so each storefront is asked (one EXISTS each, one round trip;
    storefronts are few)."""
    pipe = r.pipeline(transaction=False)
    for storefront_id in storefront_ids:
        pipe.exists(keys.order(storefront_id, order_id))
    found = pipe.execute()
    return [s for s, there in zip(storefront_ids, found, strict=True) if there]


def get_order(r: StoreClient, storefront_id: str, order_id: str) -> dict[str, Any]:
    pipe = r.pipeline(transaction=False)
    pipe.hgetall(keys.order(storefront_id, order_id))
    pipe.lrange(keys.order_history(storefront_id, order_id), 0, -1)
    data, history = pipe.execute()
    if not data:
        raise NotFound(f"order {order_id!r} of storefront {storefront_id!r} not found")
    order = Order.from_hash(storefront_id, order_id, data)
    return order_document(order, [parse_history_line(line)[1] for line in history])
