"""Tests for redirector.money: hand-worked figures plus property tests."""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from redirector.money import (
    DEFAULT_SHARES,
    Shares,
    Split,
    allocate_ad_rebate,
    commission_of,
    round_half_up,
    split_commission,
)

# --- round_half_up -----------------------------------------------------------


@pytest.mark.parametrize(
    ("numerator", "denominator", "expected"),
    [
        (0, 10, 0),
        (4, 10, 0),
        (5, 10, 1),  # exact half goes up
        (6, 10, 1),
        (15, 10, 2),
        (25, 10, 3),  # not banker's rounding
        (12_338_766, 10_000, 1234),
        (12_335_000, 10_000, 1234),
        (12_334_999, 10_000, 1233),
        (1, 3, 0),
        (2, 3, 1),
        # Negatives: halves go toward +infinity, not away from zero.
        (-4, 10, 0),
        (-5, 10, 0),
        (-6, 10, -1),
        (-15, 10, -1),
        (-25, 10, -2),
        (-26, 10, -3),
    ],
)
def test_round_half_up(numerator: int, denominator: int, expected: int) -> None:
    assert round_half_up(numerator, denominator) == expected


@pytest.mark.parametrize("denominator", [0, -1, -10])
def test_round_half_up_rejects_non_positive_denominator(denominator: int) -> None:
    with pytest.raises(ValueError, match="denominator"):
        round_half_up(5, denominator)


@given(st.integers(-(10**15), 10**15), st.integers(1, 10**6))
def test_round_half_up_is_floor_of_value_plus_half(numerator: int, denominator: int) -> None:
    expected = math.floor(Fraction(numerator, denominator) + Fraction(1, 2))
    assert round_half_up(numerator, denominator) == expected


# --- commission_of -----------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "refunded", "rate_bps", "expected"),
    [
        (9999, 0, 1234, 1234),  # 1233.8766 -> 1234
        (5, 0, 1000, 1),  # 0.5 -> 1
        (15, 0, 1000, 2),  # 1.5 -> 2
        (25, 0, 1000, 3),  # 2.5 -> 3
        (4, 0, 1250, 1),  # 0.5 -> 1
        (14, 0, 1000, 1),  # 1.4 -> 1
        (16, 0, 1000, 2),  # 1.6 -> 2
        (15, 10, 1000, 1),  # (15 - 10) * 0.1 = 0.5 -> 1
        (10_000, 2_500, 800, 600),  # 7500 * 0.08 = 600 exactly
        (19_900, 19_900, 1500, 0),  # fully refunded
        (19_900, 0, 0, 0),
        (0, 0, 1234, 0),
        (12_345, 0, 10_000, 12_345),
    ],
)
def test_commission_of(amount: int, refunded: int, rate_bps: int, expected: int) -> None:
    assert commission_of(amount, refunded, rate_bps) == expected


@pytest.mark.parametrize(
    ("amount", "refunded", "rate_bps", "message"),
    [
        (-1, 0, 1000, "amount"),
        (100, -1, 1000, "refunded_amount"),
        (100, 101, 1000, "refunded_amount"),
        (100, 0, -1, "rate_bps"),
        (100, 0, 10_001, "rate_bps"),
    ],
)
def test_commission_of_rejects_bad_input(
    amount: int, refunded: int, rate_bps: int, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        commission_of(amount, refunded, rate_bps)


@st.composite
def order_lines(draw: st.DrawFn) -> tuple[int, int, int]:
    amount = draw(st.integers(0, 10**12))
    refunded = draw(st.integers(0, amount))
    rate = draw(st.integers(0, 10_000))
    return amount, refunded, rate


@given(order_lines())
def test_commission_matches_decimal_half_up(line: tuple[int, int, int]) -> None:
    amount, refunded, rate = line
    exact = Decimal(amount - refunded) * rate / 10_000
    expected = int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))
    assert commission_of(amount, refunded, rate) == expected
    assert 0 <= commission_of(amount, refunded, rate) <= amount - refunded


# --- Shares ------------------------------------------------------------------


def test_default_shares() -> None:
    assert Shares(network=1000, platform=3000, guide=6000) == DEFAULT_SHARES


