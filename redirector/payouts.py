"""Payouts: what each guide account is paid, and when.

The rule (docs/domain.md, Payouts; the choices the contract leaves open are in
docs/rules.md, Payouts):
- a period's close adds each guide account's ``guide_payable`` for the period
  (all its lines, adjustment lines included, negative ones too) to the
  balance the account carried; when that sum reaches the minimum payout
  (``REDIRECTOR_MIN_PAYOUT``) it becomes one payout and the balance starts
  again from 0; otherwise the sum, negative too, is carried;
- an account with no line in the period is considered all the same, with a
  payable of 0: a balance that reached the minimum (a failed payout's amount
  returned to it) is paid at that close; one below it keeps waiting;
- a payout is ``pending`` until an admin marks it ``paid`` (a reference) or
  ``failed`` (a reason); a failed payout's amount goes back to the account's
  balance, to be paid at a later close; a payout no longer pending cannot be
  marked again (409);
- closing is the only way a payout is made and a period closes once, so
  nothing is ever paid twice; marking is one script that checks ``pending``,
  so two admins marking at once make one transition.

Each state change is one atomic step in the ``{money}`` slot: a payout is made
by ``closing.CLOSE`` (its *payouts made* step, planned by ``at_close``), and
ended by ``MARK_PAID`` or ``MARK_FAILED``.

``due``, ``payable_by_account`` and ``at_close`` are the rule, pure; the rest
reads and writes the store.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from . import ids, keys, registry, settlement
from .context import Context
from .errors import Conflict, Forbidden, InvalidField, NotFound
from .postbacks import events, outbox
from .replication import run_replicated
from .store import Script, StoreClient

__all__ = [
    "CSV_COLUMNS",
    "FAILED",
    "MARK_FAILED",
    "MARK_PAID",
    "PAID",
    "PAYOUT_ID",
    "PENDING",
    "STATUSES",
    "Due",
    "account_names",
    "at_close",
    "balance_seen_by",
    "balances",
    "document",
    "due",
    "get_payout",
    "list_payouts",
    "mark_failed",
    "mark_paid",
    "new_payout_id",
    "own_account",
    "payable_by_account",
    "payout_event",
    "payout_seen_by",
    "payouts_seen_by",
    "to_csv",
]

PENDING, PAID, FAILED = STATUSES = ("pending", "paid", "failed")
PAYOUT_ID_CHARS = 16  # base 62: 95 bits, never guessed nor repeated
PAYOUT_ID = re.compile(rf"po_[A-Za-z0-9]{{{PAYOUT_ID_CHARS}}}", re.ASCII)
MAX_NOTE = {"reference": 200, "reason": 500}  # an admin's words on a transition
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


# -- the rule, pure -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Due:
    """One guide account at a close: what it carried, what the period owes it,
    and what becomes of the sum."""

    account: str  # ``agency:<id>`` or ``creator:<id>``
    carried: int
    payable: int
    payout: int  # 0: no payout, the sum is carried
    balance: int  # carried into the next close


def due(account: str, payable: int, carried: int, minimum: int) -> Due:
    """The sum is paid when it reaches ``minimum`` (never when it is not
    positive: a minimum is at least 1), else carried, negative too."""
    total = carried + payable
    if total >= max(minimum, 1):
        return Due(account, carried, payable, total, 0)
    return Due(account, carried, payable, 0, total)


def payable_by_account(statement: Mapping[str, Any]) -> dict[str, int]:
    """Each guide account's ``guide_payable`` in a statement, over all its lines."""
    payable: dict[str, int] = {}
    for line in statement["lines"]:
        account = f"{line['account_type']}:{line['account_id']}"
        payable[account] = payable.get(account, 0) + line["guide_payable"]
    return payable


def at_close(statement: Mapping[str, Any], carried: Mapping[str, str], minimum: int) -> list[Due]:
    """Every account with a line in the statement or a balance, by account."""
    payable = payable_by_account(statement)
    return [
        due(account, payable.get(account, 0), int(carried.get(account, 0)), minimum)
        for account in sorted(set(payable) | set(carried))
    ]


