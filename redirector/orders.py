"""Orders: storefront events applied exactly once, through the order lifecycle.

Lifecycle (docs/domain.md, Orders): ``paid`` → ``confirmed`` → ``refunded`` (partial
refunds repeat; ``refunded_amount`` is cumulative, never above ``amount``, never
going down), and ``paid`` → ``cancelled``. The same status with the same data is
a no-op; any other move is 409 naming both states.

How an event is applied:
1. ``receive`` reads the order, its replay record for the event's
   ``webhook-id`` and the closed periods;
2. at ``paid`` it attributes the order (``attribution``) and snapshots the
   product's commission rate and the creator's guide account;
3. ``plan`` (pure) decides the new state and every figure the event moves: the
   link's and product's order figures and the settlement aggregates;
4. ``APPLY`` writes it all in one script, only if the order has not changed
   since step 1 and the event was not applied meanwhile; otherwise ``receive``
   starts again. So concurrent duplicates apply once, and concurrent different
   events for one order apply one after the other, each seeing the last.

Review (``fraud``): an order attributed, at ``paid``, to a click flagged as
part of a flood, or paid within seconds of its click, is *held*. It keeps its
lifecycle (link and product figures move as usual) but makes no settlement
move while held. An admin then releases it (``review``: it settles now if it
was confirmed, else when it is) or rejects it (it earns nothing: its link and
product figures are taken back out, it never settles). Those two admin actions
are events in the order's history (statuses ``release`` and ``reject``, never
taken from a storefront), applied by the same ``APPLY`` script, so a replay of
the history through ``plan`` (``settlement.recompute``) gives the same figures.

All keys an event touches live in the ``{money}`` slot (``keys``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from . import attribution, fraud, keys
from .clock import utc_from_ms
from .errors import Busy, Conflict, InvalidField, NotFound
from .money import commission_of
from .periods import Period, period_of
from .programs import Program
from .store import Script, StoreClient

STATUSES = ("paid", "confirmed", "refunded", "cancelled")
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
MAX_ATTEMPTS = 50
# How long a webhook-id's first response is kept for replays: senders retry for
# one to three days on common schedules; 30 days is ten times the longest. After
# that a replay is judged again, which the lifecycle makes harmless (the same
# status with the same data is a no-op).
DELIVERY_RETENTION_SECONDS = 30 * 86400

# KEYS[1] order hash   KEYS[2] this delivery's record (webhook-id -> first response)
# KEYS[3] the money sequence counter
# KEYS[4..] the other keys the operations name (by index)
# ARGV[1] webhook-id   ARGV[2] the order version the plan was made from
# ARGV[3] the response to give this delivery and its replays
# ARGV[4] how long the delivery record is kept (s)
# ARGV[5..] operations, four values each: op, key index, field, value
#   "eq"      guard: HGET key field must equal value ("" for absent)
#   "hset"    HSET key field value          "hincrby" HINCRBY key field value
#   "rpush"   RPUSH key "<sequence> <value>"  "sadd"    SADD key value
#   "zadd"    ZADD key value field (score)    "zrem"    ZREM key field
# Answers {"dup", first response} for a replay, {"retry"} when the order or a
# guard moved since the plan was made, {"ok"} once applied.
APPLY = Script(
    """
local first = redis.call('GET', KEYS[2])
if first then return {'dup', first} end
local version = redis.call('HGET', KEYS[1], 'version') or '0'
if version ~= ARGV[2] then return {'retry'} end
for i = 5, #ARGV, 4 do
  if ARGV[i] == 'eq' then
    local held = redis.call('HGET', KEYS[tonumber(ARGV[i + 1])], ARGV[i + 2]) or ''
    if held ~= ARGV[i + 3] then return {'retry'} end
  end
end
local seq = redis.call('INCR', KEYS[3])
for i = 5, #ARGV, 4 do
  local op, key, f, v = ARGV[i], KEYS[tonumber(ARGV[i + 1])], ARGV[i + 2], ARGV[i + 3]
  if op == 'hset' then redis.call('HSET', key, f, v)
  elseif op == 'hincrby' then redis.call('HINCRBY', key, f, v)
  elseif op == 'rpush' then redis.call('RPUSH', key, seq .. ' ' .. v)
  elseif op == 'sadd' then redis.call('SADD', key, v)
  elseif op == 'zadd' then redis.call('ZADD', key, v, f)
  elseif op == 'zrem' then redis.call('ZREM', key, f)
  end
