"""The JSON an order answers with: an event's response and an order's record. Pure.

Times stay in epoch ms here; the API renders every ``*_at`` field in the
configured zone (``api.ok``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .records import STATUSES, Credit, HistoryEntry, Order

__all__ = ["event_response", "order_document"]


def event_response(order_id: str, status: str, credit: Credit | None, commission: int) -> dict:
    """What a storefront's event is answered (and its replays, for 30 days)."""
    return {
        "order_id": order_id,
        "status": status,
        "attributed": (
            {
                "click_id": credit.click_id,
                "link_id": credit.link_id,
                "creator_id": credit.creator_id,
            }
            if credit
            else None
        ),
        "commission": commission,
    }


def _attributed(credit: Credit | None) -> dict[str, Any] | None:
    if credit is None:
        return None
    account_type, account_id = credit.account.split(":", 1)
    return {
        "click_id": credit.click_id,
        "link_id": credit.link_id,
        "creator_id": credit.creator_id,
        "product_id": credit.product_id,
        "channel": credit.channel,
        "account_id": account_id,
        "account_type": account_type,
        "by": credit.how,
    }


def order_document(order: Order, history: Iterable[HistoryEntry]) -> dict[str, Any]:
    """An order with its attribution, commission, review and history, oldest first."""
    return {
        "storefront_id": order.storefront_id,
        "order_id": order.order_id,
        "status": order.status,
        "amount": order.amount,
        "refunded_amount": order.refunded_amount,
        "currency": order.currency,
        **{f"{s}_at": order.times.get(f"{s}_at") for s in STATUSES},
        "attributed": _attributed(order.credit),
        "commission_rate_bps": order.credit.rate_bps if order.credit else None,
        "commission": order.commission,
        "settled_period": order.settled_period,
        "review": (
            {
                "status": order.review,
                "reason": order.review_reason,
                "reviewed_at": order.reviewed_at,
            }
            if order.review
            else None
        ),
        "history": [entry.to_json() for entry in history],
    }
