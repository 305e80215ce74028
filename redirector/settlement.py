"""Settlement: a period's statement, closing it, ad spend and creator earnings.

Where the figures come from: every order event adds to per-(period, guide
account, channel) aggregates in the same script that applies it (``orders``),
so a statement reads one hash per period and costs the number of its lines,
never the number of orders. ``reconcile`` recomputes a period from the order
records to prove the aggregates right.

Rules (docs/domain.md, Settlement):
- an attributed order settles in the period holding ``confirmed_at +
  holding_days`` (in the configured zone); if that period is already closed, in
  the earliest open one after it;
- a line per (guide account, channel): the creator's agency, or the creator
  when independent; ``orders``, ``gmv`` (net of refunds), ``commission``;
- the line's commission is split network/platform/guide with the largest
  remainder (``money.split_commission``);
- an account's ad spend offsets the platform share of its lines in channel-name
  order (``money.allocate_ad_rebate``); ``platform_net = platform - ad_rebate``,
  ``guide_payable = guide + ad_rebate``; adjustment lines take no rebate;
- a closed period's statement is frozen; later refunds of its orders become
  negative adjustment lines in the earliest open period not before the event.

``build_statement`` is the rule, pure; the functions below it read and write the store.
"""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import redis

from . import keys
from .clock import utc_from_ms
from .errors import Busy, Conflict, InvalidField, NotFound
from .money import allocate_ad_rebate, split_commission
from .periods import Period, has_ended, period_of
from .programs import Program
from .store import Script, StoreClient

METRICS = ("orders", "gmv", "commission")
FIGURES = (
    "orders",
    "gmv",
    "commission",
    "network",
    "platform",
    "guide",
    "ad_spend",
    "ad_rebate",
    "platform_net",
    "guide_payable",
)
# How far ahead a statement may be asked for: the next period can already hold
# orders (holding days push them forward); further is a mistake.
MAX_PERIODS_AHEAD = 1
MAX_CLOSE_ATTEMPTS = 50


@dataclass
class _Line:
    account: str
    channel: str
    adjustment: bool
    figures: dict[str, int] = field(default_factory=lambda: dict.fromkeys(METRICS, 0))
    creators: dict[str, dict[str, int]] = field(default_factory=dict)
    order_ids: list[str] = field(default_factory=list)


def _parse_aggregates(raw: Mapping[str, str], adjustment: bool) -> dict[tuple[str, str], _Line]:
    lines: dict[tuple[str, str], _Line] = {}
    for name, value in raw.items():
        account, channel, creator, metric = name.split("|")
        line = lines.setdefault((account, channel), _Line(account, channel, adjustment))
        if creator == "*":
            line.figures[metric] = int(value)
        else:
            line.creators.setdefault(creator, dict.fromkeys(METRICS, 0))[metric] = int(value)
    return lines


def build_statement(
    *,
    period: Period,
    status: str,
    currency: str,
    tz: ZoneInfo,
    lines: Mapping[str, str],
    adjustments: Mapping[str, str],
    adjusted_orders: Iterable[str],
    ad_spend: Mapping[str, int],
    programs: Mapping[str, Program],
) -> dict[str, Any]:
    """The statement document from a period's aggregates. Pure."""
    regular = _parse_aggregates(lines, adjustment=False)
    adjusting = _parse_aggregates(adjustments, adjustment=True)
    for member in adjusted_orders:
        account, channel, order_ref = member.split("|", 2)
        if (account, channel) in adjusting:
            adjusting[(account, channel)].order_ids.append(order_ref)

    ordered = sorted(regular.values(), key=lambda x: (x.account, x.channel)) + sorted(
        adjusting.values(), key=lambda x: (x.account, x.channel)
    )
    rendered: list[dict[str, Any]] = []
    by_account: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for line in ordered:
        program = programs.get(line.channel)
        if program is None:
            raise Conflict(f"no program for channel {line.channel!r}: restore it in the programs")
        split = split_commission(line.figures["commission"], program.shares)
        account_type, account_id = line.account.split(":", 1)
        doc: dict[str, Any] = {
            "account_id": account_id,
            "account_type": account_type,
            "channel": line.channel,
            **line.figures,
            "network": split.network,
            "platform": split.platform,
            "guide": split.guide,
            "ad_spend": ad_spend.get(line.account, 0),
            "ad_rebate": 0,
            "platform_net": split.platform,
            "guide_payable": split.guide,
            "creators": [
                {"creator_id": creator, **figures}
                for creator, figures in sorted(line.creators.items())
            ],
        }
        if line.adjustment:
            doc["adjustment"] = True
            doc["order_ids"] = sorted(line.order_ids)
        else:
            by_account[line.account].append(doc)
        rendered.append(doc)

    # Regular lines only, in channel-name order (they are sorted so already).
    for account, docs in by_account.items():
        rebates = allocate_ad_rebate([d["platform"] for d in docs], ad_spend.get(account, 0))
        for doc, rebate in zip(docs, rebates, strict=True):
            doc["ad_rebate"] = rebate
            doc["platform_net"] = doc["platform"] - rebate
            doc["guide_payable"] = doc["guide"] + rebate

    totals = {name: sum(d[name] for d in rendered) for name in FIGURES}
    accounts = {f"{d['account_type']}:{d['account_id']}" for d in rendered}
    totals["ad_spend"] = sum(ad_spend.get(a, 0) for a in accounts)
    return {
        "period": str(period),
        "status": status,
        "currency": currency,
        "timezone": tz.key,
        "totals": totals,
        "lines": rendered,
    }