end
redis.call('HSET', KEYS[1], 'version', tonumber(version) + 1)
redis.call('SET', KEYS[2], ARGV[3], 'EX', ARGV[4])
return {'ok'}
"""
)


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

    @classmethod
    def from_hash(cls, storefront_id: str, order_id: str, data: dict[str, str]) -> Order:
        credit = None
        if data.get("link_id"):
            credit = Credit(
                click_id=data["click_id"],
                link_id=data["link_id"],
                creator_id=data["creator_id"],
                product_id=data["product_id"],
                channel=data["channel"],
                account=data["account"],
                rate_bps=int(data["commission_rate_bps"]),
                how=data["attributed_by"],
            )
        return cls(
            storefront_id=storefront_id,
            order_id=order_id,
            status=data["status"],
            amount=int(data["amount"]),
            refunded_amount=int(data.get("refunded_amount", 0)),
            currency=data["currency"],
            version=int(data.get("version", 0)),
            times={f"{s}_at": int(data[f"{s}_at"]) for s in STATUSES if data.get(f"{s}_at")},
            credit=credit,
            commission=int(data.get("commission", 0)),
            settled_period=data.get("settled_period") or None,
            review=data.get("review") or None,
            review_reason=data.get("review_reason") or None,
            reviewed_at=int(data["reviewed_at"]) if data.get("reviewed_at") else None,
        )


@dataclass(frozen=True, slots=True)
class SettlementMove:
    """Figures an event adds to one line of one period."""

    period: str
    adjustment: bool
    account: str
    channel: str
    creator_id: str
    orders: int
    gmv: int
    commission: int
    order_ref: str


@dataclass
class Plan:
    applied: bool
    fields: dict[str, Any] = field(default_factory=dict)
    link: dict[str, int] = field(default_factory=dict)
    product: dict[str, int] = field(default_factory=dict)
    settlement: list[SettlementMove] = field(default_factory=list)
    open_periods: set[str] = field(default_factory=set)  # read as open; guarded
    commission: int = 0
    status: str = ""


def first_open(period: Period, closed: set[str]) -> Period:
    while str(period) in closed:
        period = period.next()
    return period


def _impossible(current: str, wanted: str) -> Conflict:
    return Conflict(
        f"order cannot go from {current} to {wanted}",
        current_status=current,
        requested_status=wanted,
    )


def plan(
    order: Order | None,
    event: OrderEvent,
    *,
    credit: Credit | None,
    programs: dict[str, Program] | Any,
    tz: ZoneInfo,
    closed: set[str],
    hold: str | None = None,
) -> Plan:
    """The rule: what ``event`` does to ``order`` (None: not seen yet). Pure.

    ``hold``: at ``paid``, why the attributed order is held for review (None: it
    is not); ``release`` and ``reject`` are an admin's review of a held order."""
    if event.status in ADMIN_STATUSES:
        return _review_plan(order, event, programs=programs, tz=tz, closed=closed)
    current = order.status if order else "none"
    wanted = event.status
    refunded = event.refunded_amount

    if order is not None:
        if event.amount != order.amount:
            raise Conflict(
                f"amount {event.amount} differs from the order's amount {order.amount}",
                current_status=current,
                requested_status=wanted,
            )
        if event.currency != order.currency:
            raise Conflict(f"currency {event.currency} differs from the order's {order.currency}")

    if wanted == "refunded":
        if refunded is None:
            raise InvalidField.one("refunded_amount", "a refund needs refunded_amount")
        if refunded > event.amount:
            raise InvalidField.one(
                "refunded_amount", f"{refunded} is above the order's amount {event.amount}"
            )
        if refunded <= 0:
            raise InvalidField.one("refunded_amount", "a refund must refund more than 0")
    elif refunded not in (None, 0, order.refunded_amount if order else 0):
        raise InvalidField.one("refunded_amount", "only a refunded event may change it")

    # The same status with the same data: nothing moves.
    if order is not None and wanted == current:
        if wanted != "refunded" or refunded == order.refunded_amount:
            return Plan(applied=False, commission=order.commission, status=current)
        if refunded is not None and refunded < order.refunded_amount:
            raise Conflict(
                f"refunded_amount cannot go down from {order.refunded_amount} to {refunded}",
                current_status=current,
                requested_status=wanted,
            )

    if wanted not in NEXT[current]:
        raise _impossible(current, wanted)
    if order is not None:
        last = max(order.times.values())
        if event.occurred_ms < last:
            raise InvalidField.one(
                "occurred_at", "is before the order's previous event: events must move forward"
            )

    p = Plan(applied=True, status=wanted)
    p.fields[f"{wanted}_at"] = event.occurred_ms
    p.fields["status"] = wanted

    if order is None:  # paid: the order is born, attributed or not
        p.fields.update(
            storefront_id="",  # filled by receive
            order_id=event.order_id,
            amount=event.amount,
            refunded_amount=0,
            currency=event.currency,
            created_at=event.received_ms,
        )
        if credit is None:
            p.fields["commission"] = 0
            return p
        commission = commission_of(event.amount, 0, credit.rate_bps)
        p.fields.update(
            click_id=credit.click_id,
            link_id=credit.link_id,
            creator_id=credit.creator_id,
            product_id=credit.product_id,
            channel=credit.channel,
            account=credit.account,
            commission_rate_bps=credit.rate_bps,
            attributed_by=credit.how,
            commission=commission,
        )
        if hold is not None:
            p.fields.update(review=HELD, review_reason=hold)
        p.commission = commission
        p.link = {"orders": 1, "gmv": event.amount, "commission": commission}
        p.product = {"orders": 1, "gmv": event.amount}
        return p

    credit = order.credit
    net_before = order.amount - order.refunded_amount
    if credit is None or order.review == REJECTED:
        # Unattributed, or rejected on review: only the status and its time move.
        if wanted == "refunded":
            p.fields["refunded_amount"] = refunded
        return p

    if wanted == "confirmed":
        p.commission = order.commission
        if order.review != HELD:  # a held order settles when released
            _settle(p, order, credit, event.occurred_ms, programs=programs, tz=tz, closed=closed)
        return p

    if wanted == "cancelled":
        p.fields["commission"] = 0
        p.link = {"orders": -1, "gmv": -net_before, "commission": -order.commission}
        p.product = {"orders": -1, "gmv": -net_before}
        return p

    # refunded, more than before
    assert refunded is not None
    commission = commission_of(order.amount, refunded, credit.rate_bps)
    d_gmv = -(refunded - order.refunded_amount)
    d_commission = commission - order.commission
    p.fields.update(refunded_amount=refunded, commission=commission)
    p.commission = commission
    p.link = {"gmv": d_gmv, "commission": d_commission}
    p.product = {"gmv": d_gmv}
    settled = order.settled_period
    if settled is not None and settled not in closed:
        p.open_periods.add(settled)
        p.settlement.append(
            SettlementMove(
                settled,
                False,
                credit.account,
                credit.channel,
                credit.creator_id,
                0,
                d_gmv,
                d_commission,
                f"{order.storefront_id}:{order.order_id}",
            )
        )
    elif settled is not None:
        # Not before the event, and never before the period the order settled in.
        when = max(period_of(utc_from_ms(event.occurred_ms), tz), Period.parse(settled))
        target = first_open(when, closed)
        p.open_periods.add(str(target))
        p.settlement.append(
            SettlementMove(
                str(target),
                True,
                credit.account,
                credit.channel,
                credit.creator_id,
                0,
                d_gmv,
                d_commission,
                f"{order.storefront_id}:{order.order_id}",
            )
        )
    return p