@pytest.mark.parametrize(
    "parts",
    [(1000, 3000, 5999), (1000, 3000, 6001), (-1, 5001, 5000), (0, 0, 0), (10_001, 0, -1)],
)
def test_shares_rejects_invalid(parts: tuple[int, int, int]) -> None:
    with pytest.raises(ValueError, match="shares"):
        Shares(*parts)


def test_shares_and_split_are_frozen() -> None:
    with pytest.raises(AttributeError):
        DEFAULT_SHARES.guide = 0  # type: ignore[misc]
    with pytest.raises(AttributeError):
        Split(1, 2, 3).guide = 0  # type: ignore[misc]


def test_split_total() -> None:
    assert Split(network=1, platform=2, guide=4).total == 7
    assert Split(network=-1, platform=-2, guide=-4).total == -7


# --- split_commission: hand-worked --------------------------------------------


@pytest.mark.parametrize(
    ("total", "expected"),
    [
        # exact .1/.3/.6 -> leftover 1 to the largest fraction (guide .6)
        (1, (0, 0, 1)),
        # exact .2/.6/1.2 -> floors 0/0/1, leftover 1 to platform (.6)
        (2, (0, 1, 1)),
        # exact .5/1.5/3 -> floors 0/1/3, network and platform tie on .5:
        # the larger share (platform) wins
        (5, (0, 2, 3)),
        # exact .7/2.1/4.2 -> floors 0/2/4, leftover 1 to network (.7)
        (7, (1, 2, 4)),
        # exact 1.5/4.5/9 -> tie on .5 again, platform has the larger share
        (15, (1, 5, 9)),
        (100, (10, 30, 60)),
        # exact 10.1/30.3/60.6 -> leftover 1 to guide (.6)
        (101, (10, 30, 61)),
        (0, (0, 0, 0)),
    ],
)
def test_split_default_shares(total: int, expected: tuple[int, int, int]) -> None:
    assert split_commission(total, DEFAULT_SHARES) == Split(*expected)


@pytest.mark.parametrize(
    ("shares", "total", "expected"),
    [
        # .3333/.3333/.3334 -> guide has the largest fraction
        ((3333, 3333, 3334), 1, (0, 0, 1)),
        # .6666/.6666/.6668 -> guide first, then network/platform tie on fraction
        # and share: network comes first in order
        ((3333, 3333, 3334), 2, (1, 0, 1)),
        ((3333, 3333, 3334), 3, (1, 1, 1)),
        ((3333, 3333, 3334), 10_000, (3333, 3333, 3334)),
        # .5/.5/0 -> full tie: network before platform
        ((5000, 5000, 0), 1, (1, 0, 0)),
        ((5000, 5000, 0), 3, (2, 1, 0)),
        ((0, 5000, 5000), 1, (0, 1, 0)),
        # .5/0/1.5 -> equal fractions, the larger share (guide) beats the order
        ((2500, 0, 7500), 2, (0, 0, 2)),
        ((7500, 0, 2500), 2, (2, 0, 0)),
        ((0, 10_000, 0), 12_345, (0, 12_345, 0)),
    ],
)
def test_split_ties(
    shares: tuple[int, int, int], total: int, expected: tuple[int, int, int]
) -> None:
    assert split_commission(total, Shares(*shares)) == Split(*expected)


@pytest.mark.parametrize(
    ("total", "expected"),
    [(-1, (0, 0, -1)), (-5, (0, -2, -3)), (-7, (-1, -2, -4)), (-101, (-10, -30, -61))],
)
def test_split_negative_mirrors_positive(total: int, expected: tuple[int, int, int]) -> None:
    assert split_commission(total, DEFAULT_SHARES) == Split(*expected)


# --- split_commission: properties ---------------------------------------------


@st.composite
def shares_strategy(draw: st.DrawFn) -> Shares:
    a, b = sorted(draw(st.lists(st.integers(0, 10_000), min_size=2, max_size=2)))
    return Shares(network=a, platform=b - a, guide=10_000 - b)


totals = st.integers(-(10**12), 10**12)
interesting_shares = st.one_of(
    st.sampled_from(
        [DEFAULT_SHARES, Shares(3333, 3333, 3334), Shares(5000, 5000, 0), Shares(2500, 0, 7500)]
    ),
    shares_strategy(),
)


