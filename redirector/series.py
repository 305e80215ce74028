"""A link's figures per local day: its clicks and its money.

Both are kept per local date in the configured zone (``REDIRECTOR_TIMEZONE``):
the click script adds a click to the day the service records it
(``keys.link_daily``); the order write path adds an event's money
(``keys.link_money_daily``) by the rule of ``money_by_day`` (docs/domain.md,
*Per-day series*):
- an order counts on the local day it was paid: +1 there, and the −1 of a
  cancellation or a rejection lands on that same paid day;
- GMV and commission move on the local day of the event that moves them: the
  paid day adds the amount and its commission, a refund takes its part off the
  refund's day, a cancellation or rejection takes the rest off its own day.
Every change of a link's stats lands on exactly one day, so the series summed
over all days is the link's stats (``links.get_link``).

A series is read for at most ``MAX_DAYS`` days, each day present (zeros
included), so a chart needs no gap filling.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, timedelta, tzinfo
from typing import Any

from . import keys, links
from .context import Context
from .errors import InvalidField
from .periods import MAX_YEAR, MIN_YEAR
from .store import StoreClient

__all__ = [
    "DEFAULT_DAYS",
    "FIELDS",
    "MAX_DAYS",
    "MONEY_FIELDS",
    "date_range",
    "link_series",
    "money_by_day",
    "series_seen_by",
]

MONEY_FIELDS = ("orders", "gmv", "commission")
FIELDS = (*links.DAILY_FIELDS, *MONEY_FIELDS)
MAX_DAYS = 366
DEFAULT_DAYS = 30
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)


def money_by_day(
    moved: Mapping[str, int], event_ms: int, paid_ms: int, tz: tzinfo
) -> list[tuple[str, int]]:
    """An event's changes of its link's money (``orders``, ``gmv``, ``commission``)
    as ``(<YYYY-MM-DD>:<figure>, change)``, each on its day by the rule above. Pure."""
    out = []
    for name, change in moved.items():
        if change:
            at = paid_ms if name == "orders" else event_ms
            out.append((f"{links.local_date(at, tz)}:{name}", change))
    return out


def _day(name: str, text: str) -> date:
    if not _DATE.fullmatch(text):
        raise InvalidField.one(name, "must be a date written YYYY-MM-DD")
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise InvalidField.one(name, f"{text} is not a date") from None
    if not MIN_YEAR <= day.year <= MAX_YEAR:
        raise InvalidField.one(name, f"must be in the years {MIN_YEAR} to {MAX_YEAR}")
    return day


def date_range(first: str | None, last: str | None, today: date) -> tuple[date, date]:
    """The days asked for, both included: ``last`` defaults to today, ``first`` to
    ``DEFAULT_DAYS`` days ending with ``last``; at most ``MAX_DAYS`` days."""
    end = _day("to", last) if last else today
    start = (
        _day("from", first)
        if first
        else max(end - timedelta(days=DEFAULT_DAYS - 1), date(MIN_YEAR, 1, 1))
    )
    if start > end:
        raise InvalidField.one("from", f"{start} is after to ({end})")
    if (end - start).days + 1 > MAX_DAYS:
        raise InvalidField.one("from", f"a series covers at most {MAX_DAYS} days")
    return start, end


def link_series(r: StoreClient, link_id: str, first: date, last: date) -> list[dict[str, Any]]:
    """Every day from ``first`` to ``last``: ``{date, <each of FIELDS>}``."""
    days = [(first + timedelta(days=i)).isoformat() for i in range((last - first).days + 1)]
    clicks = [f"{d}:{name}" for d in days for name in links.DAILY_FIELDS]
    money = [f"{d}:{name}" for d in days for name in MONEY_FIELDS]
    pipe = r.pipeline(transaction=False)
    pipe.hmget(keys.link_daily(link_id), clicks)
    pipe.hmget(keys.link_money_daily(link_id), money)
    click_values, money_values = pipe.execute()
    figures = dict(zip(clicks + money, click_values + money_values, strict=True))
    return [
        {"date": d, **{name: int(figures[f"{d}:{name}"] or 0) for name in FIELDS}} for d in days
    ]


def series_seen_by(
    ctx: Context, viewer: str | None, link_id: str, first: str | None, last: str | None
) -> dict[str, Any]:
    """A link's series as ``viewer`` (a creator's id; None for an admin) may see
    it: another creator's link is not found, as ``links.get_link`` answers."""
    links.get_link(ctx.store, link_id, creator_id=viewer)
    tz = ctx.settings.timezone
    start, end = date_range(first, last, ctx.clock.now().astimezone(tz).date())
    days = link_series(ctx.store, link_id, start, end)
    return {
        "link_id": link_id,
        "timezone": tz.key,
        "from": start.isoformat(),
        "to": end.isoformat(),
        "days": days,
        "totals": {name: sum(day[name] for day in days) for name in FIELDS},
    }