def _settle(
    p: Plan,
    order: Order,
    credit: Credit,
    confirmed_ms: int,
    *,
    programs: Any,
    tz: ZoneInfo,
    closed: set[str],
) -> None:
    """Settle ``order`` (confirmed at ``confirmed_ms``): the first open period not
    before the one holding ``confirmed_at + holding_days``."""
    program = programs[credit.channel]
    settle = first_open(period_of(utc_from_ms(confirmed_ms), tz, program.holding_days), closed)
    p.fields["settled_period"] = str(settle)
    p.open_periods.add(str(settle))
    p.settlement.append(
        SettlementMove(
            str(settle),
            False,
            credit.account,
            credit.channel,
            credit.creator_id,
            1,
            order.amount - order.refunded_amount,
            order.commission,
            f"{order.storefront_id}:{order.order_id}",
        )
    )


def _review_plan(
    order: Order | None,
    event: OrderEvent,
    *,
    programs: Any,
    tz: ZoneInfo,
    closed: set[str],
) -> Plan:
    """An admin's ``release`` or ``reject`` of a held order. Pure.

    - release: ``review: "released"``; a confirmed order settles now, as a
      confirmation would have (``_settle``); one not yet confirmed settles when
      it is; a cancelled one never does.
    - reject: ``review: "rejected"``, commission 0; its link and product figures
      are taken back out (unless a cancellation did already); it never settles.
    Anything but a held order is 409."""
    wanted = event.status
    if order is None:
        raise _impossible("none", wanted)
    if order.review != HELD:
        state = order.review or "not held"
        raise Conflict(
            f"order cannot be {REVIEWED[wanted]}: it is {state}",
            review=order.review,
            requested_action=wanted,
        )
    p = Plan(applied=True, status=order.status, commission=order.commission)
    p.fields["review"] = REVIEWED[wanted]
    p.fields["reviewed_at"] = event.occurred_ms
    credit = order.credit
    if credit is None:  # held orders are attributed; nothing moves without a credit
        return p
    if wanted == RELEASE:
        confirmed_ms = order.times.get("confirmed_at")
        if confirmed_ms is not None:
            _settle(p, order, credit, confirmed_ms, programs=programs, tz=tz, closed=closed)
        return p
    p.fields["commission"] = 0
    p.commission = 0
    if order.status != "cancelled":
        net = order.amount - order.refunded_amount
        p.link = {"orders": -1, "gmv": -net, "commission": -order.commission}
        p.product = {"orders": -1, "gmv": -net}
    return p


