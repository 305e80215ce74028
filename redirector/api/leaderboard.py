"""The public sales leaderboard (达人销量榜): creators ranked by a period's settled GMV."""

from __future__ import annotations

from typing import Any

from flask_openapi3 import APIBlueprint, Tag

from .. import leaderboard
from ..extension import context
from . import schemas
from .responses import ok

bp = APIBlueprint("leaderboard", __name__, url_prefix="/api/v1")
tag = Tag(name="leaderboard")


@bp.get(
    "/leaderboard",
    tags=[tag],
    responses={
        200: schemas.Leaderboard,
        **{s: schemas.ErrorResponse for s in (400, 413, 422, 503)},
    },
)
def get_leaderboard(query: schemas.LeaderboardQuery) -> Any:
    """The sales leaderboard of a period (public, no authentication).

    Creators ranked by the GMV the period's statement settles for them (net of
    refunds, adjustment lines included), then by orders, then by creator id;
    `channel` keeps only that channel's lines. The period defaults to the
    current one; an unknown channel or a malformed period is 422."""
    return ok(leaderboard.board(context(), query.period, query.channel, query.limit))
