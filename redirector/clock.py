"""The service's clock: real time, or a mock clock kept in the store.

Every rule that reads the time reads ``Clock.now()``. The mock clock
(``REDIRECTOR_CLOCK=mock``) lives in the store so that every worker and every
app host sees the same time; it stands still at the last time set, and starts
at the real time when first read.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, tzinfo
from typing import Any

from . import keys
from .store import StoreClient


def utc_from_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def iso(ms: int, tz: tzinfo) -> str:
    """RFC 3339 in ``tz``, milliseconds kept: a client reading the clock must be
    able to date an event after a click made in the same second."""
    return datetime.fromtimestamp(ms / 1000, tz=tz).isoformat(timespec="milliseconds")


def render_times(value: Any, tz: tzinfo) -> Any:
    """Every ``*_at`` field held as epoch milliseconds becomes RFC 3339 with offset
    (the API's answers and the postbacks' messages alike)."""
    if isinstance(value, dict):
        return {
            k: (
                iso(v, tz)
                if k.endswith("_at") and isinstance(v, int) and not isinstance(v, bool)
                else render_times(v, tz)
            )
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [render_times(v, tz) for v in value]
    return value


def ms_from_datetime(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise ValueError("times must be timezone-aware")
    return round(moment.timestamp() * 1000)


class Clock:
    mock = False

    def now_ms(self) -> int:
        # Whole milliseconds elapsed (floored, as time stamps are): on the
        # redirect's path, so no datetime is built.
        return time.time_ns() // 1_000_000

    def now(self) -> datetime:
        return utc_from_ms(self.now_ms())


class MockClock(Clock):
    mock = True

    def __init__(self, client: StoreClient) -> None:
        self.client = client

    def now_ms(self) -> int:
        value = self.client.get(keys.clock())
        if value is None:
            # First read starts the clock at the real time; NX keeps a racing
            # worker from moving it.
            started = super().now_ms()
            self.client.set(keys.clock(), started, nx=True)
            value = self.client.get(keys.clock())
            if value is None:  # flushed in between: this read still has a time
                return started
        return int(value)

    def set(self, moment: datetime) -> datetime:
        self.client.set(keys.clock(), ms_from_datetime(moment))
        return utc_from_ms(self.now_ms())
