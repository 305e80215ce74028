"""The order lifecycle: what an event does to an order. Pure.

Statuses (docs/domain.md, Orders): ``paid`` → ``confirmed`` → ``refunded`` (partial
refunds repeat; ``refunded_amount`` is cumulative, never above ``amount``, never
going down), and ``paid`` → ``cancelled``. The same status with the same data is
a no-op; any other move is 409 naming both states; an event dated before the
order's previous one is 422. ``amount`` and ``currency`` are fixed at ``paid``.

What an applied event moves (a ``Plan``), one handler per status:
- ``paid``: the order is born; attributed (a ``Credit``), it snapshots the rate
  and the guide account, earns its commission and adds to its link's and
  product's figures, and is held for review when ``fraud`` says so;
- ``confirmed``: the order settles (``period_placement.settlement_period``), unless held;
- ``refunded``: the commission is taken again on the net; the figures and the
  settled line (or an adjustment, ``period_placement.refund_landing``) move by the
  difference;
- ``cancelled``: the commission becomes 0 and the figures are taken back out;
- ``release`` (an admin's review of a held order): a confirmed order settles now;
- ``reject`` (idem): the commission becomes 0, the figures are taken back out
  (unless a cancellation did already), and the order never settles.
An unattributed order, or a rejected one, moves only its status (and its
refunded amount).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from .. import period_placement
from ..errors import Conflict, InvalidField
from ..money import commission_of
from ..period_placement import SettlementMove
from ..periods import Period
from ..programs import Program
from .records import Credit, Order, OrderEvent

__all__ = [
    "ADMIN_STATUSES",
    "HELD",
    "NEXT",
    "REJECT",
    "REJECTED",
    "RELEASE",
    "RELEASED",
    "REVIEWED",
    "Plan",
    "plan",
]

# An admin's review of a held order: events of the order's history too, never
# accepted from a storefront (``schemas.OrderEventBody`` takes ``STATUSES`` only).
RELEASE = "release"
REJECT = "reject"
ADMIN_STATUSES = (RELEASE, REJECT)
HELD = "held"
RELEASED = "released"
REJECTED = "rejected"
REVIEWED = {RELEASE: RELEASED, REJECT: REJECTED}
NEXT: dict[str, frozenset[str]] = {
    "none": frozenset({"paid"}),
    "paid": frozenset({"confirmed", "cancelled"}),
    "confirmed": frozenset({"refunded"}),
    "refunded": frozenset({"refunded"}),
    "cancelled": frozenset(),
}


@dataclass(frozen=True, slots=True)
class Plan:
    """What an event does: the order's new fields and every figure it moves."""

    applied: bool
    status: str
    commission: int = 0  # the order's commission after the event
    fields: dict[str, Any] = field(default_factory=dict)
    link: dict[str, int] = field(default_factory=dict)
    product: dict[str, int] = field(default_factory=dict)
    settlement: tuple[SettlementMove, ...] = ()

    @property
    def open_periods(self) -> set[str]:
        """The periods the plan writes to: read as open, so guarded open (``APPLY``)."""
        return {move.period for move in self.settlement}


@dataclass(frozen=True, slots=True)
class Terms:
    """What a plan is decided with, besides the order and the event."""

    programs: Mapping[str, Program]
    tz: ZoneInfo
    closed: frozenset[str]
    credit: Credit | None  # at ``paid``: who the order pays (None: unattributed)
    hold: str | None  # at ``paid``: why it is held for review (None: it is not)


def plan(
    order: Order | None,
    event: OrderEvent,
    *,
    credit: Credit | None,
    programs: Mapping[str, Program],
    tz: ZoneInfo,
    closed: Collection[str],
    hold: str | None = None,
) -> Plan:
    """The rule: what ``event`` does to ``order`` (None: not seen yet). Pure.

    ``credit`` and ``hold`` are decided at ``paid`` (``attribution``, ``fraud``);
    ``closed`` are the periods closed when the order was read."""
    terms = Terms(programs, tz, frozenset(closed), credit, hold)
    if event.status in ADMIN_STATUSES:
        return _REVIEWS[event.status](_held(order, event.status), event, terms)
    _check_same_order(order, event)
    _check_refund(order, event)
    if order is not None and _unchanged(order, event):
        return Plan(applied=False, status=order.status, commission=order.commission)
    _check_move(order, event)
    if order is None:
        return _paid(event, terms)
    if order.credit is None or order.review == REJECTED:
        return _status_only(event)
    return _MOVES[event.status](order, order.credit, event, terms)


