"""Public pages: a creator's showcase and the sales leaderboard.

The showcase ``/s/<creator_id>`` is the store page of a creator without a shop:
each active product the creator has an active link for, once, bought through
the newest of those links (so every purchase from it is tracked and
attributed). A creator without such links gets an empty showcase.

The rules are in ``showcase`` (paged: ``?page=n``). The leaderboard page shows what
``GET /api/v1/leaderboard`` answers (``leaderboard.board``), with two rules of
its own (docs/console.md): without ``?period=`` it shows the latest closed
period (figures that no longer move), else the latest period with data, else
the current one; and it lists creators with a positive GMV only (a creator
whose refunds outweigh the period's sales has nothing to rank, and a public
page never shows a negative GMV).
"""

from __future__ import annotations

from typing import Any

from flask import g, request

from .. import leaderboard, paging, settlement
from ..api import schemas
from ..context import Context
from ..extension import context
from ..periods import Period, period_of
from ..showcase import page_number, showcase
from . import figures, i18n
from .views import bp, csp, image_hosts, link_with_url, page

TOP_IN_CHART = 10


@bp.get("/s/<creator_id>", endpoint="showcase")
def showcase_page(creator_id: str) -> Any:
    shown = showcase(context().store, creator_id, page_number(request.args.get("page")))
    items = [{"product": i.product, "link": link_with_url(i.link)} for i in shown.items]
    response = page(
        "showcase.html",
        creator=shown.creator,
        items=items,
        shops=shown.shops,
        next_page=shown.next_page,
    )
    # the policy names the hosts of the images shown, as the library page's
    response.headers["Content-Security-Policy"] = csp(image_hosts(i.product for i in shown.items))
    return response


def default_board_period(ctx: Context) -> Period:
    """The period the leaderboard page shows when none is asked for (see the top)."""
    current = period_of(ctx.clock.now(), ctx.settings.timezone)
    closed = [Period.parse(p) for p in settlement.closed_periods(ctx.store)]
    if closed:
        return max(closed)
    with_data = [p for p in settlement.data_periods(ctx.store) if p <= current]
    return with_data[-1] if with_data else current


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
    period = query.period or str(default_board_period(svc))
    board = leaderboard.board(svc, period, query.channel, query.limit)
    board["entries"] = [e for e in board["entries"] if e["gmv"] > 0]
    current = period_of(svc.clock.now(), svc.settings.timezone)
    first = settlement.first_period(svc.store)
    periods = {Period.parse(board["period"]), *figures.periods_since(first, current, 12)}
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
        periods=[str(p) for p in sorted(periods, reverse=True)],
        board_chart=chart,
    )
