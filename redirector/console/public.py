"""Public pages: a creator's showcase and the sales leaderboard.

The showcase ``/s/<creator_id>`` is the store page of a creator without a shop:
each active product the creator has an active link for, once, bought through
the newest of those links (so every purchase from it is tracked and
attributed). A creator without such links gets an empty showcase.

The rules are in ``showcase`` (paged: ``?page=n``). The leaderboard page shows what
``GET /api/v1/leaderboard`` answers (``leaderboard.board``).
"""

from __future__ import annotations

from typing import Any

from flask import g, request

from .. import leaderboard, paging
from ..api import schemas
from ..extension import context
from ..periods import period_of
from ..showcase import page_number, showcase
from . import figures, i18n
from .views import bp, link_with_url, page

TOP_IN_CHART = 10


@bp.get("/s/<creator_id>", endpoint="showcase")
def showcase_page(creator_id: str) -> Any:
    shown = showcase(context().store, creator_id, page_number(request.args.get("page")))
    items = [{"product": i.product, "link": link_with_url(i.link)} for i in shown.items]
    return page(
        "showcase.html",
        creator=shown.creator,
        items=items,
        shops=shown.shops,
        next_page=shown.next_page,
    )


@bp.get("/leaderboard")
def leaderboard_page() -> Any:
    svc = context()
    limit = paging.limit(
        request.args.get("limit"), default=paging.DEFAULT_BOARD_LIMIT, most=paging.MAX_BOARD_LIMIT
    )
    query = schemas.LeaderboardQuery.model_validate(
        {k: v for k, v in request.args.items() if v and k in ("period", "channel")}
        | {"limit": limit}
    )
    board = leaderboard.board(svc, query.period, query.channel, query.limit)
    current = period_of(svc.clock.now(), svc.settings.timezone)
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
        channels=sorted(svc.settings.programs),
        periods=[str(p) for p in figures.recent_periods(current, 12)][::-1],
        board_chart=chart,
    )
