"""The sales leaderboard (达人销量榜): creators ranked by what a period settled.

Rules:
- the figures are the creators' parts of the period's statement (``settlement``),
  so the board says what the statement says: ``orders`` counts the creator's
  orders settled in the period, ``gmv`` sums their net amounts (refunds taken
  off); adjustment lines (refunds of orders settled in a closed period) count
  too, as they do in the creator's earnings;
- with a channel, only that channel's lines count, and the channel must have a
  program; the period is one a statement may be asked for, the current one
  when none is asked for;
- ranked by ``gmv``, then ``orders`` (both descending), then creator id, so
  every creator has a rank of its own (1, 2, 3…), and the order never depends
  on how the store answered.

``leaderboard`` is the rule, pure; ``ranking`` reads the statement and the
names; ``board`` checks what a reader asked for (the API's query, the page's).
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import suppress
from typing import Any

from . import links, registry, settlement
from .context import Context
from .errors import NotFound
from .periods import Period

__all__ = ["board", "leaderboard", "ranking"]


def leaderboard(
    statement: Mapping[str, Any],
    *,
    channel: str | None = None,
    names: Mapping[str, str] | None = None,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """Entries ``{rank, creator_id, name, orders, gmv}``, best first. Pure."""
    figures: dict[str, dict[str, int]] = {}
    for line in statement["lines"]:
        if channel is not None and line["channel"] != channel:
            continue
        for part in line["creators"]:
            entry = figures.setdefault(part["creator_id"], {"orders": 0, "gmv": 0})
            entry["orders"] += part["orders"]
            entry["gmv"] += part["gmv"]
    ranked = sorted(
        figures.items(), key=lambda item: (-item[1]["gmv"], -item[1]["orders"], item[0])
    )
    if limit is not None:
        ranked = ranked[:limit]
    names = names or {}
    return [
        {"rank": rank, "creator_id": creator_id, "name": names.get(creator_id, creator_id), **fig}
        for rank, (creator_id, fig) in enumerate(ranked, start=1)
    ]


def ranking(ctx: Context, period: Period, channel: str | None, limit: int) -> dict[str, Any]:
    """The leaderboard document of a period (the API's answer and the page's data)."""
    doc = settlement.statement(ctx, period)
    entries = leaderboard(doc, channel=channel, limit=limit)
    for entry in entries:
        with suppress(NotFound):  # else the id stands for the name
            entry["name"] = registry.get_creator(ctx.store, entry["creator_id"])["name"]
    return {
        "period": doc["period"],
        "status": doc["status"],
        "currency": doc["currency"],
        "channel": channel,
        "entries": entries,
    }


def board(ctx: Context, period: str | None, channel: str | None, limit: int) -> dict[str, Any]:
    """The leaderboard a reader asked for: an unknown channel, or a period no
    statement may be asked for, is refused (``InvalidField``)."""
    if channel is not None:
        links.check_channel(channel, list(ctx.settings.programs))
    asked = settlement.period_asked(period, ctx.clock.now(), ctx.settings.timezone)
    return ranking(ctx, asked, channel, limit)