def new_payout_id() -> str:
    return "po_" + ids.random_id(PAYOUT_ID_CHARS)


def own_account(creator_id: str) -> str:
    """A creator's own guide account, through which it is paid when independent."""
    return f"creator:{creator_id}"


# -- documents and reading ------------------------------------------------------------


def payout_event(event_type: str, doc: Mapping[str, Any], at_ms: int, ctx: Context) -> events.Event:
    """A ``payout.*`` postback about ``doc`` (the payout as the API shows it
    after the change): an agency's payout reaches that agency's endpoints, an
    independent creator's its own, and both reach the endpoints that see
    everything."""
    own = doc["account_id"]
    return events.Event.of(
        event_type,
        at_ms,
        doc,
        ctx.settings.timezone,
        creator_id=own if doc["account_type"] == "creator" else None,
        agency_id=own if doc["account_type"] == "agency" else None,
    )


def document(payout_id: str, fields: Mapping[str, str]) -> dict[str, Any]:
    """The payout as the API shows it, from its hash's fields."""
    account_type, account_id = fields["account"].split(":", 1)
    doc: dict[str, Any] = {
        "id": payout_id,
        "account_id": account_id,
        "account_type": account_type,
        "period": fields["period"],
        "amount": int(fields["amount"]),
        "currency": fields["currency"],
        "status": fields["status"],
        "created_at": int(fields["created_at"]),
    }
    for moment in ("paid_at", "failed_at"):
        if moment in fields:
            doc[moment] = int(fields[moment])
    for note in ("reference", "reason"):
        if note in fields:
            doc[note] = fields[note]
    return doc


def _known_id(payout_id: str) -> str:
    """A well-formed payout id; anything else names no payout (404, not 422)."""
    if not PAYOUT_ID.fullmatch(payout_id):
        raise NotFound(f"payout {payout_id!r} not found")
    return payout_id


def get_payout(r: StoreClient, payout_id: str) -> dict[str, Any]:
    fields = r.hgetall(keys.payout(_known_id(payout_id)))
    if not fields:
        raise NotFound(f"payout {payout_id!r} not found")
    return document(payout_id, fields)


def list_payouts(
    r: StoreClient,
    *,
    account: str | None = None,
    account_id: str | None = None,
    period: str | None = None,
    status: str | None = None,
) -> list[dict[str, Any]]:
    """Payouts in the order they were made (a close's by account), filtered by
    guide ``account`` (``type:id``), ``account_id`` (either type), ``period``
    and ``status``; read through the narrowest index asked for."""
    if account is not None:
        found = r.zrange(keys.account_payouts(account), 0, -1)
    elif period is not None:
        found = sorted(r.smembers(keys.period_payouts(period)))
    else:
        found = r.zrange(keys.payouts(), 0, -1)
    pipe = r.pipeline(transaction=False)
    for payout_id in found:
        pipe.hgetall(keys.payout(payout_id))
    read = zip(found, pipe.execute(), strict=True)
    rows = [(int(f["sequence"]), document(i, f)) for i, f in read if f]
    rows.sort(key=lambda row: (row[0], row[1]["account_type"], row[1]["account_id"]))
    wanted = {"period": period, "status": status, "account_id": account_id}
    return [
        doc
        for _, doc in rows
        if all(value is None or doc[name] == value for name, value in wanted.items())
    ]


def balances(r: StoreClient) -> dict[str, int]:
    """Every guide account that carries a balance (not 0), by account."""
    return {account: int(v) for account, v in sorted(r.hgetall(keys.balances()).items())}


# -- who sees what ----------------------------------------------------------------------