def line_field(account: str, channel: str, creator: str, metric: str) -> str:
    return f"{account}|{channel}|{creator}|{metric}"


class _Ops:
    """Operations for ``APPLY``, with the keys they name."""

    def __init__(self, order_key: str, delivery_key: str) -> None:
        self.keys = [order_key, delivery_key, keys.money_sequence()]
        self.args: list[Any] = []

    def _index(self, key: str) -> int:
        if key not in self.keys:
            self.keys.append(key)
        return self.keys.index(key) + 1

    def add(self, op: str, key: str, name: Any = "", value: Any = "") -> None:
        self.args += [op, self._index(key), name, value]


def _queue_writes(ops: _Ops, p: Plan, order_key: str, credit: Credit | None) -> None:
    """The writes of an applied plan: the order's fields, its link's and
    product's figures, and the settlement aggregates (guarded open)."""
    for name, value in p.fields.items():
        ops.add("hset", order_key, name, value)
    if credit is not None:
        for name, delta in p.link.items():
            ops.add("hincrby", keys.link_money(credit.link_id), name, delta)
        for name, delta in p.product.items():
            ops.add("hincrby", keys.product_sales(credit.product_id), name, delta)
    for period in p.open_periods:
        ops.add("eq", keys.periods(), period, "")
    for move in p.settlement:
        where = (
            keys.period_adjustments(move.period)
            if move.adjustment
            else keys.period_lines(move.period)
        )
        for creator in ("*", move.creator_id):
            for metric in ("orders", "gmv", "commission"):
                ops.add(
                    "hincrby",
                    where,
                    line_field(move.account, move.channel, creator, metric),
                    getattr(move, metric),
                )
        if move.adjustment:
            ops.add(
                "sadd",
                keys.period_adjusted_orders(move.period),
                "",
                f"{move.account}|{move.channel}|{move.order_ref}",
            )
        ops.add("hincrby", keys.period_versions(), move.period, 1)


def _response(order_id: str, status: str, credit: Credit | None, commission: int) -> dict:
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


