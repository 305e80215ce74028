"""Settlement: a period's statement, ad spend and creator earnings (closing: ``closing``).

Where the figures come from: every order event adds to per-(period, guide
account, channel) aggregates in the same script that applies it (``orders``),
so a statement reads one hash per period and costs the number of its lines,
never the number of orders. ``reconcile`` recomputes a period from the order
records (``replay``) to prove the aggregates right.

Rules (docs/domain.md, Settlement):
- where an order settles, and where a later refund of it lands: ``period_placement``
  (the period of ``confirmed_at + holding_days`` in the configured zone, or
  the first open one after it; a refund after the close becomes a negative
  adjustment line in the first open period not before the refund nor the
  order's own period);
- a line per (guide account, channel): the creator's agency, or the creator
  when independent; ``orders``, ``gmv`` (net of refunds), ``commission``;
  regular lines first, then adjustment lines, each by account then channel;
- the line's commission is split network/platform/guide with the largest
  remainder (``money.split_commission``);
- an account's ad spend offsets the platform share of its lines in channel-name
  order until spent (``money.allocate_ad_rebate``); ``platform_net = platform -
  ad_rebate``, ``guide_payable = guide + ad_rebate``; adjustment lines take no
  rebate; ``totals.ad_spend`` counts each account with a line once;
- a closed period's statement is frozen (``closing`` freezes it and makes the
  period's payouts in one step).

``build_statement`` and ``replay`` are the rules, pure; the other functions
read and write the store.
"""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import redis

from . import keys, orders
from .context import Context
from .errors import Conflict, InvalidField, NotFound
from .money import allocate_ad_rebate, split_commission
from .orders import HistoryEntry, Order, parse_history_line
from .period_placement import METRICS, SettlementMove
from .periods import Period, period_of
from .programs import Program
from .store import StoreClient, StorePipeline

__all__ = [
    "CSV_COLUMNS",
    "FIGURES",
    "METRICS",
    "Difference",
    "PeriodAggregates",
    "build_statement",
    "closed_periods",
    "creator_earnings",
    "parse_period",
    "put_ad_spend",
    "read_aggregates",
    "recompute",
    "reconcile",
    "replay",
    "resolve_account",
    "statement",
    "statement_from",
    "to_csv",
]

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


@dataclass(frozen=True, slots=True)
class PeriodAggregates:
    """What the store keeps of a period, as read (``keys.period_*``)."""

    lines: Mapping[str, str]  # line_field -> figure, regular lines
    adjustments: Mapping[str, str]  # the same, adjustment lines
    adjusted_orders: Iterable[str]  # SettlementMove.adjusted_member
    ad_spend: Mapping[str, str]  # guide account -> ad spend


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


def _ordered_lines(aggregates: PeriodAggregates) -> list[_Line]:
    """Regular lines, then adjustment lines, each by account then channel name."""
    regular = _parse_aggregates(aggregates.lines, adjustment=False)
    adjusting = _parse_aggregates(aggregates.adjustments, adjustment=True)
    for member in aggregates.adjusted_orders:
        account, channel, order_ref = member.split("|", 2)
        if (account, channel) in adjusting:
            adjusting[(account, channel)].order_ids.append(order_ref)

    def by_name(line: _Line) -> tuple[str, str]:
        return line.account, line.channel

    return sorted(regular.values(), key=by_name) + sorted(adjusting.values(), key=by_name)


def _render(line: _Line, program: Program | None, ad_spend: int) -> dict[str, Any]:
    """A statement line before its rebate: the commission split three ways."""
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
        "ad_spend": ad_spend,
        "ad_rebate": 0,
        "platform_net": split.platform,
        "guide_payable": split.guide,
        "creators": [
            {"creator_id": creator, **figures} for creator, figures in sorted(line.creators.items())
        ],
    }
    if line.adjustment:
        doc["adjustment"] = True
        doc["order_ids"] = sorted(line.order_ids)
    return doc


def _rebate(docs: list[dict[str, Any]], ad_spend: int) -> None:
    """An account's ad spend offsets the platform share of its regular lines,
    given in channel-name order (``money.allocate_ad_rebate``)."""
    rebates = allocate_ad_rebate([d["platform"] for d in docs], ad_spend)
    for doc, rebate in zip(docs, rebates, strict=True):
        doc["ad_rebate"] = rebate
        doc["platform_net"] = doc["platform"] - rebate
        doc["guide_payable"] = doc["guide"] + rebate


