"""Public pages: a creator's showcase and the sales leaderboard.

The showcase ``/s/<creator_id>`` is the store page of a creator without a shop:
each active product the creator has an active link for, once, bought through
the newest of those links (so every purchase from it is tracked and
attributed). A creator without such links gets an empty showcase.

The leaderboard page shows what ``GET /api/v1/leaderboard`` answers
(``leaderboard.ranking``).
"""

from __future__ import annotations

from typing import Any

from flask import g, request

from .. import leaderboard, links, registry
from ..api import schemas
from ..errors import NotFound
from ..extension import context
from ..periods import period_of
from ..settlement import parse_period
from . import figures, i18n
from .views import all_links, bp, link_with_url, page

TOP_IN_CHART = 10


@bp.get("/s/<creator_id>")
def showcase(creator_id: str) -> Any:
    store = context().store
    if not registry.SLUG.match(creator_id):
        raise NotFound(f"creator {creator_id!r} not found")
    creator = registry.get_creator(store, creator_id)
    shown: dict[str, dict[str, Any]] = {}
    for link in all_links(creator_id):  # newest first: the first one per product wins
        if not (link["active"] and link["product_active"]) or link["product_id"] in shown:
            continue
        product = registry.get_product(store, link["product_id"])
        if not product["active"]:
            continue
        shown[link["product_id"]] = {"product": product, "link": link_with_url(link)}
    storefronts = {
        sid: registry.get_storefront(store, sid).name
        for sid in {item["product"]["storefront_id"] for item in shown.values()}
    }
    return page("showcase.html", creator=creator, items=list(shown.values()), shops=storefronts)


@bp.get("/leaderboard")
def leaderboard_page() -> Any:
    svc = context()
    tz = svc.settings.timezone
    now = svc.clock.now()
    query = schemas.LeaderboardQuery.model_validate(
        {k: v for k, v in request.args.items() if v and k in ("period", "channel", "limit")}
    )
    channels = sorted(svc.settings.programs)
    if query.channel is not None:
        links.check_channel(query.channel, channels)
    current = period_of(now, tz)
    period = parse_period(query.period, now, tz) if query.period else current
    board = leaderboard.ranking(svc, period, query.channel, query.limit)
    top = board["entries"][:TOP_IN_CHART]
    chart = figures.chart(
        "bar",
        [entry["name"] for entry in top],
        [
            {
                "label": i18n.translate("fig.gmv", g.lang),
                "unit": "money",
                "data": [entry["gmv"] for entry in top],
            }
        ],
        horizontal=True,
    )
    return page(
        "leaderboard.html",
        board=board,
        channels=channels,
        periods=[str(p) for p in figures.recent_periods(current, 12)][::-1],
        board_chart=chart,
    )
