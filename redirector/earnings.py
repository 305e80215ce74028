"""A creator's earnings: its own part of a period's statement.

Rules:
- a creator sees only its own earnings; an admin sees any creator's;
- the creator must exist;
- the period is one a statement may be asked for (``settlement.parse_period``),
  the current one when none is asked for;
- an independent creator (no agency) is its own guide account: its earnings
  add that account's ``guide_payable`` for the period (what the period will
  pay it, adjustment lines included) and the payouts the period's close made
  it (``payouts``); a creator in an agency is paid through the agency, and its
  earnings stay commission only.

The figures are the statement's (``settlement.creator_earnings``), so earnings
always say what the statement says.
"""

from __future__ import annotations

from typing import Any

from . import payouts, registry, settlement
from .context import Context
from .errors import Forbidden
from .periods import Period

__all__ = ["earnings", "earnings_seen_by"]


def earnings(
    ctx: Context, creator_id: str, period: Period, independent: bool = False
) -> dict[str, Any]:
    doc = settlement.statement(ctx, period)
    mine = settlement.creator_earnings(doc, creator_id)
    if independent:
        account = payouts.own_account(creator_id)
        mine["guide_payable"] = payouts.payable_by_account(doc).get(account, 0)
        mine["payouts"] = payouts.list_payouts(ctx.store, account=account, period=str(period))
    return mine


def earnings_seen_by(
    ctx: Context, viewer: str | None, creator_id: str, period: str | None
) -> dict[str, Any]:
    """``creator_id``'s earnings in the ``period`` asked for, as ``viewer`` (a
    creator's id; None for an admin) may see them; the rules are checked in
    the order above."""
    if viewer is not None and viewer != creator_id:
        raise Forbidden("a creator sees only its own earnings")
    creator = registry.get_creator(ctx.store, creator_id)
    asked = settlement.period_asked(period, ctx.clock.now(), ctx.settings.timezone)
    return earnings(ctx, creator_id, asked, independent=creator["agency_id"] is None)
