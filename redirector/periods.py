"""Settlement periods: calendar months in the configured time zone, written ``YYYY-MM``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

__all__ = [
    "DEFAULT_TIMEZONE",
    "MAX_YEAR",
    "MIN_YEAR",
    "Period",
    "has_ended",
    "period_of",
]

DEFAULT_TIMEZONE = "Asia/Shanghai"
MIN_YEAR = 2000
MAX_YEAR = 2999

# [0-9] with ASCII and fullmatch: \d would accept other scripts' digits and $
# would accept a trailing newline.
_PERIOD_RE = re.compile(r"(2[0-9]{3})-(0[1-9]|1[0-2])", re.ASCII)


@dataclass(frozen=True, order=True, slots=True)
class Period:
    """A settlement month. Ordered chronologically; ``str`` gives ``YYYY-MM``.

    Years are limited to 2000..2999 so every Period round-trips through
    ``str`` and ``Period.parse``.
    """

    year: int
    month: int

    def __post_init__(self) -> None:
        if not MIN_YEAR <= self.year <= MAX_YEAR:
            raise ValueError(f"period year must be {MIN_YEAR}..{MAX_YEAR}, got {self.year}")
        if not 1 <= self.month <= 12:
            raise ValueError(f"period month must be 1..12, got {self.month}")

    @classmethod
    def parse(cls, text: str) -> Period:
        """Parse exactly ``YYYY-MM`` (no whitespace, two-digit month, year 2000..2999)."""
        match = _PERIOD_RE.fullmatch(text)
        if match is None:
            raise ValueError(
                f"invalid period {text!r}: expected YYYY-MM with year "
                f"{MIN_YEAR}-{MAX_YEAR} and month 01-12, e.g. '2026-01'"
            )
        return cls(int(match.group(1)), int(match.group(2)))

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    def start(self, tz: ZoneInfo) -> datetime:
        """First instant of the month in ``tz`` (aware, inclusive)."""
        return _first_instant(self.year, self.month, tz)

    def end(self, tz: ZoneInfo) -> datetime:
        """First instant of the next month in ``tz`` (aware, exclusive)."""
        # Not via self.next(): the end of 2999-12 is still a valid instant.
        year, month = (self.year + 1, 1) if self.month == 12 else (self.year, self.month + 1)
        return _first_instant(year, month, tz)

    def next(self) -> Period:
        return Period(self.year + 1, 1) if self.month == 12 else Period(self.year, self.month + 1)

    def previous(self) -> Period:
        return Period(self.year - 1, 12) if self.month == 1 else Period(self.year, self.month - 1)


def _first_instant(year: int, month: int, tz: ZoneInfo) -> datetime:
    # Local midnight can fall in a DST gap in some zones; with fold=0 zoneinfo maps
    # it onto the transition instant, and the UTC round trip normalises the wall
    # time to the first instant that really exists.
    return datetime(year, month, 1, tzinfo=tz).astimezone(UTC).astimezone(tz)


def _require_aware(moment: datetime, name: str) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {moment.isoformat()}")


def period_of(moment: datetime, tz: ZoneInfo, holding_days: int = 0) -> Period:
    """Settlement period for an order confirmed at ``moment``.

    That is the month, in ``tz``, containing ``moment + holding_days``; holding days
    are calendar days added to the local date, so DST changes do not shift them.
    Raises ``ValueError`` if ``moment`` is naive, ``holding_days < 0``, or the
    result falls outside years 2000..2999.
    """
    _require_aware(moment, "moment")
    if holding_days < 0:
        raise ValueError(f"holding_days must be >= 0, got {holding_days}")
    try:
        day = moment.astimezone(tz).date() + timedelta(days=holding_days)
    except OverflowError as exc:
        raise ValueError(f"{moment.isoformat()} + {holding_days} days is out of range") from exc
    return Period(day.year, day.month)


def has_ended(period: Period, now: datetime, tz: ZoneInfo) -> bool:
    """True once ``now`` is at or after the end of ``period`` in ``tz``.

    Raises ``ValueError`` if ``now`` is naive.
    """
    _require_aware(now, "now")
    # Compare in UTC: aware datetimes sharing a tzinfo compare by wall time.
    return now.astimezone(UTC) >= period.end(tz).astimezone(UTC)