# -- reading and writing the store ------------------------------------------------------


def parse_period(text: str, now: datetime, tz: ZoneInfo) -> Period:
    """A period a statement may be asked for: well formed, not far in the future."""
    try:
        period = Period.parse(text)
    except ValueError as exc:
        raise InvalidField.one("period", str(exc)) from None
    latest = period_of(now, tz)
    for _ in range(MAX_PERIODS_AHEAD):
        latest = latest.next()
    if period > latest:
        raise InvalidField.one("period", f"{period} is too far in the future (latest {latest})")
    return period


def closed_periods(r: StoreClient) -> dict[str, int]:
    """Closed periods with the money sequence number of their closing."""
    return {p: int(state.split(":")[1]) for p, state in r.hgetall(keys.periods()).items()}


def _read_aggregates(pipe: Any, period: str) -> None:
    pipe.hgetall(keys.period_lines(period))
    pipe.hgetall(keys.period_adjustments(period))
    pipe.smembers(keys.period_adjusted_orders(period))
    pipe.hgetall(keys.period_ad_spend(period))


def statement(svc: Any, period: Period) -> dict[str, Any]:
    """The period's statement: the frozen document if closed, else computed now."""
    r = svc.store
    frozen = r.get(keys.period_statement(str(period)))
    if frozen is not None:
        return json.loads(frozen)
    # MULTI: one consistent view of the period, never half of an event.
    pipe = r.pipeline(transaction=True)
    _read_aggregates(pipe, str(period))
    lines, adjustments, adjusted, spend = pipe.execute()
    return _statement_from(svc, period, "open", lines, adjustments, adjusted, spend)


def _statement_from(
    svc: Any, period: Period, status: str, lines: Any, adjustments: Any, adjusted: Any, spend: Any
) -> dict[str, Any]:
    settings = svc.settings
    return build_statement(
        period=period,
        status=status,
        currency=settings.currency,
        tz=settings.timezone,
        lines=lines,
        adjustments=adjustments,
        adjusted_orders=adjusted,
        ad_spend={a: int(v) for a, v in spend.items()},
        programs=settings.programs,
    )


# KEYS[1] period states   KEYS[2] period write counters   KEYS[3] money sequence
# KEYS[4] the period's statement
# ARGV[1] period   ARGV[2] its write counter when the document was computed
# ARGV[3] closing time (ms)   ARGV[4] the document
# Answers {"closed"} if already closed, {"retry"} if an event or ad spend landed
# since the document was computed, else {"ok"}.
CLOSE = Script(
    """
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return {'closed'} end
if (redis.call('HGET', KEYS[2], ARGV[1]) or '0') ~= ARGV[2] then return {'retry'} end
local seq = redis.call('INCR', KEYS[3])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3] .. ':' .. seq)
redis.call('SET', KEYS[4], ARGV[4])
return {'ok'}
"""
)


