"""Closing a period: its statement frozen and its payouts made, in one atomic step.

The path (``close``):
1. read, in one MULTI, the period's write counter, its aggregates and every
   balance guide accounts carry;
2. build the statement (``settlement``) and decide, per guide account, its
   payout or what it carries (``payouts.at_close``);
3. ``CLOSE`` writes it all in one script, only if the period is still open,
   nothing was written to it since step 1 (its write counter) and no balance
   moved (a payout marked failed meanwhile); otherwise the path starts again.

A period closes once (the script checks it is open) and closing is the only
place a payout is made, so two admins closing at once make one statement and
one payout per account. Every key the script touches is in the ``{money}``
slot (``keys``), with the order events it must not miss and the postback
outbox, where it records ``statement.closed`` and a ``payout.created`` per
payout with the change.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from . import keys, payouts, settlement
from .clock import utc_from_ms
from .context import Context
from .errors import Busy, Conflict
from .periods import Period, has_ended
from .postbacks import events, outbox
from .replication import run_replicated
from .store import Script

__all__ = ["CLOSE", "MAX_CLOSE_ATTEMPTS", "close"]

MAX_CLOSE_ATTEMPTS = 50

# KEYS[1] period states   KEYS[2] period write counters   KEYS[3] money sequence
# KEYS[4] the period's statement   KEYS[5] balances   KEYS[6] every payout
# KEYS[7] the period's payouts   KEYS[8] the postback outbox
# KEYS[7 + 2j], KEYS[8 + 2j] the j-th new payout (j = 1, 2...): its hash, its account's payouts
# ARGV[1] period   ARGV[2] its write counter when the document was computed
# ARGV[3] closing time (ms)   ARGV[4] the document   ARGV[5] currency
# ARGV[6] n, the accounts considered, then n triples:
#   account, the balance it carried as read ("0": none), the balance it carries on
# then a triple per new payout, in the order of its KEYS: id, account, amount
# then the events the close announces (``statement.closed``, a ``payout.created``
# per payout: ``postbacks.outbox.entries``)
# Answers {"closed"} if already closed, {"retry"} if an event, ad spend or a
# failed payout landed since the read, else {"ok"}.
CLOSE = Script(
    """
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return {'closed'} end
if (redis.call('HGET', KEYS[2], ARGV[1]) or '0') ~= ARGV[2] then return {'retry'} end
local n = tonumber(ARGV[6])
local carrying = 0
for i = 7, 6 + 3 * n, 3 do
  if (redis.call('HGET', KEYS[5], ARGV[i]) or '0') ~= ARGV[i + 1] then return {'retry'} end
  if ARGV[i + 1] ~= '0' then carrying = carrying + 1 end
end
if redis.call('HLEN', KEYS[5]) ~= carrying then return {'retry'} end

-- statement closed: frozen
local seq = redis.call('INCR', KEYS[3])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3] .. ':' .. seq)
redis.call('SET', KEYS[4], ARGV[4])

-- balances carried into the next close (0: none)
for i = 7, 6 + 3 * n, 3 do
  if ARGV[i + 2] == '0' then redis.call('HDEL', KEYS[5], ARGV[i])
  else redis.call('HSET', KEYS[5], ARGV[i], ARGV[i + 2]) end
end

-- payouts made: one per account whose sum reached the minimum
local made = (#KEYS - 8) / 2
local key = 9
for i = 7 + 3 * n, 4 + 3 * n + 3 * made, 3 do
  local id, account, amount = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  redis.call('HSET', KEYS[key], 'account', account, 'period', ARGV[1], 'amount', amount,
    'currency', ARGV[5], 'status', 'pending', 'created_at', ARGV[3], 'sequence', seq)
  redis.call('ZADD', KEYS[6], seq, id)
  redis.call('SADD', KEYS[7], id)
  redis.call('ZADD', KEYS[key + 1], seq, id)
  key = key + 2
end

-- the events, with the change they announce
local outbox, first = KEYS[8], 7 + 3 * n + 3 * made
"""
    + outbox.APPEND_LUA
    + """
return {'ok'}
"""
)


def _call(
    ctx: Context, name: str, version: str, doc: dict[str, Any], dues: Sequence[Any]
) -> tuple[list[str], list[Any]]:
    """``CLOSE``'s keys and arguments: every account considered, a new payout
    (with a new id) for each that is paid, and the events announcing them."""
    now_ms, currency = doc["closed_at"], ctx.settings.currency
    script_keys = [
        keys.periods(),
        keys.period_versions(),
        keys.money_sequence(),
        keys.period_statement(name),
        keys.balances(),
        keys.payouts(),
        keys.period_payouts(name),
        keys.outbox(),
    ]
    args: list[Any] = [name, version, now_ms, json.dumps(doc), currency, len(dues)]
    for d in dues:
        args += [d.account, str(d.carried), str(d.balance)]
    announced = [_statement_closed(ctx, doc)]
    for d in dues:
        if d.payout:
            payout_id = payouts.new_payout_id()
            script_keys += [keys.payout(payout_id), keys.account_payouts(d.account)]
            args += [payout_id, d.account, d.payout]
            made = {
                "account": d.account,
                "period": name,
                "amount": str(d.payout),
                "currency": currency,
                "status": payouts.PENDING,
                "created_at": str(now_ms),
            }
            created = payouts.document(payout_id, made)
            announced.append(payouts.payout_event(events.PAYOUT_CREATED, created, now_ms, ctx))
    return script_keys, [*args, *outbox.entries(announced)]


def _statement_closed(ctx: Context, doc: Mapping[str, Any]) -> events.Event:
    """``statement.closed``: the period, its currency, zone, closing time and
    totals (the lines are fetched from the statement)."""
    data = {k: doc[k] for k in ("period", "status", "currency", "timezone", "closed_at", "totals")}
    return events.Event.of(events.STATEMENT_CLOSED, doc["closed_at"], data, ctx.settings.timezone)


def close(ctx: Context, period: Period) -> dict[str, Any]:
    """Close an ended period: freeze its statement and make its payouts; 409
    before its end or twice. Answers the frozen statement."""
    r = ctx.store
    now_ms = ctx.clock.now_ms()
    tz = ctx.settings.timezone
    if not has_ended(period, utc_from_ms(now_ms), tz):
        raise Conflict(
            f"period {period} has not ended yet in {tz.key}; "
            f"it can be closed from {period.end(tz).isoformat()}"
        )
    name = str(period)
    for _ in range(MAX_CLOSE_ATTEMPTS):
        # MULTI: the aggregates and the balances as of one moment.
        pipe = r.pipeline(transaction=True)
        pipe.hget(keys.period_versions(), name)
        settlement.read_aggregates(pipe, name)
        pipe.hgetall(keys.balances())
        version, *read, carried = pipe.execute()
        doc = settlement.statement_from(ctx, period, "closed", settlement.PeriodAggregates(*read))
        doc["closed_at"] = now_ms
        dues = payouts.at_close(doc, carried, ctx.settings.min_payout)
        script_keys, args = _call(ctx, name, version or "0", doc, dues)
        replicas = ctx.settings.money_replicas
        answer = run_replicated(r, CLOSE, script_keys, args, replicas, keys.money_replicated())
        if answer[0] == "closed":
            raise Conflict(f"period {period} is already closed")
        if answer[0] == "ok":
            return doc
    raise Busy(f"period {period} is being written to; retry the closing shortly")
