"""A creator's earnings: its own part of a period's statement.

Rules:
- a creator sees only its own earnings; an admin sees any creator's;
- the creator must exist;
- the period is one a statement may be asked for (``settlement.parse_period``),
  the current one when none is asked for.

The figures are the statement's (``settlement.creator_earnings``), so earnings
always say what the statement says.
"""

from __future__ import annotations

from typing import Any

from . import registry, settlement
from .context import Context
from .errors import Forbidden
from .periods import Period

__all__ = ["earnings", "earnings_seen_by"]


def earnings(ctx: Context, creator_id: str, period: Period) -> dict[str, Any]:
    return settlement.creator_earnings(settlement.statement(ctx, period), creator_id)


def earnings_seen_by(
    ctx: Context, viewer: str | None, creator_id: str, period: str | None
) -> dict[str, Any]:
    """``creator_id``'s earnings in the ``period`` asked for, as ``viewer`` (a
    creator's id; None for an admin) may see them; the rules are checked in
    the order above."""
    if viewer is not None and viewer != creator_id:
        raise Forbidden("a creator sees only its own earnings")
    registry.get_creator(ctx.store, creator_id)
    asked = settlement.period_asked(period, ctx.clock.now(), ctx.settings.timezone)
    return earnings(ctx, creator_id, asked)
