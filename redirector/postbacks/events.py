"""Postback events: their types, who may receive each, and the message a
receiver gets. Pure.

An event announces one change: an order attributed, confirmed, refunded,
cancelled, held, released or rejected; a statement closed; a payout created,
paid or failed. Its id is made here, in Python, before the change is written
(``new_event_id``); it is the ``webhook-id`` of every delivery of it, on every
retry. Its message is a Standard Webhooks body, rendered once, when the event
is recorded::

    {"type": "order.confirmed", "timestamp": "<RFC 3339>", "data": {...}}

``timestamp`` is when the change happened by the service's clock (the mock
clock included); times in ``data`` are RFC 3339 in the service's zone, as the
API renders them.

Who receives an event (``Route.receives`` in ``endpoints``): an endpoint that
sees everything receives every type it subscribed to; an agency's endpoint the
events whose ``agency_id`` is that agency; a creator's endpoint those whose
``creator_id`` is that creator. An event about no single creator or agency (a
statement) reaches only the endpoints that see everything.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import tzinfo
from typing import Any

from ..clock import iso, render_times
from ..ids import random_id

__all__ = [
    "EVENT_TYPES",
    "ORDER_ATTRIBUTED",
    "ORDER_CANCELLED",
    "ORDER_CONFIRMED",
    "ORDER_HELD",
    "ORDER_REFUNDED",
    "ORDER_REJECTED",
    "ORDER_RELEASED",
    "PAYOUT_CREATED",
    "PAYOUT_FAILED",
    "PAYOUT_PAID",
    "STATEMENT_CLOSED",
    "WHOLE_SERVICE_TYPES",
    "Event",
    "new_event_id",
]

ORDER_ATTRIBUTED = "order.attributed"
ORDER_CONFIRMED = "order.confirmed"
ORDER_REFUNDED = "order.refunded"
ORDER_CANCELLED = "order.cancelled"
ORDER_HELD = "order.held"
ORDER_RELEASED = "order.released"
ORDER_REJECTED = "order.rejected"
STATEMENT_CLOSED = "statement.closed"
# Recorded by the payouts' own atomic steps (docs/postbacks.md, "Adding an event").
PAYOUT_CREATED = "payout.created"
PAYOUT_PAID = "payout.paid"
PAYOUT_FAILED = "payout.failed"

EVENT_TYPES = (
    ORDER_ATTRIBUTED,
    ORDER_CONFIRMED,
    ORDER_REFUNDED,
    ORDER_CANCELLED,
    ORDER_HELD,
    ORDER_RELEASED,
    ORDER_REJECTED,
    STATEMENT_CLOSED,
    PAYOUT_CREATED,
    PAYOUT_PAID,
    PAYOUT_FAILED,
)
# About the whole service, no single creator or agency: only for endpoints
# that see everything (an admin's, without an agency).
WHOLE_SERVICE_TYPES = frozenset({STATEMENT_CLOSED})

EVENT_ID_PREFIX = "evt_"
EVENT_ID_LENGTH = 22  # base 62: 131 bits


def new_event_id() -> str:
    return EVENT_ID_PREFIX + random_id(EVENT_ID_LENGTH)


@dataclass(frozen=True, slots=True)
class Event:
    """One event as the outbox records it: its id and type, whom it concerns
    (for routing), and the message body, final, byte for byte."""

    id: str
    type: str
    body: str
    creator_id: str | None = None
    agency_id: str | None = None

    @classmethod
    def of(
        cls,
        event_type: str,
        occurred_ms: int,
        data: Mapping[str, Any],
        tz: tzinfo,
        *,
        creator_id: str | None = None,
        agency_id: str | None = None,
        event_id: str | None = None,
    ) -> Event:
        """The event, its message rendered now: times in ``tz``."""
        if event_type not in EVENT_TYPES:
            raise ValueError(f"unknown event type {event_type!r}")
        message = {
            "type": event_type,
            "timestamp": iso(occurred_ms, tz),
            "data": render_times(dict(data), tz),
        }
        return cls(
            id=event_id or new_event_id(),
            type=event_type,
            body=json.dumps(message, ensure_ascii=False, separators=(",", ":")),
            creator_id=creator_id,
            agency_id=agency_id,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": self.type,
            "creator_id": self.creator_id,
            "agency_id": self.agency_id,
            "body": self.body,
        }

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> Event:
        return cls(
            id=doc["id"],
            type=doc["type"],
            body=doc["body"],
            creator_id=doc.get("creator_id"),
            agency_id=doc.get("agency_id"),
        )