def close(svc: Any, period: Period) -> dict[str, Any]:
    """Close an ended period and freeze its statement; 409 before its end or twice.

    The document is stored only if nothing was written to the period since it
    was computed (``CLOSE`` checks the period's write counter)."""
    r = svc.store
    now_ms = svc.clock.now_ms()
    if not has_ended(period, utc_from_ms(now_ms), svc.settings.timezone):
        raise Conflict(
            f"period {period} has not ended yet in {svc.settings.timezone.key}; "
            f"it can be closed from {period.end(svc.settings.timezone).isoformat()}"
        )
    name = str(period)
    for _ in range(MAX_CLOSE_ATTEMPTS):
        pipe = r.pipeline(transaction=True)
        pipe.hget(keys.period_versions(), name)
        _read_aggregates(pipe, name)
        version, lines, adjustments, adjusted, spend = pipe.execute()
        doc = _statement_from(svc, period, "closed", lines, adjustments, adjusted, spend)
        doc["closed_at"] = now_ms
        answer = CLOSE(
            r,
            [
                keys.periods(),
                keys.period_versions(),
                keys.money_sequence(),
                keys.period_statement(name),
            ],
            [name, version or "0", now_ms, json.dumps(doc)],
        )
        if answer[0] == "closed":
            raise Conflict(f"period {period} is already closed")
        if answer[0] == "ok":
            return doc
    raise Busy(f"period {period} is being written to; retry the closing shortly")


def resolve_account(r: StoreClient, account_id: str) -> str:
    """``agency:<id>`` or ``creator:<id>`` (an independent creator). Agencies come first."""
    if r.exists(keys.agency(account_id)):
        return f"agency:{account_id}"
    creator = r.hgetall(keys.creator(account_id))
    if creator:
        if creator.get("agency_id"):
            raise InvalidField.one(
                "account_id",
                f"creator {account_id!r} belongs to agency {creator['agency_id']!r}: "
                "record ad spend on the agency",
            )
        return f"creator:{account_id}"
    raise NotFound(f"no agency or independent creator {account_id!r}")


def put_ad_spend(svc: Any, period: Period, account_id: str, amount: int) -> dict[str, Any]:
    r = svc.store
    account = resolve_account(r, account_id)
    name = str(period)
    with r.pipeline(transaction=True) as pipe:
        while True:
            try:
                pipe.watch(keys.periods())
                if pipe.hexists(keys.periods(), name):
                    raise Conflict(f"period {period} is closed: its ad spend is frozen")
                pipe.multi()
                pipe.hset(keys.period_ad_spend(name), account, amount)
                pipe.hincrby(keys.period_versions(), name, 1)
                pipe.execute()
                break
            except redis.WatchError:
                continue
    account_type, _, ident = account.partition(":")
    return {"period": name, "account_id": ident, "account_type": account_type, "amount": amount}


def creator_earnings(doc: Mapping[str, Any], creator_id: str) -> dict[str, Any]:
    """A creator's own part of a statement."""
    lines = []
    for line in doc["lines"]:
        for part in line["creators"]:
            if part["creator_id"] == creator_id:
                entry = {
                    "account_id": line["account_id"],
                    "channel": line["channel"],
                    "orders": part["orders"],
                    "gmv": part["gmv"],
                    "commission": part["commission"],
                }
                if line.get("adjustment"):
                    entry["adjustment"] = True
                lines.append(entry)
    return {
        "creator_id": creator_id,
        "period": doc["period"],
        "status": doc["status"],
        **{m: sum(entry[m] for entry in lines) for m in METRICS},
        "lines": lines,
    }


CSV_COLUMNS = (
    "kind",
    "account_id",
    "account_type",
    "channel",
    *FIGURES,
    "creators",
    "order_ids",
)