# -- checks ------------------------------------------------------------------------------


def _impossible(current: str, wanted: str) -> Conflict:
    return Conflict(
        f"order cannot go from {current} to {wanted}",
        current_status=current,
        requested_status=wanted,
    )


def _check_same_order(order: Order | None, event: OrderEvent) -> None:
    if order is None:
        return
    if event.amount != order.amount:
        raise Conflict(
            f"amount {event.amount} differs from the order's amount {order.amount}",
            current_status=order.status,
            requested_status=event.status,
        )
    if event.currency != order.currency:
        raise Conflict(f"currency {event.currency} differs from the order's {order.currency}")


def _check_refund(order: Order | None, event: OrderEvent) -> None:
    refunded = event.refunded_amount
    if event.status != "refunded":
        if refunded not in (None, 0, order.refunded_amount if order else 0):
            raise InvalidField.one("refunded_amount", "only a refunded event may change it")
        return
    if refunded is None:
        raise InvalidField.one("refunded_amount", "a refund needs refunded_amount")
    if refunded > event.amount:
        raise InvalidField.one(
            "refunded_amount", f"{refunded} is above the order's amount {event.amount}"
        )
    if refunded <= 0:
        raise InvalidField.one("refunded_amount", "a refund must refund more than 0")
    if order is not None and refunded < order.refunded_amount:
        raise Conflict(
            f"refunded_amount cannot go down from {order.refunded_amount} to {refunded}",
            current_status=order.status,
            requested_status=event.status,
        )


def _unchanged(order: Order, event: OrderEvent) -> bool:
    """The same status with the same data: nothing moves."""
    if event.status != order.status:
        return False
    return event.status != "refunded" or event.refunded_amount == order.refunded_amount


def _check_move(order: Order | None, event: OrderEvent) -> None:
    current = order.status if order else "none"
    if event.status not in NEXT[current]:
        raise _impossible(current, event.status)
    if order is not None and event.occurred_ms < max(order.times.values()):
        raise InvalidField.one(
            "occurred_at", "is before the order's previous event: events must move forward"
        )


# -- one handler per status -----------------------------------------------------------------


def _moved(event: OrderEvent) -> dict[str, Any]:
    return {f"{event.status}_at": event.occurred_ms, "status": event.status}


def _paid(event: OrderEvent, terms: Terms) -> Plan:
    fields = {
        **_moved(event),
        "order_id": event.order_id,
        "amount": event.amount,
        "refunded_amount": 0,
        "currency": event.currency,
        "created_at": event.received_ms,
    }
    credit = terms.credit
    if credit is None:
        return Plan(applied=True, status="paid", fields={**fields, "commission": 0})
    commission = commission_of(event.amount, 0, credit.rate_bps)
    fields.update(credit.to_hash(), commission=commission)
    if terms.hold is not None:
        fields.update(review=HELD, review_reason=terms.hold)
    return Plan(
        applied=True,
        status="paid",
        commission=commission,
        fields=fields,
        link={"orders": 1, "gmv": event.amount, "commission": commission},
        product={"orders": 1, "gmv": event.amount},
    )


def _status_only(event: OrderEvent) -> Plan:
    """Unattributed, or rejected on review: only the status and its time move."""
    fields = _moved(event)
    if event.status == "refunded":
        fields["refunded_amount"] = event.refunded_amount
    return Plan(applied=True, status=event.status, fields=fields)


def _confirmed(order: Order, credit: Credit, event: OrderEvent, terms: Terms) -> Plan:
    if order.review == HELD:  # a held order settles when released
        return Plan(True, "confirmed", order.commission, _moved(event))
    settled, move = _settle(order, credit, event.occurred_ms, terms)
    return Plan(True, "confirmed", order.commission, {**_moved(event), **settled}, settlement=move)


