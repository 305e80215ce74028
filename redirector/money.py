"""Money rules: commission rounding, share splitting and ad-rebate allocation.

Every amount is an integer count of minor units (fen). Nothing here uses float,
so results are exact and reproducible across processes and languages.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "BPS_SCALE",
    "DEFAULT_SHARES",
    "Shares",
    "Split",
    "allocate_ad_rebate",
    "commission_of",
    "round_half_up",
    "split_commission",
]

BPS_SCALE = 10_000
"""Basis points in a whole: 10000 bps == 100 %."""


def round_half_up(numerator: int, denominator: int) -> int:
    """Return ``numerator / denominator`` rounded to the nearest integer, halves toward +infinity.

    Exact integer arithmetic. "Half up" is taken literally: an exact ``.5`` always
    moves toward positive infinity, so ``2.5 -> 3`` but ``-2.5 -> -2`` (not away from
    zero). Commission only ever rounds non-negative values, where this is the usual
    schoolbook rounding.

    Raises ``ValueError`` unless ``denominator > 0``.
    """
    if denominator <= 0:
        raise ValueError(f"denominator must be positive, got {denominator}")
    # floor(n/d + 1/2) == floor((2n + d) / 2d); Python's // floors, also for negatives.
    return (2 * numerator + denominator) // (2 * denominator)


def commission_of(amount: int, refunded_amount: int, rate_bps: int) -> int:
    """Commission for one order line: ``round_half_up((amount - refunded) * rate_bps / 10000)``.

    Cancelled or unattributed orders earn 0; that decision belongs to the caller,
    which should simply not call this (or use 0). Raises ``ValueError`` if
    ``amount < 0``, ``refunded_amount`` is outside ``0..amount``, or ``rate_bps`` is
    outside ``0..10000``.
    """
    if amount < 0:
        raise ValueError(f"amount must be >= 0, got {amount}")
    if not 0 <= refunded_amount <= amount:
        raise ValueError(f"refunded_amount must be within 0..{amount}, got {refunded_amount}")
    if not 0 <= rate_bps <= BPS_SCALE:
        raise ValueError(f"rate_bps must be within 0..{BPS_SCALE}, got {rate_bps}")
    return round_half_up((amount - refunded_amount) * rate_bps, BPS_SCALE)


@dataclass(frozen=True, slots=True)
class Shares:
    """A channel program's split of commission, in basis points, summing to 10000."""

    network: int
    platform: int
    guide: int

    def __post_init__(self) -> None:
        parts = (self.network, self.platform, self.guide)
        if any(p < 0 for p in parts):
            raise ValueError(f"shares must be >= 0, got {parts}")
        if sum(parts) != BPS_SCALE:
            raise ValueError(f"shares must sum to {BPS_SCALE} bps, got {sum(parts)} from {parts}")


DEFAULT_SHARES = Shares(network=1000, platform=3000, guide=6000)


@dataclass(frozen=True, slots=True)
class Split:
    """One commission divided between network, platform and guide (minor units)."""

    network: int
    platform: int
    guide: int

    @property
    def total(self) -> int:
        return self.network + self.platform + self.guide


def split_commission(total: int, shares: Shares) -> Split:
    """Split ``total`` by ``shares`` with the largest-remainder method.

    Each party first gets the floor of its exact share ``total * bps / 10000``; the
    leftover minor units go one each to the largest fractional parts. Ties go to the
    larger share, then in the order network, platform, guide. The parts always sum
    to ``total`` exactly and each is within one minor unit of its exact share.

    A negative ``total`` (an adjustment reversing an earlier line) is split by its
    magnitude and every part negated, so ``split_commission(-t, s)`` is exactly the
    negation of ``split_commission(t, s)`` and an adjustment mirrors what it reverses.
    """
    if total < 0:
        positive = split_commission(-total, shares)
        return Split(-positive.network, -positive.platform, -positive.guide)

    bps = (shares.network, shares.platform, shares.guide)
    floors = [total * b // BPS_SCALE for b in bps]
    remainders = [total * b % BPS_SCALE for b in bps]
    leftover = total - sum(floors)
    # Index breaks the final tie, which encodes the network, platform, guide order.
    ranking = sorted(range(3), key=lambda i: (-remainders[i], -bps[i], i))
    for i in ranking[:leftover]:
        floors[i] += 1
    return Split(network=floors[0], platform=floors[1], guide=floors[2])


def allocate_ad_rebate(platforms: Sequence[int], ad_spend: int) -> list[int]:
    """Rebate per line for a guide account's ad spend in one period.

    ``platforms`` are the platform parts of the account's lines, already in
    channel-name order. Lines are taken in that order until the spend is used up:
    ``rebate = min(platform, ad_spend_left)``. A line whose platform is ``<= 0``
    (e.g. a reversing adjustment) gets 0 and does not give spend back. The caller
    derives ``platform_net = platform - rebate`` and ``guide_payable = guide + rebate``.

    Raises ``ValueError`` if ``ad_spend < 0``.
    """
    if ad_spend < 0:
        raise ValueError(f"ad_spend must be >= 0, got {ad_spend}")
    left = ad_spend
    rebates: list[int] = []
    for platform in platforms:
        rebate = min(platform, left) if platform > 0 else 0
        left -= rebate
        rebates.append(rebate)
    return rebates
