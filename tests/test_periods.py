"""Tests for redirector.periods."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from redirector.periods import DEFAULT_TIMEZONE, Period, has_ended, period_of

SHANGHAI = ZoneInfo(DEFAULT_TIMEZONE)
PLUS8 = timezone(timedelta(hours=8))
LONDON = ZoneInfo("Europe/London")
HAVANA = ZoneInfo("America/Havana")


def test_default_timezone_is_shanghai() -> None:
    assert DEFAULT_TIMEZONE == "Asia/Shanghai"


# --- parse / str ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "year", "month"),
    [("2026-01", 2026, 1), ("2026-12", 2026, 12), ("2000-01", 2000, 1), ("2999-12", 2999, 12)],
)
def test_parse_valid(text: str, year: int, month: int) -> None:
    period = Period.parse(text)
    assert period == Period(year, month)
    assert str(period) == text


@pytest.mark.parametrize(
    "text",
    [
        "2026-13",
        "2026-00",
        "2026-1",
        "26-01",
        " 2026-01",
        "2026-01 ",
        "2026-01\n",
        "2026/01",
        "202601",
        "2026-001",
        "1999-12",
        "3000-01",
        "",
        "２０２６-01",  # fullwidth digits
        "٢٠٢٦-٠١",  # Arabic-Indic digits
    ],
)
def test_parse_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="invalid period") as excinfo:
        Period.parse(text)
    assert repr(text) in str(excinfo.value)


@pytest.mark.parametrize(("year", "month"), [(2026, 0), (2026, 13), (1999, 12), (3000, 1)])
def test_constructor_validates(year: int, month: int) -> None:
    with pytest.raises(ValueError, match="period"):
        Period(year, month)


def test_str_pads_month() -> None:
    assert str(Period(2026, 3)) == "2026-03"


@given(st.integers(2000, 2999), st.integers(1, 12))
def test_str_parse_round_trip(year: int, month: int) -> None:
    period = Period(year, month)
    assert Period.parse(str(period)) == period


# --- ordering, next, previous -------------------------------------------------


def test_ordering_is_chronological() -> None:
    periods = [Period(2027, 1), Period(2026, 2), Period(2026, 12), Period(2026, 10)]
    assert sorted(periods) == [Period(2026, 2), Period(2026, 10), Period(2026, 12), Period(2027, 1)]
    assert Period(2026, 12) < Period(2027, 1)
    assert Period(2026, 9) < Period(2026, 10)


def test_next_and_previous() -> None:
    assert Period(2026, 11).next() == Period(2026, 12)
    assert Period(2026, 12).next() == Period(2027, 1)
    assert Period(2027, 1).previous() == Period(2026, 12)
    assert Period(2026, 5).previous() == Period(2026, 4)


def test_next_and_previous_at_range_limits() -> None:
    with pytest.raises(ValueError):
        Period(2999, 12).next()
    with pytest.raises(ValueError):
        Period(2000, 1).previous()


@given(st.integers(2000, 2998), st.integers(1, 12))
def test_next_previous_inverse(year: int, month: int) -> None:
    period = Period(year, month)
    assert period.next().previous() == period
    assert period < period.next()


def test_period_is_hashable_and_frozen() -> None:
    assert {Period(2026, 1), Period.parse("2026-01")} == {Period(2026, 1)}
    with pytest.raises(AttributeError):
        Period(2026, 1).month = 2  # type: ignore[misc]


# --- start / end ------------------------------------------------------------------


def test_start_and_end_in_shanghai() -> None:
    period = Period(2026, 12)
    start, end = period.start(SHANGHAI), period.end(SHANGHAI)
    assert start == datetime(2026, 12, 1, tzinfo=SHANGHAI)
    assert start.astimezone(UTC) == datetime(2026, 11, 30, 16, tzinfo=UTC)
    assert end == datetime(2027, 1, 1, tzinfo=SHANGHAI)
    assert end.astimezone(UTC) == datetime(2026, 12, 31, 16, tzinfo=UTC)
    assert start.utcoffset() == timedelta(hours=8)


def test_end_is_next_start() -> None:
    assert Period(2026, 11).end(SHANGHAI) == Period(2026, 12).start(SHANGHAI)
    # The last representable period still has an end.
    assert Period(2999, 12).end(SHANGHAI) == datetime(3000, 1, 1, tzinfo=SHANGHAI)


def test_start_skips_a_midnight_dst_gap() -> None:
    # Havana sprang forward at local midnight on 2012-04-01: 00:00-00:59 never
    # existed, so April began at 01:00 CDT (05:00 UTC).
    start = Period(2012, 4).start(HAVANA)
    assert start.astimezone(UTC) == datetime(2012, 4, 1, 5, tzinfo=UTC)
    assert (start.hour, start.minute) == (1, 0)
    assert Period(2012, 3).end(HAVANA) == start
    just_before = start.astimezone(UTC) - timedelta(microseconds=1)
    assert period_of(just_before, HAVANA) == Period(2012, 3)
    assert period_of(start, HAVANA) == Period(2012, 4)


# --- period_of -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (datetime(2026, 11, 30, 23, 59, tzinfo=PLUS8), "2026-11"),
        (datetime(2026, 12, 1, 0, 1, tzinfo=PLUS8), "2026-12"),
        (datetime(2026, 12, 1, 0, 0, tzinfo=PLUS8), "2026-12"),
        (datetime(2026, 11, 30, 23, 59, 59, 999_999, tzinfo=PLUS8), "2026-11"),
        # 16:01Z on Nov 30 is 00:01 on Dec 1 in Shanghai
        (datetime(2026, 11, 30, 16, 1, tzinfo=UTC), "2026-12"),
        (datetime(2026, 11, 30, 15, 59, tzinfo=UTC), "2026-11"),
        # 16:30Z on Dec 31 is already 2027 in Shanghai
        (datetime(2026, 12, 31, 16, 30, tzinfo=UTC), "2027-01"),
        # same instant expressed in a different offset
        (datetime(2026, 11, 30, 11, 1, tzinfo=timezone(timedelta(hours=-5))), "2026-12"),
        (datetime(2026, 12, 1, 0, 1, tzinfo=SHANGHAI), "2026-12"),
    ],
)
def test_period_of_shanghai(moment: datetime, expected: str) -> None:
    assert period_of(moment, SHANGHAI) == Period.parse(expected)


@pytest.mark.parametrize(
    ("moment", "holding_days", "expected"),
    [
        (datetime(2026, 11, 20, 10, tzinfo=PLUS8), 10, "2026-11"),  # lands on Nov 30
        (datetime(2026, 11, 20, 10, tzinfo=PLUS8), 11, "2026-12"),  # lands on Dec 1
        (datetime(2026, 12, 25, 12, tzinfo=PLUS8), 6, "2026-12"),  # Dec 31
        (datetime(2026, 12, 25, 12, tzinfo=PLUS8), 7, "2027-01"),  # crosses the year
        (datetime(2026, 1, 31, 9, tzinfo=PLUS8), 30, "2026-03"),  # skips short February
        (datetime(2028, 2, 28, 12, tzinfo=PLUS8), 1, "2028-02"),  # leap day
        (datetime(2028, 2, 28, 12, tzinfo=PLUS8), 2, "2028-03"),
        (datetime(2026, 12, 31, 23, 59, tzinfo=PLUS8), 0, "2026-12"),
        (datetime(2026, 12, 31, 23, 59, tzinfo=PLUS8), 1, "2027-01"),
        # Days are added to the Shanghai date, not the UTC date: 16:30Z on Nov 29
        # is Nov 30 00:30 in Shanghai, + 1 day = Dec 1.
        (datetime(2026, 11, 29, 16, 30, tzinfo=UTC), 1, "2026-12"),
    ],
)
def test_period_of_with_holding_days(moment: datetime, holding_days: int, expected: str) -> None:
    assert period_of(moment, SHANGHAI, holding_days) == Period.parse(expected)


def test_holding_days_are_calendar_days_across_dst() -> None:
    # London springs forward on 2026-03-29. 23:30 GMT on Mar 24 plus 7 calendar
    # days is 23:30 BST on Mar 31 (March); 7 * 24 h would be 00:30 BST on Apr 1.
    moment = datetime(2026, 3, 24, 23, 30, tzinfo=LONDON)
    assert period_of(moment, LONDON, 7) == Period(2026, 3)
    assert period_of(moment + timedelta(hours=7 * 24), LONDON) == Period(2026, 3)
    assert period_of(moment.astimezone(UTC) + timedelta(hours=7 * 24), LONDON) == Period(2026, 4)


def test_period_of_rejects_naive_and_negative_holding() -> None:
    with pytest.raises(ValueError, match="aware"):
        period_of(datetime(2026, 1, 1, 12), SHANGHAI)
    with pytest.raises(ValueError, match="holding_days"):
        period_of(datetime(2026, 1, 1, 12, tzinfo=UTC), SHANGHAI, -1)


def test_period_of_out_of_range() -> None:
    with pytest.raises(ValueError):
        period_of(datetime(1999, 12, 31, 12, tzinfo=PLUS8), SHANGHAI)
    with pytest.raises(ValueError):
        period_of(datetime(9999, 12, 31, 12, tzinfo=PLUS8), SHANGHAI, 5)


# --- has_ended -------------------------------------------------------------------


def test_has_ended() -> None:
    november = Period(2026, 11)
    # The period ends at 2026-12-01T00:00+08:00 == 2026-11-30T16:00Z.
    assert not has_ended(november, datetime(2026, 11, 30, 15, 59, 59, tzinfo=UTC), SHANGHAI)
    assert has_ended(november, datetime(2026, 11, 30, 16, 0, tzinfo=UTC), SHANGHAI)
    assert has_ended(november, datetime(2026, 12, 1, 0, 0, tzinfo=SHANGHAI), SHANGHAI)
    assert not has_ended(november, datetime(2026, 11, 15, tzinfo=SHANGHAI), SHANGHAI)
    assert not has_ended(Period(2026, 12), datetime(2026, 12, 1, tzinfo=SHANGHAI), SHANGHAI)


def test_has_ended_compares_instants_not_wall_times() -> None:
    # 23:30 GMT on Oct 31 is still October in London, though it is 00:30 on
    # Nov 1 in Paris; wall-time comparison would get this wrong.
    now = datetime(2026, 10, 31, 23, 30, tzinfo=UTC).astimezone(ZoneInfo("Europe/Paris"))
    assert not has_ended(Period(2026, 10), now, LONDON)
    assert has_ended(Period(2026, 10), now, ZoneInfo("Europe/Paris"))


def test_has_ended_rejects_naive() -> None:
    with pytest.raises(ValueError, match="aware"):
        has_ended(Period(2026, 1), datetime(2026, 3, 1), SHANGHAI)


# --- properties -------------------------------------------------------------------

zones = st.one_of(
    st.sampled_from(
        [SHANGHAI, LONDON, HAVANA, ZoneInfo("America/New_York"), ZoneInfo("Australia/Lord_Howe")]
    ),
    st.timezones(),
)
moments = st.datetimes(
    min_value=datetime(2000, 1, 3),
    max_value=datetime(2998, 11, 1),  # leaves room for 400 holding days
    timezones=st.one_of(st.just(UTC), st.timezones()),
)


@given(moments, zones, st.integers(0, 400))
def test_period_contains_moment_plus_holding(
    moment: datetime, tz: ZoneInfo, holding_days: int
) -> None:
    period = period_of(moment, tz, holding_days)
    # Holding days are added to the local wall clock, then compared as instants.
    shifted = (moment.astimezone(tz) + timedelta(days=holding_days)).astimezone(UTC)
    assert period.start(tz).astimezone(UTC) <= shifted < period.end(tz).astimezone(UTC)


@given(moments, zones)
def test_has_ended_agrees_with_period_of(now: datetime, tz: ZoneInfo) -> None:
    current = period_of(now, tz)
    assert not has_ended(current, now, tz)
    assume(current.year > 2000 or current.month > 1)
    assert has_ended(current.previous(), now, tz)


@given(st.integers(2000, 2999), st.integers(1, 12), zones)
def test_start_end_bracket_the_month(year: int, month: int, tz: ZoneInfo) -> None:
    period = Period(year, month)
    start, end = period.start(tz), period.end(tz)
    assert start.astimezone(UTC) < end.astimezone(UTC)
    assert period_of(start, tz) == period
    # Step back in UTC: wall-clock arithmetic could land inside a DST gap.
    assert period_of(end.astimezone(UTC) - timedelta(microseconds=1), tz) == period
    assert (start.astimezone(tz).year, start.astimezone(tz).month, start.day) == (year, month, 1)
