"""How an order event is written: once, atomically, on the order as it was read.

The write path (``write``), for a storefront's event and an admin's review alike:
1. read the order, the record of this request (its first response, if it was
   applied already) and the closed periods (``read``);
2. decide (the caller: attribution at ``paid``, then ``lifecycle.plan``);
3. ``APPLY`` writes it all in one script, only if the order has not changed
   since step 1, the request was not applied meanwhile and every period the
   plan writes to is still open; otherwise the path starts again from step 1.
So concurrent duplicates apply once, concurrent different events for one order
apply one after the other, each seeing the last, and a period closed between
the read and the write never takes the event: it is planned again, into the
next open period.

All keys an event touches live in the ``{money}`` slot (``keys``). Besides the
order and the settlement, an applied event keeps the order's place in the order
lists (``listing``) and its link's money by day (``series``).
The postback outbox is in that slot too: the events a change announces (``Step.announced``)
are appended by the same ``APPLY`` (``postbacks.outbox.stage``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import tzinfo
from typing import Any

from .. import keys, series
from ..errors import Busy
from ..library import ORDINAL_BITS
from ..postbacks import events, outbox
from ..replication import confirm_replicated, run_replicated
from ..store import Script, ScriptCall, StoreClient
from .lifecycle import ADMIN_STATUSES, HELD, Plan
from .listing import index_keys
from .records import Credit, HistoryEntry, Order, OrderEvent

__all__ = [
    "APPLY",
    "DELIVERY_RETENTION_SECONDS",
    "MAX_ATTEMPTS",
    "Outcome",
    "Snapshot",
    "Step",
    "apply_call",
    "read",
    "write",
]

MAX_ATTEMPTS = 50
# How long a webhook-id's first response is kept for replays: senders retry for
# one to three days on common schedules; 30 days is ten times the longest. After
# that a replay is judged again, which the lifecycle makes harmless (the same
# status with the same data is a no-op).
DELIVERY_RETENTION_SECONDS = 30 * 86400

# KEYS[1] order hash   KEYS[2] this request's record (webhook-id -> first response)
# KEYS[3] the money sequence counter
# KEYS[4..] the other keys the operations name (by index)
# ARGV[1] webhook-id   ARGV[2] the order version the plan was made from
# ARGV[3] the response to give this request and its replays
# ARGV[4] how long the request's record is kept (s)
# ARGV[5..] operations, four values each: op, key index, field, value
#   "eq"      guard: HGET key field must equal value ("" for absent)
#   "hset"    HSET key field value          "hincrby" HINCRBY key field value
#   "rpush"   RPUSH key "<sequence> <value>"  "sadd"    SADD key value
#   "zadd"    ZADD key value field (score)    "zrem"    ZREM key field
#   "zincrby" ZINCRBY key value field         "zaddseq" ZADD key <sequence> field
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
  elseif op == 'zincrby' then redis.call('ZINCRBY', key, v, f)
  elseif op == 'zaddseq' then redis.call('ZADD', key, seq, f)
  end
end
redis.call('HSET', KEYS[1], 'version', tonumber(version) + 1)
redis.call('SET', KEYS[2], ARGV[3], 'EX', ARGV[4])
return {'ok'}
"""
)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What one attempt reads."""

    order: Order | None
    recorded: str | None  # the first response to this request, if it was applied
    closed: frozenset[str]  # the periods closed at the time of the read
    fields: Mapping[str, str] = field(default_factory=dict)  # the order's hash as read


@dataclass(frozen=True, slots=True)
class Step:
    """What one attempt decided: the event, its plan and the answer to give."""

    event: OrderEvent
    plan: Plan
    credit: Credit | None  # the order's credit once the event applies
    response: dict[str, Any]
    by: str | None = None  # who sent it, for the history: "admin" for a review
    announced: tuple[events.Event, ...] = ()  # postback events, recorded if it applies


@dataclass(frozen=True, slots=True)
class Outcome:
    response: dict[str, Any]
    replayed: bool  # the request was applied before: this is its first response


def read(r: StoreClient, storefront_id: str, order_id: str, record_key: str) -> Snapshot:
    pipe = r.pipeline(transaction=False)
    pipe.hgetall(keys.order(storefront_id, order_id))
    pipe.get(record_key)
    pipe.hgetall(keys.periods())
    data, recorded, period_states = pipe.execute()
    order = Order.from_hash(storefront_id, order_id, data) if data else None
    # A period's field present: closed (its value says when).
    return Snapshot(order, recorded, frozenset(period_states), data)


def write(
    r: StoreClient,
    storefront_id: str,
    order_id: str,
    record_key: str,
    decide: Callable[[Snapshot], Step],
    busy: str,
    tz: tzinfo,
    replicas: int = 0,
) -> Outcome:
    """Read, decide, apply; again while the order or a period moved meanwhile.

    ``decide`` may refuse (raise); ``busy`` is the 503's message when the order
    keeps changing for ``MAX_ATTEMPTS``; ``tz`` dates the money by day. With
    ``replicas``, nothing is answered, first time or replay, before that many
    replicas hold the write (``replication``; else ``NotReplicated``, 503)."""
    mark = keys.money_replicated()
    for _ in range(MAX_ATTEMPTS):
        seen = read(r, storefront_id, order_id, record_key)
        if seen.recorded is not None:
            # Applied before, perhaps by a request answered 503 as not yet replicated.
            if confirm_replicated(r, record_key, mark, replicas):
                return Outcome(json.loads(seen.recorded), replayed=True)
            continue  # gone since the read (a failover lost it): decided and written again
        step = decide(seen)
        script, names, args = apply_call(storefront_id, seen.order, record_key, step, tz)
        answer = run_replicated(r, script, names, args, replicas, mark)
        if answer[0] == "ok":
            return Outcome(step.response, replayed=False)
        if answer[0] == "dup":
            return Outcome(json.loads(answer[1]), replayed=True)
    raise Busy(busy)


def apply_call(
    storefront_id: str, order: Order | None, record_key: str, step: Step, tz: tzinfo
) -> ScriptCall:
    """The ``APPLY`` call that writes ``step`` on ``order`` as it was read (None:
    not seen yet): a value, so that a bulk load can send many in one round trip
    (``store.run_scripts``; ``bench.orders_list``)."""
    ops = _Ops(keys.order(storefront_id, step.event.order_id), record_key)
    _queue_step(ops, storefront_id, order, step)
    _queue_listing(ops, storefront_id, order, step, tz)
    version = order.version if order else 0
    head = [step.event.webhook_id, version, json.dumps(step.response)]
    return APPLY, ops.keys, [*head, DELIVERY_RETENTION_SECONDS, *ops.args]


class _Ops:
    """Operations for ``APPLY``, with the keys they name."""

    def __init__(self, order_key: str, record_key: str) -> None:
        self.order_key = order_key
        self.keys = [order_key, record_key, keys.money_sequence()]
        self.args: list[Any] = []

    def _index(self, key: str) -> int:
        if key not in self.keys:
            self.keys.append(key)
        return self.keys.index(key) + 1

    def add(self, op: str, key: str, name: Any = "", value: Any = "") -> None:
        self.args += [op, self._index(key), name, value]


def _queue_step(ops: _Ops, storefront_id: str, order: Order | None, step: Step) -> None:
    """The history entry always (a no-op is recorded too); the rest once applied."""
    event, plan = step.event, step.plan
    entry = HistoryEntry.of(event, plan.applied, by=step.by)
    history = keys.order_history(storefront_id, event.order_id)
    ops.add("rpush", history, "", json.dumps(entry.to_json()))
    if not plan.applied:
        return
    ref = f"{storefront_id}:{event.order_id}"
    if order is None:  # born: indexed, and held for review if so decided
        ops.add("hset", ops.order_key, "storefront_id", storefront_id)
        ops.add("zadd", keys.orders(), ref, event.received_ms)
        if plan.fields.get("review") == HELD:
            ops.add("zadd", keys.held_orders(), ref, event.received_ms)
    if event.status in ADMIN_STATUSES:
        ops.add("zrem", keys.held_orders(), ref, "")
    _queue_plan(ops, plan, step.credit)
    outbox.stage(ops, step.announced)


def _queue_sales_order(ops: _Ops, product_id: str, orders: int) -> None:
    """The product's place in the library's sales order moves with its orders
    (``library_index``), and the move is logged for paging runs under way."""
    if orders:
        ops.add("zincrby", keys.library_sales(), product_id, orders << ORDINAL_BITS)
        ops.add("zaddseq", keys.library_sales_changes(), product_id, "")


def _queue_plan(ops: _Ops, plan: Plan, credit: Credit | None) -> None:
    """The order's fields, its link's and product's figures, and the settlement
    aggregates of periods guarded open."""
    for name, value in plan.fields.items():
        ops.add("hset", ops.order_key, name, value)
    if credit is not None:
        for name, delta in plan.link.items():
            ops.add("hincrby", keys.link_money(credit.link_id), name, delta)
        for name, delta in plan.product.items():
            ops.add("hincrby", keys.product_sales(credit.product_id), name, delta)
        _queue_sales_order(ops, credit.product_id, plan.product.get("orders", 0))
    for period in sorted(plan.open_periods):
        ops.add("eq", keys.periods(), period, "")
    for move in plan.settlement:
        if move.adjustment:
            where = keys.period_adjustments(move.period)
            ops.add("sadd", keys.period_adjusted_orders(move.period), "", move.adjusted_member)
        else:
            where = keys.period_lines(move.period)
        for name, value in move.figures():
            ops.add("hincrby", where, name, value)
        ops.add("hincrby", keys.period_versions(), move.period, 1)


def _queue_listing(
    ops: _Ops, storefront_id: str, order: Order | None, step: Step, tz: tzinfo
) -> None:
    """The order's places in the lists, by its paid time: all of them when it is
    born, the status list when its status moves; and its link's money by day."""
    plan = step.plan
    if not plan.applied or (order is not None and not order.listed):
        return  # written before the lists were: ``reindex`` places it whole, history and all
    ref = f"{storefront_id}:{step.event.order_id}"
    paid_ms = order.times["paid_at"] if order else step.event.occurred_ms
    if order is None:
        ops.add("hset", ops.order_key, "listed", 1)
        for key in index_keys(storefront_id, step.credit):
            ops.add("zadd", key, ref, paid_ms)
    if order is None or plan.status != order.status:
        if order is not None:
            ops.add("zrem", keys.status_orders(order.status), ref, "")
        ops.add("zadd", keys.status_orders(plan.status), ref, paid_ms)
    if step.credit is not None:
        daily = keys.link_money_daily(step.credit.link_id)
        moved = series.money_by_day(plan.link, step.event.occurred_ms, paid_ms, tz)
        for day_field, change in moved:
            ops.add("hincrby", daily, day_field, change)