def _credit_for(r: StoreClient, found: attribution.Attribution, programs: Any) -> Credit | None:
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


def receive(svc: Any, storefront_id: str, event: OrderEvent) -> tuple[dict, bool]:
    """Apply a verified event exactly once; answers (response, replayed)."""
    r = svc.store
    settings = svc.settings
    order_key = keys.order(storefront_id, event.order_id)
    delivery_key = keys.delivery(storefront_id, event.webhook_id)
    for _ in range(MAX_ATTEMPTS):
        pipe = r.pipeline(transaction=False)
        pipe.hgetall(order_key)
        pipe.get(delivery_key)
        pipe.hgetall(keys.periods())
        data, first, period_states = pipe.execute()
        if first is not None:
            return json.loads(first), True
        order = Order.from_hash(storefront_id, event.order_id, data) if data else None
        closed = set(period_states)  # field present: closed (value: when)

        credit = None
        hold = None
        if order is None and event.status == "paid":
            found = attribution.attribute(
                r,
                storefront_id=storefront_id,
                order_ms=event.occurred_ms,
                click_id=event.click_id,
                device=event.device_id,
                programs=settings.programs,
                verify_device=svc.devices.verify,
            )
            credit = _credit_for(r, found, settings.programs) if found else None
            if credit is not None and found is not None and found.click is not None:
                hold = fraud.hold_reason(
                    settings.fraud,
                    suspicious=found.click.suspicious,
                    click_ms=found.click.at_ms,
                    paid_ms=event.occurred_ms,
                )

        p = plan(
            order,
            event,
            credit=credit,
            programs=settings.programs,
            tz=settings.timezone,
            closed=closed,
            hold=hold,
        )
        effective_credit = credit if order is None else order.credit
        response = _response(event.order_id, p.status, effective_credit, p.commission)

        ops = _Ops(order_key, delivery_key)
        history = {
            "webhook_id": event.webhook_id,
            "status": event.status,
            "amount": event.amount,
            "refunded_amount": event.refunded_amount,
            "occurred_at": event.occurred_ms,
            "received_at": event.received_ms,
            "click_id": event.click_id,
            "device_id": event.device_id,
            "applied": p.applied,
        }
        ops.add("rpush", keys.order_history(storefront_id, event.order_id), "", json.dumps(history))
        if p.applied:
            if order is None:
                p.fields["storefront_id"] = storefront_id
                ref = f"{storefront_id}:{event.order_id}"
                ops.add("zadd", keys.orders(), ref, event.received_ms)
                if p.fields.get("review") == HELD:
                    ops.add("zadd", keys.held_orders(), ref, event.received_ms)
            _queue_writes(ops, p, order_key, effective_credit)
        answer = APPLY(
            r,
            ops.keys,
            [
                event.webhook_id,
                order.version if order else 0,
                json.dumps(response),
                DELIVERY_RETENTION_SECONDS,
                *ops.args,
            ],
        )
        if answer[0] == "ok":
            return response, False
        if answer[0] == "dup":
            return json.loads(answer[1]), True
    raise Busy("the order is changing too fast; retry the event shortly")