def _refunded(order: Order, credit: Credit, event: OrderEvent, terms: Terms) -> Plan:
    refunded = event.refunded_amount
    assert refunded is not None  # _check_refund
    commission = commission_of(order.amount, refunded, credit.rate_bps)
    gmv = -(refunded - order.refunded_amount)
    moved = commission - order.commission
    moves: tuple[SettlementMove, ...] = ()
    if order.settled_period is not None:
        settled = Period.parse(order.settled_period)
        lands = period_placement.refund_landing(event.occurred_ms, settled, terms.tz, terms.closed)
        moves = (_move(str(lands.period), lands.adjustment, order, credit, 0, gmv, moved),)
    return Plan(
        applied=True,
        status="refunded",
        commission=commission,
        fields={**_moved(event), "refunded_amount": refunded, "commission": commission},
        link={"gmv": gmv, "commission": moved},
        product={"gmv": gmv},
        settlement=moves,
    )


def _cancelled(order: Order, credit: Credit, event: OrderEvent, terms: Terms) -> Plan:
    link, product = _taken_back(order)
    return Plan(True, "cancelled", 0, {**_moved(event), "commission": 0}, link, product)


_MOVES: dict[str, Callable[[Order, Credit, OrderEvent, Terms], Plan]] = {
    "confirmed": _confirmed,
    "refunded": _refunded,
    "cancelled": _cancelled,
}


# -- an admin's review of a held order ------------------------------------------------------


def _held(order: Order | None, action: str) -> Order:
    """Only a held order is reviewed: anything else is 409."""
    if order is None:
        raise _impossible("none", action)
    if order.review != HELD:
        raise Conflict(
            f"order cannot be {REVIEWED[action]}: it is {order.review or 'not held'}",
            review=order.review,
            requested_action=action,
        )
    return order


def _reviewed(event: OrderEvent) -> dict[str, Any]:
    return {"review": REVIEWED[event.status], "reviewed_at": event.occurred_ms}


def _release(order: Order, event: OrderEvent, terms: Terms) -> Plan:
    """Released: a confirmed order settles now, as its confirmation would have; one
    not yet confirmed settles when it is; a cancelled one never does."""
    confirmed_ms = order.times.get("confirmed_at")
    if order.credit is None or confirmed_ms is None:
        return Plan(True, order.status, order.commission, _reviewed(event))
    settled, move = _settle(order, order.credit, confirmed_ms, terms)
    fields = {**_reviewed(event), **settled}
    return Plan(True, order.status, order.commission, fields, settlement=move)


def _reject(order: Order, event: OrderEvent, terms: Terms) -> Plan:
    """Rejected: it earns nothing, leaves its link's figures and never settles."""
    if order.credit is None:  # held orders are attributed; nothing moves without a credit
        return Plan(True, order.status, order.commission, _reviewed(event))
    fields = {**_reviewed(event), "commission": 0}
    if order.status == "cancelled":  # the cancellation took the figures back already
        return Plan(True, order.status, 0, fields)
    link, product = _taken_back(order)
    return Plan(True, order.status, 0, fields, link, product)


_REVIEWS: dict[str, Callable[[Order, OrderEvent, Terms], Plan]] = {
    RELEASE: _release,
    REJECT: _reject,
}


# -- figures ------------------------------------------------------------------------------


def _settle(
    order: Order, credit: Credit, confirmed_ms: int, terms: Terms
) -> tuple[dict[str, Any], tuple[SettlementMove, ...]]:
    """The order settles whole: its current net and commission."""
    holding = terms.programs[credit.channel].holding_days
    period = str(period_placement.settlement_period(confirmed_ms, holding, terms.tz, terms.closed))
    move = _move(period, False, order, credit, 1, order.net, order.commission)
    return {"settled_period": period}, (move,)


def _move(
    period: str, adjustment: bool, order: Order, credit: Credit, orders: int, gmv: int, c: int
) -> SettlementMove:
    return SettlementMove(
        period=period,
        adjustment=adjustment,
        account=credit.account,
        channel=credit.channel,
        creator_id=credit.creator_id,
        orders=orders,
        gmv=gmv,
        commission=c,
        order_ref=order.ref,
    )


def _taken_back(order: Order) -> tuple[dict[str, int], dict[str, int]]:
    """What the order added to its link's and product's figures, negated."""
    link = {"orders": -1, "gmv": -order.net, "commission": -order.commission}
    return link, {"orders": -1, "gmv": -order.net}
