"""What an order is made of: the event a storefront (or an admin) sends, the
order as its hash keeps it, and the entries of its history. Pure.

A history entry is stored as ``<money sequence> <JSON>`` (``APPLY`` puts the
sequence in front), so a replay of the history knows which periods were closed
before each event (``settlement.recompute``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ..errors import InvalidField

__all__ = [
    "ORDER_ID_PATTERN",
    "STATUSES",
    "Credit",
    "HistoryEntry",
    "Order",
    "OrderEvent",
    "parse_history_line",
    "parse_time",
]

STATUSES = ("paid", "confirmed", "refunded", "cancelled")
# An order id as a storefront names it (the pattern the API validates with):
# ':' allowed ("T1:history" and "T1" are two orders), so an order reference
# ``<storefront>:<order>`` splits at its first ':' only.
ORDER_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$"


@dataclass(frozen=True, slots=True)
class OrderEvent:
    webhook_id: str
    order_id: str
    status: str
    amount: int
    currency: str
    occurred_ms: int
    received_ms: int
    refunded_amount: int | None = None
    click_id: str | None = None
    device_id: str | None = None


@dataclass(frozen=True, slots=True)
class Credit:
    """Who an attributed order pays, fixed at ``paid``."""

    click_id: str
    link_id: str
    creator_id: str
    product_id: str
    channel: str
    account: str  # "agency:<id>" or "creator:<id>": the guide account
    rate_bps: int
    how: str

    def to_hash(self) -> dict[str, Any]:
        return {
            "click_id": self.click_id,
            "link_id": self.link_id,
            "creator_id": self.creator_id,
            "product_id": self.product_id,
            "channel": self.channel,
            "account": self.account,
            "commission_rate_bps": self.rate_bps,
            "attributed_by": self.how,
        }

    @classmethod
    def from_hash(cls, data: dict[str, str]) -> Credit | None:
        if not data.get("link_id"):
            return None
        return cls(
            click_id=data["click_id"],
            link_id=data["link_id"],
            creator_id=data["creator_id"],
            product_id=data["product_id"],
            channel=data["channel"],
            account=data["account"],
            rate_bps=int(data["commission_rate_bps"]),
            how=data["attributed_by"],
        )


@dataclass(frozen=True, slots=True)
class Order:
    storefront_id: str
    order_id: str
    status: str
    amount: int
    refunded_amount: int
    currency: str
    version: int
    times: dict[str, int]
    credit: Credit | None
    commission: int
    settled_period: str | None
    review: str | None = None  # None, "held", "released" or "rejected"
    review_reason: str | None = None  # why it was held: ``fraud.REASONS``
    reviewed_at: int | None = None
    # In the order lists and its link's money by day since it was paid; an order
    # written before those existed is not, until ``orders.reindex`` places it.
    listed: bool = False

    @property
    def ref(self) -> str:
        """``<storefront>:<order id>``, as the order indexes and adjustments name it."""
        return f"{self.storefront_id}:{self.order_id}"

    @property
    def net(self) -> int:
        return self.amount - self.refunded_amount

    @classmethod
    def from_hash(cls, storefront_id: str, order_id: str, data: dict[str, str]) -> Order:
        return cls(
            storefront_id=storefront_id,
            order_id=order_id,
            status=data["status"],
            amount=int(data["amount"]),
            refunded_amount=int(data.get("refunded_amount", 0)),
            currency=data["currency"],
            version=int(data.get("version", 0)),
            times={f"{s}_at": int(data[f"{s}_at"]) for s in STATUSES if data.get(f"{s}_at")},
            credit=Credit.from_hash(data),
            commission=int(data.get("commission", 0)),
            settled_period=data.get("settled_period") or None,
            review=data.get("review") or None,
            review_reason=data.get("review_reason") or None,
            reviewed_at=int(data["reviewed_at"]) if data.get("reviewed_at") else None,
            listed=data.get("listed") == "1",
        )


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One event in an order's history, applied or not (a no-op is recorded too)."""

    webhook_id: str
    status: str
    amount: int
    refunded_amount: int | None
    occurred_ms: int
    received_ms: int
    click_id: str | None
    device_id: str | None
    applied: bool
    by: str | None = None  # "admin" for a review; a storefront's events carry none

    @classmethod
    def of(cls, event: OrderEvent, applied: bool, by: str | None = None) -> HistoryEntry:
        return cls(
            webhook_id=event.webhook_id,
            status=event.status,
            amount=event.amount,
            refunded_amount=event.refunded_amount,
            occurred_ms=event.occurred_ms,
            received_ms=event.received_ms,
            click_id=event.click_id,
            device_id=event.device_id,
            applied=applied,
            by=by,
        )

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "webhook_id": self.webhook_id,
            "status": self.status,
            "amount": self.amount,
            "refunded_amount": self.refunded_amount,
            "occurred_at": self.occurred_ms,
            "received_at": self.received_ms,
            "click_id": self.click_id,
            "device_id": self.device_id,
            "applied": self.applied,
        }
        if self.by is not None:
            doc["by"] = self.by
        return doc

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> HistoryEntry:
        return cls(
            webhook_id=doc["webhook_id"],
            status=doc["status"],
            amount=doc["amount"],
            refunded_amount=doc["refunded_amount"],
            occurred_ms=doc["occurred_at"],
            received_ms=doc["received_at"],
            click_id=doc["click_id"],
            device_id=doc["device_id"],
            applied=doc["applied"],
            by=doc.get("by"),
        )

    def event(self, order_id: str, currency: str) -> OrderEvent:
        """The event again, to replay it (the currency is the order's)."""
        return OrderEvent(
            webhook_id=self.webhook_id,
            order_id=order_id,
            status=self.status,
            amount=self.amount,
            currency=currency,
            occurred_ms=self.occurred_ms,
            received_ms=self.received_ms,
            refunded_amount=self.refunded_amount,
            click_id=self.click_id,
            device_id=self.device_id,
        )


def parse_history_line(line: str) -> tuple[int, HistoryEntry]:
    """A stored history line: the money sequence it was applied at, and the entry."""
    sequence, _, body = line.partition(" ")
    return int(sequence), HistoryEntry.from_json(json.loads(body))


def parse_time(value: str, field_name: str = "occurred_at") -> int:
    """RFC 3339 with an offset -> ms since the epoch; naive times are refused."""
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except (ValueError, AttributeError) as exc:
        raise InvalidField.one(field_name, f"{value!r} is not an RFC 3339 time") from exc
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise InvalidField.one(field_name, "must carry a time-zone offset, e.g. +08:00")
    return round(moment.astimezone(UTC).timestamp() * 1000)