def review(svc: Any, storefront_id: str, order_id: str, action: str) -> dict[str, Any]:
    """An admin releases (``release``) or rejects (``reject``) a held order.

    Applied once, through ``APPLY`` like a storefront's event and kept in the
    order's history: the request id ``review-<order id>-<action>`` is recorded
    with it, so a repeated request (a double click) changes nothing and is 409,
    as is any action on an order that is not held. Answers the order."""
    if action not in ADMIN_STATUSES:
        raise ValueError(f"unknown review action {action!r}")
    r = svc.store
    settings = svc.settings
    order_key = keys.order(storefront_id, order_id)
    request_key = keys.review_request(storefront_id, order_id, action)
    request_id = f"review-{order_id}-{action}"
    for _ in range(MAX_ATTEMPTS):
        pipe = r.pipeline(transaction=False)
        pipe.hgetall(order_key)
        pipe.get(request_key)
        pipe.hgetall(keys.periods())
        data, first, period_states = pipe.execute()
        if not data:
            raise NotFound(f"order {order_id!r} of storefront {storefront_id!r} not found")
        if first is not None:
            raise Conflict(f"order was {REVIEWED[action]} already", requested_action=action)
        order = Order.from_hash(storefront_id, order_id, data)
        now_ms = svc.clock.now_ms()
        event = OrderEvent(
            webhook_id=request_id,
            order_id=order_id,
            status=action,
            amount=order.amount,
            currency=order.currency,
            occurred_ms=now_ms,
            received_ms=now_ms,
        )
        p = plan(
            order,
            event,
            credit=order.credit,
            programs=settings.programs,
            tz=settings.timezone,
            closed=set(period_states),
        )
        history = {
            "webhook_id": request_id,
            "status": action,
            "amount": order.amount,
            "refunded_amount": None,
            "occurred_at": now_ms,
            "received_at": now_ms,
            "click_id": None,
            "device_id": None,
            "applied": True,
            "by": "admin",
        }
        ops = _Ops(order_key, request_key)
        ops.add("rpush", keys.order_history(storefront_id, order_id), "", json.dumps(history))
        ops.add("zrem", keys.held_orders(), f"{storefront_id}:{order_id}", "")
        _queue_writes(ops, p, order_key, order.credit)
        answer = APPLY(
            r,
            ops.keys,
            [
                request_id,
                order.version,
                json.dumps({"review": p.fields["review"]}),
                DELIVERY_RETENTION_SECONDS,
                *ops.args,
            ],
        )
        if answer[0] == "ok":
            return get_order(r, storefront_id, order_id)
        if answer[0] == "dup":
            raise Conflict(f"order was {REVIEWED[action]} already", requested_action=action)
    raise Busy("the order is changing too fast; retry shortly")


def held_orders(r: StoreClient) -> list[dict[str, Any]]:
    """Orders held for review, oldest first."""
    return [get_order(r, *ref.split(":", 1)) for ref in r.zrange(keys.held_orders(), 0, -1)]


def get_order(r: StoreClient, storefront_id: str, order_id: str) -> dict[str, Any]:
    pipe = r.pipeline(transaction=False)
    pipe.hgetall(keys.order(storefront_id, order_id))
    pipe.lrange(keys.order_history(storefront_id, order_id), 0, -1)
    data, history = pipe.execute()
    if not data:
        raise NotFound(f"order {order_id!r} of storefront {storefront_id!r} not found")
    order = Order.from_hash(storefront_id, order_id, data)
    credit = order.credit
    return {
        "storefront_id": storefront_id,
        "order_id": order_id,
        "status": order.status,
        "amount": order.amount,
        "refunded_amount": order.refunded_amount,
        "currency": order.currency,
        **{f"{s}_at": order.times.get(f"{s}_at") for s in STATUSES},
        "attributed": (
            {
                "click_id": credit.click_id,
                "link_id": credit.link_id,
                "creator_id": credit.creator_id,
                "product_id": credit.product_id,
                "channel": credit.channel,
                "account_id": credit.account.split(":", 1)[1],
                "account_type": credit.account.split(":", 1)[0],
                "by": credit.how,
            }
            if credit
            else None
        ),
        "commission_rate_bps": credit.rate_bps if credit else None,
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
        "history": [json.loads(entry.split(" ", 1)[1]) for entry in history],
    }


def parse_time(value: str, field_name: str = "occurred_at") -> int:
    """RFC 3339 with an offset -> ms since the epoch; naive times are refused."""
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except (ValueError, AttributeError) as exc:
        raise InvalidField.one(field_name, f"{value!r} is not an RFC 3339 time") from exc
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise InvalidField.one(field_name, "must carry a time-zone offset, e.g. +08:00")
    return round(moment.astimezone(UTC).timestamp() * 1000)


# An order id as a storefront names it (the pattern the API validates with):
# ':' allowed ("T1:history" and "T1" are two orders), so an order reference
# ``<storefront>:<order>`` splits at its first ':' only.
ORDER_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$"


def recent_orders(r: StoreClient, count: int) -> list[dict[str, Any]]:
    """The ``count`` orders that arrived last, newest first."""
    refs = r.zrevrange(keys.orders(), 0, count - 1)
    return [get_order(r, *ref.split(":", 1)) for ref in refs]