def to_csv(doc: Mapping[str, Any]) -> str:
    """The statement as CSV: a header row, a row per line, a labelled totals row."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for line in doc["lines"]:
        writer.writerow(
            [
                "adjustment" if line.get("adjustment") else "line",
                line["account_id"],
                line["account_type"],
                line["channel"],
                *(line[name] for name in FIGURES),
                " ".join(c["creator_id"] for c in line["creators"]),
                " ".join(line.get("order_ids", [])),
            ]
        )
    totals = doc["totals"]
    writer.writerow(["totals", "", "", "", *(totals[name] for name in FIGURES), "", ""])
    return out.getvalue()


# -- reconciliation ----------------------------------------------------------------------


@dataclass(frozen=True)
class Difference:
    where: str  # "lines" | "adjustments" | "adjusted_orders"
    field: str
    stored: int | str | None
    recomputed: int | str | None


def recompute(svc: Any, period: Period) -> tuple[dict[str, int], dict[str, int], set[str]]:
    """A period's aggregates recomputed from the order records alone: each
    order's applied events replayed through ``orders.plan``, each seeing the
    periods that were closed before it (by the money sequence). An admin's
    review (``release``/``reject``) is one of those events."""
    from . import orders

    r = svc.store
    settings = svc.settings
    closing = closed_periods(r)
    name = str(period)
    lines: dict[str, int] = defaultdict(int)
    adjustments: dict[str, int] = defaultdict(int)
    adjusted: set[str] = set()
    for ref in r.zrange(keys.orders(), 0, -1):
        storefront_id, order_id = ref.split(":", 1)
        pipe = r.pipeline(transaction=False)
        pipe.hgetall(keys.order(storefront_id, order_id))
        pipe.lrange(keys.order_history(storefront_id, order_id), 0, -1)
        data, history = pipe.execute()
        final = orders.Order.from_hash(storefront_id, order_id, data)
        if final.credit is None:
            continue
        fields: dict[str, Any] = {}
        for raw in history:
            sequence, _, body = raw.partition(" ")
            entry = json.loads(body)
            if not entry["applied"]:
                continue
            event = orders.OrderEvent(
                webhook_id=entry["webhook_id"],
                order_id=order_id,
                status=entry["status"],
                amount=entry["amount"],
                currency=final.currency,
                occurred_ms=entry["occurred_at"],
                received_ms=entry["received_at"],
                refunded_amount=entry["refunded_amount"],
            )
            state = (
                orders.Order.from_hash(
                    storefront_id, order_id, {k: str(v) for k, v in fields.items()}
                )
                if fields
                else None
            )
            closed = {p for p, seq in closing.items() if seq < int(sequence)}
            plan = orders.plan(
                state,
                event,
                credit=final.credit,
                programs=settings.programs,
                tz=settings.timezone,
                closed=closed,
                hold=final.review_reason,  # decided at paid, from the click
            )
            fields.update(plan.fields)
            fields["storefront_id"] = storefront_id
            for move in plan.settlement:
                if move.period != name:
                    continue
                target = adjustments if move.adjustment else lines
                for creator in ("*", move.creator_id):
                    for metric in METRICS:
                        target[orders.line_field(move.account, move.channel, creator, metric)] += (
                            getattr(move, metric)
                        )
                if move.adjustment:
                    adjusted.add(f"{move.account}|{move.channel}|{move.order_ref}")
    return dict(lines), dict(adjustments), adjusted


def reconcile(svc: Any, period: Period) -> list[Difference]:
    """Differences between the stored aggregates and a recomputation (never any)."""
    r = svc.store
    name = str(period)
    lines, adjustments, adjusted = recompute(svc, period)
    differences: list[Difference] = []
    for where, stored_raw, fresh in (
        ("lines", r.hgetall(keys.period_lines(name)), lines),
        ("adjustments", r.hgetall(keys.period_adjustments(name)), adjustments),
    ):
        stored = {k: int(v) for k, v in stored_raw.items() if int(v) != 0}
        fresh = {k: v for k, v in fresh.items() if v != 0}
        for field_name in sorted(set(stored) | set(fresh)):
            if stored.get(field_name) != fresh.get(field_name):
                differences.append(
                    Difference(where, field_name, stored.get(field_name), fresh.get(field_name))
                )
    stored_orders = r.smembers(keys.period_adjusted_orders(name))
    for member in sorted(stored_orders ^ adjusted):
        differences.append(
            Difference(
                "adjusted_orders",
                member,
                member if member in stored_orders else None,
                member if member in adjusted else None,
            )
        )
    return differences


def period_asked(text: str | None, now: datetime, tz: ZoneInfo) -> Period:
    """The period a reader asked for (as ``parse_period`` allows), or the current
    one when none was asked for."""
    return parse_period(text, now, tz) if text else period_of(now, tz)
