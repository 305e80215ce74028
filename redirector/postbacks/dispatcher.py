"""The dispatcher: outbox entries, in order, into the queues of the endpoints
that receive them.

One process dispatches at a time (the lease ``keys.outbox_lease``). A round
reads the oldest entries and the routes in one transaction (so an endpoint
registered after an entry was recorded is never offered it: ``Route.since``),
queues each entry for every endpoint whose route takes it (``enqueue``:
once per endpoint and event, whoever tries again), then removes exactly those
entries from the outbox (``TRIM``: only if they are still its first ones). A
crash between the two steps leaves the entries in the outbox, and the next
round queues them again where they are missing: nothing is skipped, nothing
queued twice. Entries no route takes are removed all the same.
"""

from __future__ import annotations

import logging

from .. import keys
from ..context import Context
from ..store import Script, ScriptCall, run_scripts
from . import deliveries
from .endpoints import Route
from .lease import Lease
from .outbox import OutboxEntry, parse

__all__ = ["BATCH", "LEASE_MS", "dispatch"]

log = logging.getLogger("redirector.postbacks")

BATCH = 100
LEASE_MS = 30_000
MAX_ROUNDS = 20  # per call: the worker comes back for the rest

# KEYS[1] the outbox   ARGV[1] how many entries were fanned out   ARGV[2] the last of them
# Removes them if they are still the outbox's first ones; answers how many it removed.
TRIM = Script(
    """
local n = tonumber(ARGV[1])
if redis.call('LINDEX', KEYS[1], n - 1) ~= ARGV[2] then return 0 end
redis.call('LTRIM', KEYS[1], n, -1)
return n
"""
)


def dispatch(ctx: Context, batch: int = BATCH) -> int:
    """Fan out what the outbox holds; answers how many entries were handled
    (0 when another process holds the dispatcher's lease)."""
    lease = Lease(ctx.store, keys.outbox_lease(), LEASE_MS)
    if not lease.acquire():
        return 0
    handled = 0
    try:
        for _ in range(MAX_ROUNDS):
            moved = _round(ctx, batch)
            handled += moved
            if moved < batch or not lease.renew():
                break
    finally:
        lease.release()
    return handled


def _round(ctx: Context, batch: int) -> int:
    r = ctx.store
    pipe = r.pipeline(transaction=True)
    pipe.lrange(keys.outbox(), 0, batch - 1)
    pipe.hgetall(keys.postback_routes())
    lines, stored = pipe.execute()
    if not lines:
        return 0
    routes = [Route.parse(i, s) for i, s in stored.items()]
    entries = [parse(line) for line in lines]
    now_ms = ctx.clock.now_ms()
    calls: list[ScriptCall] = []
    for entry in entries:
        calls += _fan_out(entry, routes, now_ms)
    if calls:
        run_scripts(r, calls)  # in order: one endpoint's queue keeps the outbox's order
    TRIM(r, [keys.outbox()], [len(lines), lines[-1]])
    return len(lines)


def _fan_out(entry: OutboxEntry, routes: list[Route], now_ms: int) -> list[ScriptCall]:
    record = None
    calls: list[ScriptCall] = []
    for route in routes:
        if not route.receives(entry):
            continue
        if record is None:
            record = deliveries.Delivery.of(entry.event, now_ms).to_record()
        calls.append(deliveries.enqueue_call(route.endpoint_id, entry.event, record, now_ms))
    return calls