def payouts_seen_by(
    ctx: Context,
    viewer: str | None,
    *,
    period: str | None = None,
    status: str | None = None,
    account_id: str | None = None,
) -> list[dict[str, Any]]:
    """Payouts as ``viewer`` (a creator's id; None for an admin) may see them: an
    admin all of them, a creator its own account's only (none while it is paid
    through an agency); another account asked for by a creator is 403."""
    if period is not None:
        period = str(settlement.parse_period(period, ctx.clock.now(), ctx.settings.timezone))
    if viewer is None:
        return list_payouts(ctx.store, account_id=account_id, period=period, status=status)
    if account_id is not None and account_id != viewer:
        raise Forbidden("a creator sees only its own payouts")
    return list_payouts(ctx.store, account=own_account(viewer), period=period, status=status)


def payout_seen_by(ctx: Context, viewer: str | None, payout_id: str) -> dict[str, Any]:
    """One payout; another account's is, to a creator, not found (as a link is)."""
    doc = get_payout(ctx.store, payout_id)
    if viewer is not None and (doc["account_type"], doc["account_id"]) != ("creator", viewer):
        raise NotFound(f"payout {payout_id!r} not found")
    return doc


def _creator_account(r: StoreClient, creator_id: str) -> str:
    creator = registry.get_creator(r, creator_id)
    if creator["agency_id"]:
        raise NotFound(
            f"creator {creator_id!r} is paid through agency {creator['agency_id']!r}: "
            "it has no balance of its own"
        )
    return own_account(creator_id)


def balance_seen_by(ctx: Context, viewer: str | None, account_id: str) -> dict[str, Any]:
    """A guide account's balance: an agency's (an admin's choice when an agency
    and a creator share the id) or an independent creator's; a creator sees
    its own only (403 for another)."""
    r = ctx.store
    if viewer is not None and viewer != account_id:
        raise Forbidden("a creator sees only its own balance")
    if viewer is None and registry.agency_exists(r, account_id):
        account = f"agency:{account_id}"
    else:
        account = _creator_account(r, account_id)
    account_type = account.split(":", 1)[0]
    return {
        "account_id": account_id,
        "account_type": account_type,
        "balance": int(r.hget(keys.balances(), account) or 0),
        "currency": ctx.settings.currency,
        "min_payout": ctx.settings.min_payout,
    }


# -- marking a payout paid or failed ------------------------------------------------------

# KEYS[1] the payout   KEYS[2] the money sequence   KEYS[3] the postback outbox
# ARGV[1] when (ms)   ARGV[2] the reference (e.g. the bank transfer's id)
# ARGV[3..] its ``payout.paid`` event (``outbox.entries``), recorded with the change
# Answers {"missing"}, {"not_pending", its status}, or {"ok"}.
MARK_PAID = Script(
    """
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return {'missing'} end
if status ~= 'pending' then return {'not_pending', status} end
-- payout paid
redis.call('HSET', KEYS[1], 'status', 'paid', 'paid_at', ARGV[1], 'reference', ARGV[2])
local seq = redis.call('INCR', KEYS[2])
local outbox, first = KEYS[3], 3
"""
    + outbox.APPEND_LUA
    + """
return {'ok'}
"""
)

# KEYS[1] the payout   KEYS[2] balances   KEYS[3] the money sequence
# KEYS[4] the postback outbox
# ARGV[1] when (ms)   ARGV[2] the reason   ARGV[3..] its ``payout.failed`` event
# Answers as MARK_PAID. The amount goes back to the account's balance, which
# is removed when that makes it 0 (the close reads every balance there is).
MARK_FAILED = Script(
    """
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return {'missing'} end
if status ~= 'pending' then return {'not_pending', status} end
-- payout failed: its amount returns to the balance
redis.call('HSET', KEYS[1], 'status', 'failed', 'failed_at', ARGV[1], 'reason', ARGV[2])
local account = redis.call('HGET', KEYS[1], 'account')
local amount = redis.call('HGET', KEYS[1], 'amount')
if redis.call('HINCRBY', KEYS[2], account, amount) == 0 then
  redis.call('HDEL', KEYS[2], account)
end
local seq = redis.call('INCR', KEYS[3])
local outbox, first = KEYS[4], 3
"""
    + outbox.APPEND_LUA
    + """
return {'ok'}
"""
)


