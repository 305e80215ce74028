"""Orders: storefront events applied exactly once, through the order lifecycle.

- ``lifecycle``: the rule, pure: the transition table and what each status
  moves (``plan``);
- ``records``: the event, the order as stored, its history entries;
- ``writes``: the one write path (read, decide, ``APPLY`` on the order as read,
  again if it moved) and the script;
- ``service``: a storefront's event (``receive``: admitted, attributed at
  ``paid``, judged for review by ``fraud``), an admin's review (``review``),
  and the orders read back (one, the held ones, the most recent);
- ``documents``: the JSON of an order and of an event's response;
- ``listing``: the order list (indexes the write path keeps, pages by cursor,
  CSV); ``reindex``: orders written before the lists, placed in them.

Review (``fraud``): an order attributed, at ``paid``, to a click flagged as
part of a flood, or paid within seconds of its click, is *held*. It keeps its
lifecycle (link and product figures move as usual) but makes no settlement
move while held. An admin then releases it (it settles now if it was
confirmed, else when it is) or rejects it (it earns nothing: its link and
product figures are taken back out, it never settles). Those two admin actions
are events in the order's history (statuses ``release`` and ``reject``, never
taken from a storefront), applied by the same write path, so a replay of the
history through ``plan`` (``settlement.recompute``) gives the same figures.
"""

from __future__ import annotations

from . import listing
from .documents import event_response, order_document
from .lifecycle import (
    ADMIN_STATUSES,
    HELD,
    NEXT,
    REJECT,
    REJECTED,
    RELEASE,
    RELEASED,
    REVIEWED,
    Plan,
    plan,
)
from .records import (
    ORDER_ID_PATTERN,
    STATUSES,
    Credit,
    HistoryEntry,
    Order,
    OrderEvent,
    parse_history_line,
    parse_time,
)
from .reindex import reindex
from .service import (
    admit,
    get_order,
    held_orders,
    receive,
    recent_orders,
    review,
    storefronts_holding,
)
from .writes import APPLY, DELIVERY_RETENTION_SECONDS, MAX_ATTEMPTS

__all__ = [
    "ADMIN_STATUSES",
    "APPLY",
    "DELIVERY_RETENTION_SECONDS",
    "HELD",
    "MAX_ATTEMPTS",
    "NEXT",
    "ORDER_ID_PATTERN",
    "REJECT",
    "REJECTED",
    "RELEASE",
    "RELEASED",
    "REVIEWED",
    "STATUSES",
    "Credit",
    "HistoryEntry",
    "Order",
    "OrderEvent",
    "Plan",
    "admit",
    "event_response",
    "get_order",
    "held_orders",
    "listing",
    "order_document",
    "parse_history_line",
    "parse_time",
    "plan",
    "receive",
    "recent_orders",
    "reindex",
    "review",
    "storefronts_holding",
]