@given(totals, interesting_shares)
def test_split_parts_sum_to_total(total: int, shares: Shares) -> None:
    assert split_commission(total, shares).total == total


@given(totals, interesting_shares)
def test_split_parts_within_one_unit_of_exact_share(total: int, shares: Shares) -> None:
    split = split_commission(total, shares)
    for part, bps in (
        (split.network, shares.network),
        (split.platform, shares.platform),
        (split.guide, shares.guide),
    ):
        assert abs(part * 10_000 - total * bps) < 10_000


@given(st.integers(0, 10**12), interesting_shares)
def test_split_non_negative_total_has_non_negative_parts(total: int, shares: Shares) -> None:
    split = split_commission(total, shares)
    assert min(split.network, split.platform, split.guide) >= 0


@given(totals, interesting_shares)
def test_split_negative_is_exact_mirror(total: int, shares: Shares) -> None:
    forward = split_commission(total, shares)
    backward = split_commission(-total, shares)
    assert (backward.network, backward.platform, backward.guide) == (
        -forward.network,
        -forward.platform,
        -forward.guide,
    )


@given(st.integers(0, 10**9), interesting_shares)
def test_split_is_largest_remainder(total: int, shares: Shares) -> None:
    """Independent restatement: leftover units go to the best-ranked fractions."""
    bps = (shares.network, shares.platform, shares.guide)
    exact = [Fraction(total * b, 10_000) for b in bps]
    floors = [math.floor(x) for x in exact]
    rank = sorted(range(3), key=lambda i: (floors[i] - exact[i], -bps[i], i))
    leftover = total - sum(floors)
    expected = [f + (1 if i in rank[:leftover] else 0) for i, f in enumerate(floors)]
    assert split_commission(total, shares) == Split(*expected)


# --- allocate_ad_rebate --------------------------------------------------------


@pytest.mark.parametrize(
    ("platforms", "ad_spend", "expected"),
    [
        ([300, 0, -50, 200, 500], 400, [300, 0, 0, 100, 0]),
        ([300, 0, -50, 200, 500], 0, [0, 0, 0, 0, 0]),
        ([300, 0, -50, 200, 500], 1000, [300, 0, 0, 200, 500]),
        ([300, 0, -50, 200, 500], 10_000, [300, 0, 0, 200, 500]),
        ([300, 200], 300, [300, 0]),  # spend ends exactly on a line boundary
        ([-300, 200], 100, [0, 100]),  # a reversing line does not return spend
        ([], 500, []),
    ],
)
def test_allocate_ad_rebate(platforms: list[int], ad_spend: int, expected: list[int]) -> None:
    assert allocate_ad_rebate(platforms, ad_spend) == expected


def test_allocate_ad_rebate_a_one_fen_platform_takes_its_fen() -> None:
    # The smallest positive platform part is still a line the spend is taken from.
    assert allocate_ad_rebate([1, 5], 3) == [1, 2]


def test_allocate_ad_rebate_accepts_tuple_and_rejects_negative_spend() -> None:
    assert allocate_ad_rebate((5, 5), 7) == [5, 2]
    with pytest.raises(ValueError, match="ad_spend"):
        allocate_ad_rebate([100], -1)


@given(st.lists(st.integers(-(10**6), 10**6), max_size=30), st.integers(0, 10**7))
def test_allocate_ad_rebate_properties(platforms: list[int], ad_spend: int) -> None:
    rebates = allocate_ad_rebate(platforms, ad_spend)
    assert len(rebates) == len(platforms)
    assert sum(rebates) <= ad_spend
    # The spend is used until it runs out or no positive platform is left.
    assert sum(rebates) == min(ad_spend, sum(p for p in platforms if p > 0))
    for platform, rebate in zip(platforms, rebates, strict=True):
        assert rebate >= 0
        assert rebate <= max(platform, 0)
    # In order: a line gets something only if every earlier positive line got it all.
    for j, rebate in enumerate(rebates):
        if rebate > 0:
            assert all(rebates[i] == platforms[i] for i in range(j) if platforms[i] > 0)
