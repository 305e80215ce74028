"""Admin pages: dashboard, statements, creators and links (orders: ``order_pages``).

What each dashboard figure is (and where it comes from):
- the "all time" tiles and the channel and placement charts: the links' stats
  added up (``links.list_links``, as ``GET /api/v1/links``): clicks, unique,
  bot and suspicious clicks (a flood's clicks, counted in clicks too), and the
  attributed orders, net GMV and commission counted from ``paid`` on (a
  cancellation takes its order back out);
- clicks, GMV and commission per day: the links' per-day series added up
  (``series.link_series``, as ``GET /api/v1/links/{id}/series``), by local day
  in the service's time zone (money on the day of the event that moved it);
- settled per period: each period's statement totals (``settlement.statement``,
  as ``GET /api/v1/settlements/{period}``): orders settle in the month of their
  confirmation (plus holding days), so this is money by settlement month, not
  by the day a shopper paid.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask import Response, flash, g, redirect, request, url_for

from .. import closing, links, paging, registry, series, settlement
from ..api import schemas
from ..context import Context
from ..extension import context
from ..periods import Period, has_ended, period_of
from . import figures, i18n, words
from .auth import ADMIN, requires
from .views import bp, link_with_url, page

DAY_CHOICES = (7, 30, 90)
PERIODS_SHOWN = 6
PERIOD_MENU = 120
DAILY_FIELDS = (*figures.SERIES_FIELDS, *figures.MONEY_FIELDS)
LINKS_PER_PAGE = 50


def _t(key: str, **values: Any) -> str:
    return i18n.translate(key, g.lang, **values)


def _period(text: str) -> Any:
    svc = context()
    return settlement.parse_period(text, svc.clock.now(), svc.settings.timezone)


def _current_period() -> Any:
    svc = context()
    return period_of(svc.clock.now(), svc.settings.timezone)


@dataclass(frozen=True, slots=True)
class Dashboard:
    """The dashboard's figures, gathered before anything is drawn."""

    links: list[dict[str, Any]]
    totals: dict[str, int]
    dates: list[str]  # the days shown, oldest first
    daily: dict[str, list[int]]  # per series field (clicks and money), a figure per date
    periods: list[Period]  # oldest first, the current one last
    statements: list[dict[str, Any]]  # one per period
    by_channel: dict[str, dict[str, int]]
    by_placement: dict[str, dict[str, int]]


def dashboard_figures(ctx: Context, days: int) -> Dashboard:
    """What the dashboard shows (see the top of this module for where each comes from)."""
    every_link = links.every_link(ctx.store)
    now, tz = ctx.clock.now(), ctx.settings.timezone
    today = now.astimezone(tz).date()
    dates = figures.last_days(today, days)
    first = date.fromisoformat(dates[0])
    per_link = (series.link_series(ctx.store, x["id"], first, today) for x in every_link)
    periods = figures.periods_since(
        settlement.first_period(ctx.store), period_of(now, tz), PERIODS_SHOWN
    )
    return Dashboard(
        links=every_link,
        totals=figures.total_stats(every_link),
        dates=dates,
        daily=figures.daily_totals(per_link, dates, DAILY_FIELDS),
        periods=periods,
        statements=[settlement.statement(ctx, p) for p in periods],
        by_channel=figures.stats_by(every_link, "channel", sorted(ctx.settings.programs)),
        by_placement=figures.stats_by(every_link, "placement", links.PLACEMENTS),
    )


def _field(field: str) -> str:
    return _t(f"fig.{field}")


def _dataset(field: str, unit: str, data: list[int], draw: str | None = None) -> dict[str, Any]:
    return figures.dataset(_field(field), field, unit, data, draw)


def _money_by(groups: dict[str, dict[str, int]], label: Callable[[str], str]) -> dict[str, Any]:
    """Categories as bars side by side, never a line joining them (no trend between channels)."""
    names = list(groups)
    return figures.chart(
        "bar",
        [label(n) for n in names],
        [_dataset(f, "money", [groups[n][f] for n in names]) for f in figures.MONEY_FIELDS],
    )


def _placement_label(placement: str) -> str:
    return _t(f"placement.{placement}") if placement in links.PLACEMENTS else "—"


def dashboard_charts(board: Dashboard) -> dict[str, Any]:
    """The dashboard's charts, in the console's language."""
    totals = [s["totals"] for s in board.statements]
    return {
        "clicks": figures.clicks_chart(board.dates, board.daily, _field),
        "money": figures.money_chart(board.dates, board.daily, _field),
        "periods": figures.chart(
            "bar",
            [str(p) for p in board.periods],
            [
                _dataset("gmv", "money", [t["gmv"] for t in totals]),
                _dataset("commission", "money", [t["commission"] for t in totals]),
                _dataset("orders", "count", [t["orders"] for t in totals], "line"),
            ],
        ),
        "channels": _money_by(board.by_channel, words.channel_name),
        "placements": _money_by(board.by_placement, _placement_label),
    }


