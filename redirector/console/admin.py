"""Admin pages: dashboard, statements, orders, creators and links.

What each dashboard figure is (and where it comes from):
- the "all time" tiles and the channel and placement charts: the links' stats
  added up (``links.list_links``, as ``GET /api/v1/links``): clicks, unique,
  bot and suspicious clicks (a flood's clicks, counted in clicks too), and the
  attributed orders, net GMV and commission counted from ``paid`` on (a
  cancellation takes its order back out);
- clicks per day: the links' per-day series added up (``links.daily_series``,
  as ``GET /api/v1/links/{id}``), by local day in the service's time zone;
- settled per period: each period's statement totals (``settlement.statement``,
  as ``GET /api/v1/settlements/{period}``): orders settle in the month of their
  confirmation (plus holding days), so this is money by settlement month, not
  by the day a shopper paid.
"""

from __future__ import annotations

from typing import Any

from flask import Response, flash, g, redirect, request, url_for

from .. import keys, links, orders, registry, settlement
from ..api import schemas
from ..extension import context
from ..periods import has_ended, period_of
from . import figures, i18n
from .auth import ADMIN, requires
from .views import all_links, bp, link_with_url, page

DAY_CHOICES = (7, 30, 90)
PERIODS_SHOWN = 6
RECENT_ORDERS = 20
LINKS_PER_PAGE = 50


def _t(key: str, **values: Any) -> str:
    return i18n.translate(key, g.lang, **values)


def _period(text: str) -> Any:
    svc = context()
    return settlement.parse_period(text, svc.clock.now(), svc.settings.timezone)


def _current_period() -> Any:
    svc = context()
    return period_of(svc.clock.now(), svc.settings.timezone)


@bp.get("/console/admin")
@requires(ADMIN)
def dashboard() -> Any:
    svc = context()
    store, tz = svc.store, svc.settings.timezone
    days = request.args.get("days", type=int)
    days = days if days in DAY_CHOICES else 30
    now = svc.clock.now()

    every_link = all_links()
    totals = figures.total_stats(every_link)
    dates = figures.last_days(now.astimezone(tz).date(), days)
    daily = figures.daily_totals((links.daily_series(store, x["id"]) for x in every_link), dates)

    current = period_of(now, tz)
    periods = figures.recent_periods(current, PERIODS_SHOWN)
    statements = [settlement.statement(svc, p) for p in periods]
    this_period = statements[-1]

    channels = sorted(svc.settings.programs)
    by_channel = figures.stats_by(every_link, "channel", channels)
    by_placement = figures.stats_by(every_link, "placement", links.PLACEMENTS)

    def money_and_clicks(groups: dict[str, dict[str, int]], label: Any) -> dict[str, Any]:
        names = list(groups)
        return figures.chart(
            "bar",
            [label(n) for n in names],
            [
                {
                    "label": _t("fig.gmv"),
                    "unit": "money",
                    "data": [groups[n]["gmv"] for n in names],
                },
                {
                    "label": _t("fig.commission"),
                    "unit": "money",
                    "data": [groups[n]["commission"] for n in names],
                },
                {
                    "label": _t("fig.clicks"),
                    "unit": "count",
                    "kind": "line",
                    "data": [groups[n]["clicks"] for n in names],
                },
            ],
        )

    charts = {
        "clicks": figures.chart(
            "line",
            [d[5:] for d in dates],
            [
                {"label": _t("fig.clicks"), "unit": "count", "data": daily["clicks"]},
                {"label": _t("fig.unique_clicks"), "unit": "count", "data": daily["unique_clicks"]},
                {"label": _t("fig.bot_clicks"), "unit": "count", "data": daily["bot_clicks"]},
                {
                    "label": _t("fig.suspicious_clicks"),
                    "unit": "count",
                    "data": daily["suspicious_clicks"],
                },
            ],
        ),
        "periods": figures.chart(
            "bar",
            [str(p) for p in periods],
            [
                {
                    "label": _t("fig.gmv"),
                    "unit": "money",
                    "data": [s["totals"]["gmv"] for s in statements],
                },
                {
                    "label": _t("fig.commission"),
                    "unit": "money",
                    "data": [s["totals"]["commission"] for s in statements],
                },
                {
                    "label": _t("fig.orders"),
                    "unit": "count",
                    "kind": "line",
                    "data": [s["totals"]["orders"] for s in statements],
                },
            ],
        ),
        "channels": money_and_clicks(by_channel, lambda c: c),
        "placements": money_and_clicks(
            by_placement, lambda p: _t(f"placement.{p}") if p in links.PLACEMENTS else "—"
        ),
    }
    return page(
        "dashboard.html",
        days=days,
        day_choices=DAY_CHOICES,
        totals=totals,
        link_count=len(every_link),
        this_period=this_period,
        statements=statements,
        by_channel=by_channel,
        by_placement=by_placement,
        charts=charts,
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
        can_close=doc["status"] == "open" and ended,
        ended=ended,
        periods=[str(p) for p in figures.recent_periods(current.next(), 13)][::-1],
        closes_from=parsed.end(svc.settings.timezone).isoformat(),
    )


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
    doc = settlement.close(context(), _period(period))
    flash(_t("statement.closed_now", period=doc["period"]), "info")
    return redirect(url_for("console.statement", period=doc["period"]))


# -- orders -------------------------------------------------------------------------------


@bp.get("/console/admin/orders")
@requires(ADMIN)
def order_list() -> Any:
    storefront_id = request.args.get("storefront_id", "").strip()
    order_id = request.args.get("order_id", "").strip()
    if storefront_id and order_id:
        return redirect(url_for("console.order", storefront_id=storefront_id, order_id=order_id))
    store = context().store
    refs = store.zrevrange(keys.orders(), 0, RECENT_ORDERS - 1)
    recent = [orders.get_order(store, *ref.split(":", 1)) for ref in refs]
    return page(
        "orders.html",
        recent=recent,
        storefronts=[s.id for s in registry.list_storefronts(store)],
        storefront_id=storefront_id,
        order_id=order_id,
    )


@bp.get("/console/admin/orders/<storefront_id>/<order_id>")
@requires(ADMIN)
def order(storefront_id: str, order_id: str) -> Any:
    path = schemas.OrderPath.model_validate({"storefront_id": storefront_id, "order_id": order_id})
    record = orders.get_order(context().store, path.storefront_id, path.order_id)
    return page("order.html", order=record)


# -- creators and links ---------------------------------------------------------------------


@bp.get("/console/admin/creators")
@requires(ADMIN)
def creators() -> Any:
    store = context().store
    people = registry.list_creators(store)
    every_link = all_links()
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
    offset = max(0, request.args.get("offset", 0, type=int))
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
