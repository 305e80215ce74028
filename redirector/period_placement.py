"""Period placement: which settlement period an order's money lands in.

Rules (docs/domain.md, Settlement; docs/rules.md):
- an order settles in the period holding ``confirmed_at + holding_days`` (the
  channel program's), in the configured time zone; if that period is closed,
  in the first open period after it;
- a refund of a settled order moves the order's own line while its period is
  open; once that period is closed it becomes an adjustment line in the first
  open period not before the refund's ``occurred_at`` *and* not before the
  period the order settled in (a late-dated refund never lands earlier than
  its order). Cancellation and rejection never meet a settled order (only a
  paid one can be cancelled, only a held one rejected), so refunds are the
  only adjustments.

Tie-breaks: a moment exactly at a month's first local instant belongs to that
month; holding days are calendar days added to the local date (``periods``);
"not before" includes the period itself; a period is closed when it is in
``closed`` (its state in ``keys.periods``), whatever the clock says.

The functions are pure: the caller reads the closed periods, and the script
that writes the move checks they are still open (``orders.writes``).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from .clock import utc_from_ms
from .periods import Period, period_of

__all__ = [
    "METRICS",
    "Landing",
    "SettlementMove",
    "first_open",
    "line_field",
    "refund_landing",
    "settlement_period",
]

METRICS = ("orders", "gmv", "commission")


def first_open(period: Period, closed: Collection[str]) -> Period:
    """``period`` itself if open, else the first open period after it."""
    while str(period) in closed:
        period = period.next()
    return period


def settlement_period(
    confirmed_ms: int, holding_days: int, tz: ZoneInfo, closed: Collection[str]
) -> Period:
    """Where an order confirmed at ``confirmed_ms`` settles."""
    return first_open(period_of(utc_from_ms(confirmed_ms), tz, holding_days), closed)


@dataclass(frozen=True, slots=True)
class Landing:
    period: Period
    adjustment: bool  # an adjustment line: the order's own period is closed


def refund_landing(
    refund_ms: int, settled: Period, tz: ZoneInfo, closed: Collection[str]
) -> Landing:
    """Where a refund at ``refund_ms`` of an order settled in ``settled`` lands."""
    if str(settled) not in closed:
        return Landing(settled, adjustment=False)
    when = max(period_of(utc_from_ms(refund_ms), tz), settled)
    return Landing(first_open(when, closed), adjustment=True)


def line_field(account: str, channel: str, creator: str, metric: str) -> str:
    """A period aggregate's field: ``creator`` is ``*`` for the whole line."""
    return f"{account}|{channel}|{creator}|{metric}"


@dataclass(frozen=True, slots=True)
class SettlementMove:
    """Figures an event adds to one line of one period."""

    period: str
    adjustment: bool
    account: str
    channel: str
    creator_id: str
    orders: int
    gmv: int
    commission: int
    order_ref: str  # <storefront>:<order id>

    def figures(self) -> list[tuple[str, int]]:
        """The aggregate fields the move adds to, with what it adds: the line's
        and its creator's part."""
        return [
            (line_field(self.account, self.channel, creator, metric), getattr(self, metric))
            for creator in ("*", self.creator_id)
            for metric in METRICS
        ]

    @property
    def adjusted_member(self) -> str:
        """The member naming the order in ``keys.period_adjusted_orders``."""
        return f"{self.account}|{self.channel}|{self.order_ref}"