def build_statement(
    period: Period,
    status: str,
    aggregates: PeriodAggregates,
    *,
    currency: str,
    tz: ZoneInfo,
    programs: Mapping[str, Program],
) -> dict[str, Any]:
    """The statement document from a period's aggregates. Pure."""
    spend = {account: int(v) for account, v in aggregates.ad_spend.items()}
    rendered: list[dict[str, Any]] = []
    by_account: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for line in _ordered_lines(aggregates):
        doc = _render(line, programs.get(line.channel), spend.get(line.account, 0))
        if not line.adjustment:  # adjustment lines take no rebate
            by_account[line.account].append(doc)
        rendered.append(doc)
    for account, docs in by_account.items():
        _rebate(docs, spend.get(account, 0))

    totals = {name: sum(d[name] for d in rendered) for name in FIGURES}
    accounts = {f"{d['account_type']}:{d['account_id']}" for d in rendered}
    totals["ad_spend"] = sum(spend.get(a, 0) for a in accounts)
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


def data_periods(r: StoreClient) -> list[Period]:
    """The periods anything was written to (an order settled in it, ad spend put
    for it, a close), oldest first: a small hash, one field per such period."""
    return sorted(Period.parse(name) for name in r.hgetall(keys.period_versions()))


def first_period(r: StoreClient) -> Period | None:
    """The earliest period with data, ``None`` before the first."""
    return next(iter(data_periods(r)), None)


def read_aggregates(pipe: StorePipeline, period: str) -> None:
    pipe.hgetall(keys.period_lines(period))
    pipe.hgetall(keys.period_adjustments(period))
    pipe.smembers(keys.period_adjusted_orders(period))
    pipe.hgetall(keys.period_ad_spend(period))


def statement(ctx: Context, period: Period) -> dict[str, Any]:
    """The period's statement: the frozen document if closed, else computed now."""
    r = ctx.store
    frozen = r.get(keys.period_statement(str(period)))
    if frozen is not None:
        return json.loads(frozen)
    # MULTI: one consistent view of the period, never half of an event.
    pipe = r.pipeline(transaction=True)
    read_aggregates(pipe, str(period))
    return statement_from(ctx, period, "open", PeriodAggregates(*pipe.execute()))


def statement_from(
    ctx: Context, period: Period, status: str, aggregates: PeriodAggregates
) -> dict[str, Any]:
    settings = ctx.settings
    return build_statement(
        period,
        status,
        aggregates,
        currency=settings.currency,
        tz=settings.timezone,
        programs=settings.programs,
    )


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


def put_ad_spend(ctx: Context, period: Period, account_id: str, amount: int) -> dict[str, Any]:
    r = ctx.store
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


def replay(
    order: Order,
    history: Iterable[tuple[int, HistoryEntry]],
    closing: Mapping[str, int],
    programs: Mapping[str, Program],
    tz: ZoneInfo,
) -> Iterator[SettlementMove]:
    """The settlement moves of an order's applied events, replayed through
    ``orders.plan`` from nothing up to ``order`` (its final state: credit and
    hold were decided at ``paid``); each event sees the periods closed before
    its own money sequence number. Pure."""
    fields: dict[str, Any] = {}
    for sequence, entry in history:
        if not entry.applied:
            continue
        state = Order.from_hash(order.storefront_id, order.order_id, fields) if fields else None
        plan = orders.plan(
            state,
            entry.event(order.order_id, order.currency),
            credit=order.credit,
            programs=programs,
            tz=tz,
            closed={p for p, closed_at in closing.items() if closed_at < sequence},
            hold=order.review_reason,  # decided at paid, from the click
        )
        fields.update({name: str(value) for name, value in plan.fields.items()})
        yield from plan.settlement


def recompute(ctx: Context, period: Period) -> tuple[dict[str, int], dict[str, int], set[str]]:
    """A period's aggregates recomputed from the order records alone (``replay``).
    An admin's review (``release``/``reject``) is one of the replayed events."""
    r, settings = ctx.store, ctx.settings
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
        order = Order.from_hash(storefront_id, order_id, data)
        if order.credit is None:
            continue
        entries = [parse_history_line(line) for line in history]
        for move in replay(order, entries, closing, settings.programs, settings.timezone):
            if move.period != name:
                continue
            target = adjustments if move.adjustment else lines
            for field_name, value in move.figures():
                target[field_name] += value
            if move.adjustment:
                adjusted.add(move.adjusted_member)
    return dict(lines), dict(adjustments), adjusted


def reconcile(ctx: Context, period: Period) -> list[Difference]:
    """Differences between the stored aggregates and a recomputation (never any)."""
    r = ctx.store
    name = str(period)
    lines, adjustments, adjusted = recompute(ctx, period)
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
