"""The soak's ledger: each order, the messages sent for it, and what every 2xx
did to it (``accept``); commission and the three-way split recomputed here,
independently of the service's code, to check it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .recorder import Recorder
from .world import Link

__all__ = ["NEXT", "Message", "Order", "accept", "commission_of", "split_three"]

# An order's status, and the ones it may move to.
NEXT = {
    "none": {"paid"},
    "paid": {"confirmed", "cancelled"},
    "confirmed": {"refunded"},
    "refunded": {"refunded"},
    "cancelled": set(),
}


def commission_of(amount: int, refunded: int, bps: int) -> int:
    """Round half up of (amount - refunded) x bps / 10000, for non-negative figures."""
    return ((amount - refunded) * bps + 5000) // 10000


def split_three(total: int, bps: tuple[int, int, int]) -> tuple[int, int, int]:
    """Largest remainder: floors, then leftover units to the largest fractional
    parts; ties to the larger share, then network, platform, guide."""
    floors = [total * b // 10000 for b in bps]
    fractions = [total * b % 10000 for b in bps]
    for i in sorted(range(3), key=lambda i: (-fractions[i], -bps[i], i))[: total - sum(floors)]:
        floors[i] += 1
    return floors[0], floors[1], floors[2]


@dataclass
class Message:
    msg_id: str
    status: str
    refunded: int | None
    occurred_ms: int
    body: dict[str, Any]
    noop: bool = False  # a resend of the same event under a new webhook-id
    tries: int = 0
    maybe_applied: bool = False  # an attempt whose answer was lost
    first_answer: dict[str, Any] | None = None


@dataclass
class Order:
    storefront: str
    order_id: str
    amount: int
    expected: dict[str, str] | None  # {click_id, link_id, creator_id} or None
    link: Link | None
    plan: list[tuple[str, int | None]]  # events still to happen
    paid_extra: dict[str, str]  # click_id / device_id carried by paid
    outbox: list[Message] = field(default_factory=list)
    replay_later: list[Message] = field(default_factory=list)
    status: str = "none"
    refunded: int = 0
    confirmed_ms: int | None = None
    last_ms: int = 0
    accepted: list[tuple[str, bool]] = field(default_factory=list)  # (webhook-id, applied)

    def commission(self) -> int:
        if self.link is None or self.status in ("none", "cancelled"):
            return 0
        return commission_of(self.amount, self.refunded, self.link.rate_bps)


def accept(rec: Recorder, order: Order, message: Message, answer: Any) -> None:
    """The ledger: what a 2xx for ``message`` did to the order."""
    where = f"{order.storefront}:{order.order_id} {message.status} {message.msg_id}"
    current, wanted = order.status, message.status
    same = wanted == current and (wanted != "refunded" or message.refunded == order.refunded)
    if same:
        applied = False
    elif wanted in NEXT[current] and (
        wanted != "refunded" or (message.refunded or 0) > order.refunded
    ):
        applied = True
        order.status = wanted
        if wanted == "refunded":
            order.refunded = message.refunded or 0
        if wanted == "confirmed":
            order.confirmed_ms = message.occurred_ms
    else:
        rec.problem("events", f"{where}: accepted from {current}")
        applied = False
    if message.noop and applied:
        rec.problem("events", f"{where}: a no-op resend changed the order")
    order.accepted.append((message.msg_id, applied))
    rec.count("events accepted")
    if applied:
        rec.count(f"events applied: {wanted}")
    expected = {
        "order_id": order.order_id,
        "status": order.status,
        "attributed": order.expected,
        "commission": order.commission(),
    }
    if answer != expected:
        rec.problem("events", f"{where}: answered {answer}, expected {expected}")
    message.first_answer = answer