@bp.get("/console/admin")
@requires(ADMIN)
def dashboard() -> Any:
    days = request.args.get("days", type=int)
    days = days if days in DAY_CHOICES else 30
    board = dashboard_figures(context(), days)
    return page(
        "dashboard.html",
        days=days,
        day_choices=DAY_CHOICES,
        totals=board.totals,
        link_count=len(board.links),
        this_period=board.statements[-1],
        statements=board.statements,
        by_channel=board.by_channel,
        by_placement=board.by_placement,
        charts=dashboard_charts(board),
    )


# -- statements ---------------------------------------------------------------------------


@bp.get("/console/admin/statements")
@requires(ADMIN)
def statements() -> Any:
    period = request.args.get("period") or str(_current_period())
    return redirect(url_for("console.statement", period=period))


@bp.get("/console/admin/statements/<period>")
@requires(ADMIN)
def statement(period: str) -> Any:
    svc = context()
    parsed = _period(period)
    doc = settlement.statement(svc, parsed)
    ended = has_ended(parsed, svc.clock.now(), svc.settings.timezone)
    current = _current_period()
    return page(
        "statement.html",
        doc=doc,
        ad_spend=figures.once_per_account(doc["lines"]),
        can_close=doc["status"] == "open" and ended,
        ended=ended,
        periods=_statement_periods(parsed, current),
        # epoch ms, written by ``when`` as the page's other times: local, no offset
        closes_from=int(parsed.end(svc.settings.timezone).timestamp() * 1000),
    )


def _statement_periods(shown: Period, current: Period) -> list[str]:
    """The period menu, newest first: from the first period with data to now
    (ten years at most), and the one shown if it is not among them."""
    first = settlement.first_period(context().store)
    periods = {shown, *figures.periods_since(first, current, PERIOD_MENU)}
    return [str(p) for p in sorted(periods, reverse=True)]


@bp.get("/console/admin/statements/<period>/csv")
@requires(ADMIN)
def statement_csv(period: str) -> Any:
    """The statement's CSV, the same document as ``?format=csv`` of the API."""
    doc = settlement.statement(context(), _period(period))
    return Response(
        settlement.to_csv(doc),
        content_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="statement-{doc["period"]}.csv"'},
    )


@bp.post("/console/admin/statements/<period>/close")
@requires(ADMIN)
def close_statement(period: str) -> Any:
    doc = closing.close(context(), _period(period))
    flash(_t("statement.closed_now", period=doc["period"]), "info")
    return redirect(url_for("console.statement", period=doc["period"]))


# -- creators and links ---------------------------------------------------------------------


@bp.get("/console/admin/creators")
@requires(ADMIN)
def creators() -> Any:
    store = context().store
    people = registry.list_creators(store)
    every_link = links.every_link(store)
    stats = figures.stats_by(every_link, "creator_id", [c["id"] for c in people])
    link_counts: dict[str, int] = {}
    for link in every_link:
        link_counts[link["creator_id"]] = link_counts.get(link["creator_id"], 0) + 1
    agencies = {}
    for person in people:
        agency_id = person["agency_id"]
        if agency_id and agency_id not in agencies:
            agencies[agency_id] = registry.get_agency(store, agency_id)["name"]
    return page(
        "creators.html",
        creators=people,
        stats=stats,
        link_counts=link_counts,
        agencies=agencies,
    )


@bp.get("/console/admin/links")
@requires(ADMIN)
def link_list() -> Any:
    store = context().store
    creator_id = request.args.get("creator_id") or None
    offset = paging.offset(request.args.get("offset"))  # 422 unless 0..MAX_OFFSET
    if creator_id is not None:
        creator_id = schemas.CreatorPath.model_validate({"creator_id": creator_id}).creator_id
    items = links.list_links(store, creator_id=creator_id, offset=offset, limit=LINKS_PER_PAGE)
    titles = {p["id"]: p["title"] for p in registry.list_products(store)}
    return page(
        "links.html",
        links=[link_with_url(x) for x in items],
        titles=titles,
        creator_id=creator_id,
        offset=offset,
        next_offset=offset + len(items) if len(items) == LINKS_PER_PAGE else None,
        previous_offset=max(0, offset - LINKS_PER_PAGE) if offset else None,
        creators=[c["id"] for c in registry.list_creators(store)],
    )
