"""Orders written before the order lists and the per-day money existed, placed.

The write path keeps an order's places in the lists (``listing``) and its
link's money by day (``series``) from the order's ``paid`` on, and marks the
order ``listed``. An order it wrote before that is in neither; ``reindex``
(``redirector reindex-orders``) places each such order whole: it joins its
lists, and its link's money by day is replayed from its history through
``plan``, event by event, by the rule of ``series.money_by_day``; then it is
marked ``listed``. One order at a time, in a transaction watching the order:
an event applied meanwhile makes that order start again. The write path adds
nothing for an order not yet listed, so no event is counted twice; and an
order listed already is left alone, so running it again changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import redis

from .. import keys, series
from ..context import Context
from .lifecycle import plan
from .listing import index_keys
from .records import Order, parse_history_line

__all__ = ["reindex"]

BATCH = 500  # orders read from the arrival index at a time


def reindex(ctx: Context) -> int:
    """Place every order not yet listed; answers how many it placed."""
    placed = 0
    start = 0
    while True:
        # By arrival: orders arriving meanwhile only push later ones on, so none is
        # skipped (and new orders are listed by the write path anyway).
        refs = ctx.store.zrange(keys.orders(), start, start + BATCH - 1)
        placed += sum(_place(ctx, *ref.split(":", 1)) for ref in refs)
        if len(refs) < BATCH:
            return placed
        start += BATCH


def _place(ctx: Context, storefront_id: str, order_id: str) -> int:
    """1 when the order was placed now, 0 when it was listed already (or is gone)."""
    order_key = keys.order(storefront_id, order_id)
    with ctx.store.pipeline(transaction=True) as pipe:
        while True:
            try:
                pipe.watch(order_key)
                data = pipe.hgetall(order_key)
                if not data or data.get("listed") == "1":
                    return 0
                order = Order.from_hash(storefront_id, order_id, data)
                history = pipe.lrange(keys.order_history(storefront_id, order_id), 0, -1)
                changes = _money_by_day(ctx, order, history)
                lists = [*index_keys(storefront_id, order.credit), keys.status_orders(order.status)]
                pipe.multi()
                for index in lists:
                    pipe.zadd(index, {order.ref: order.times["paid_at"]})
                if order.credit is not None:
                    daily = keys.link_money_daily(order.credit.link_id)
                    for day_field, change in changes:
                        pipe.hincrby(daily, day_field, change)
                pipe.hset(order_key, "listed", 1)
                pipe.execute()
                return 1
            except redis.WatchError:
                continue


def _money_by_day(ctx: Context, order: Order, history: Iterable[str]) -> list[tuple[str, int]]:
    """The order's link money by day, replayed from its applied events."""
    if order.credit is None:
        return []
    settings = ctx.settings
    paid_ms = order.times["paid_at"]
    fields: dict[str, Any] = {}
    changes: list[tuple[str, int]] = []
    for line in history:
        entry = parse_history_line(line)[1]
        if not entry.applied:
            continue
        state = Order.from_hash(order.storefront_id, order.order_id, fields) if fields else None
        step = plan(
            state,
            entry.event(order.order_id, order.currency),
            credit=order.credit,
            programs=settings.programs,
            tz=settings.timezone,
            closed=(),  # periods place settlement moves only, never a link's money
            hold=order.review_reason,  # decided at paid, from the click
        )
        fields.update({name: str(value) for name, value in step.fields.items()})
        changes += series.money_by_day(step.link, entry.occurred_ms, paid_ms, settings.timezone)
    return changes