def _note(field: str, text: str) -> str:
    """An admin's reference or reason: trimmed, one line, not empty, bounded."""
    text = text.strip()
    if not text:
        raise InvalidField.one(field, f"the {field} must not be empty")
    if len(text) > MAX_NOTE[field]:
        raise InvalidField.one(field, f"the {field} is longer than {MAX_NOTE[field]} characters")
    if _CONTROL.search(text):
        raise InvalidField.one(field, f"the {field} must be one line without control characters")
    return text


def _mark(ctx: Context, payout_id: str, script: Script, field: str, text: str) -> dict[str, Any]:
    key = keys.payout(_known_id(payout_id))
    note = _note(field, text)
    now_ms = ctx.clock.now_ms()
    # The event is rendered before the script runs and recorded only if the
    # transition happens; a payout's other fields never change once made.
    paid = script is MARK_PAID
    after = {
        **get_payout(ctx.store, payout_id),
        "status": PAID if paid else FAILED,
        ("paid_at" if paid else "failed_at"): now_ms,
        field: note,
    }
    event = payout_event(events.PAYOUT_PAID if paid else events.PAYOUT_FAILED, after, now_ms, ctx)
    script_keys = [key] if paid else [key, keys.balances()]
    script_keys += [keys.money_sequence(), keys.outbox()]
    args = [now_ms, note, *outbox.entries([event])]
    replicas = ctx.settings.money_replicas
    answer = run_replicated(ctx.store, script, script_keys, args, replicas, keys.money_replicated())
    if answer[0] == "missing":
        raise NotFound(f"payout {payout_id!r} not found")
    if answer[0] == "not_pending":
        raise Conflict(
            f"payout {payout_id} is {answer[1]}, not pending: only a pending payout is marked"
        )
    return get_payout(ctx.store, payout_id)


def mark_paid(ctx: Context, payout_id: str, reference: str) -> dict[str, Any]:
    """pending -> paid, with the transfer's reference; 409 unless pending."""
    return _mark(ctx, payout_id, MARK_PAID, "reference", reference)


def mark_failed(ctx: Context, payout_id: str, reason: str) -> dict[str, Any]:
    """pending -> failed, with a reason: the amount returns to the account's
    balance, paid at a later close; 409 unless pending."""
    return _mark(ctx, payout_id, MARK_FAILED, "reason", reason)


# -- the bank batch -------------------------------------------------------------------------

CSV_COLUMNS = (
    "payout_id",
    "period",
    "account_id",
    "account_type",
    "name",
    "amount",
    "amount_decimal",
    "currency",
    "status",
    "reference",
)
# A cell a spreadsheet would read as a formula (names and references are typed
# by people): written with a leading apostrophe, as OWASP advises.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(text: str) -> str:
    return "'" + text if text.startswith(_FORMULA_START) else text


def account_names(r: StoreClient, items: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """The registry's name of each payout's account (``type:id`` -> name)."""
    names: dict[str, str] = {}
    for item in items:
        account = f"{item['account_type']}:{item['account_id']}"
        if account in names:
            continue
        read = registry.get_agency if item["account_type"] == "agency" else registry.get_creator
        try:
            names[account] = read(r, item["account_id"])["name"]
        except NotFound:
            names[account] = ""
    return names


def to_csv(items: Iterable[Mapping[str, Any]], names: Mapping[str, str]) -> str:
    """A bank batch: a header row, a row per payout; amounts in minor units, and
    again as a decimal with two digits (``12345`` -> ``123.45``)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for item in items:
        account = f"{item['account_type']}:{item['account_id']}"
        whole, cents = divmod(item["amount"], 100)
        writer.writerow(
            [
                item["id"],
                item["period"],
                item["account_id"],
                item["account_type"],
                _cell(names.get(account, "")),
                item["amount"],
                f"{whole}.{cents:02d}",
                item["currency"],
                item["status"],
                _cell(item.get("reference", "")),
            ]
        )
    return out.getvalue()
