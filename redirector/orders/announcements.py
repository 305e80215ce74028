"""What an applied order event announces to postback endpoints. Pure.

- ``paid``, attributed: ``order.attributed``, then ``order.held`` when the
  order is held for review;
- ``confirmed``, ``refunded``, ``cancelled``: ``order.<status>``;
- an admin's review: ``order.released`` or ``order.rejected``.

An order never attributed announces nothing (it names no creator and earns
nothing), and neither does an event that changes nothing (a repeat). The
events are recorded by the same ``APPLY`` as the change (``writes``).

Each event's data is the order as ``GET /api/v1/orders/{storefront}/{order}``
shows it after the change, without its history, plus ``creator_id`` and
``agency_id`` (the agency its commission goes to; null for an independent
creator), by which it is routed.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import tzinfo
from typing import Any

from ..postbacks import events
from .documents import order_document
from .lifecycle import HELD, REJECT, RELEASE, Plan
from .records import Order

__all__ = ["announce", "announced_types", "order_after"]

_BY_STATUS = {
    "confirmed": events.ORDER_CONFIRMED,
    "refunded": events.ORDER_REFUNDED,
    "cancelled": events.ORDER_CANCELLED,
    RELEASE: events.ORDER_RELEASED,
    REJECT: events.ORDER_REJECTED,
}


def announced_types(status: str, plan: Plan, attributed: bool) -> list[str]:
    """The event types an event of ``status``, planned as ``plan``, announces."""
    if not plan.applied or not attributed:
        return []
    if status == "paid":
        held = plan.fields.get("review") == HELD
        return [events.ORDER_ATTRIBUTED, *([events.ORDER_HELD] if held else [])]
    return [_BY_STATUS[status]]


def order_after(storefront_id: str, order_id: str, before: Mapping[str, str], plan: Plan) -> Order:
    """The order once ``plan`` is applied to its stored fields ``before``."""
    return Order.from_hash(storefront_id, order_id, {**before, **plan.fields})


def announce(
    order: Order, status: str, plan: Plan, at_ms: int, tz: tzinfo
) -> tuple[events.Event, ...]:
    """The events, their messages rendered in ``tz``; ``order`` is the order
    after the change (``order_after``), ``at_ms`` when the change was made."""
    credit = order.credit
    types = announced_types(status, plan, credit is not None)
    if credit is None or not types:
        return ()
    account_type, account_id = credit.account.split(":", 1)
    agency_id = account_id if account_type == "agency" else None
    data: dict[str, Any] = {
        **{k: v for k, v in order_document(order, []).items() if k != "history"},
        "creator_id": credit.creator_id,
        "agency_id": agency_id,
    }
    return tuple(
        events.Event.of(t, at_ms, data, tz, creator_id=credit.creator_id, agency_id=agency_id)
        for t in types
    )
