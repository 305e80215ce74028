"""A link's raw clicks of a time range, as CSV: one row per recorded click.

Rules (docs/rules.md, *Link kit*):
- the range is ``[from, to)``; ``to`` defaults to now (the clicks of this
  very millisecond included), ``from`` to a day before ``to`` (not before the
  retention horizon);
- raw records are kept for ``Settings.retention_seconds`` (the longest
  attribution window plus a day), so ``from`` may be no earlier than that long
  before now: an older range would answer a part of its clicks and look
  complete. A range spans at most a day more than that (from the horizon to
  tomorrow, not to next year), and ``to`` comes after ``from``; each refusal
  is 422 naming the parameter;
- a row holds the click id, its time (RFC 3339 in the service's zone), a
  device pseudonym, the user-agent class, the referrer host and the bot,
  unique and suspicious flags (``1``/``0``, so a spreadsheet adds them up);
- the device is never shown as the id the service keeps: a creator gets a
  pseudonym, a keyed hash of the creator and the device (``DevicePseudonyms``),
  the same on all of that creator's links and exports (repeat visitors can be
  told apart) but different for every other creator, so two creators cannot
  join their exports to follow one person. The IP hash is left out for the same
  reason;
- a cell that a spreadsheet would read as a formula (``=``, ``+``, ``-``,
  ``@``, tab, carriage return first) gets a leading ``'``: the referrer is
  whatever the clicking browser sent;
- rows are oldest first. They are written as they are read, a UTC day at a
  time, so memory holds one day of one link's clicks, never the whole range.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo

from .clicks import DAY_MS, Click, clicks_of_day
from .context import Context
from .errors import InvalidField

__all__ = [
    "CSV_COLUMNS",
    "DEFAULT_SPAN_MS",
    "ClickRange",
    "DevicePseudonyms",
    "click_range",
    "csv_lines",
    "parse_moment",
    "rows",
    "shown_date",
]

CSV_COLUMNS = (
    "click_id",
    "time",
    "device",
    "user_agent",
    "referrer",
    "bot",
    "unique",
    "suspicious",
)
DEFAULT_SPAN_MS = DAY_MS
# How far past the retention a range may reach: one that starts at the horizon
# may end tomorrow (an end of day in any zone), but not a year on.
MAX_AHEAD_MS = DAY_MS
PSEUDONYM_SALT = b"redirector.device-pseudonym:"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True, slots=True)
class ClickRange:
    start_ms: int  # inclusive
    end_ms: int  # exclusive

    @property
    def days(self) -> range:
        """The UTC days the range touches (the records' keys are per UTC day)."""
        return range(self.start_ms // DAY_MS, (self.end_ms - 1) // DAY_MS + 1)


def parse_moment(value: str, field: str) -> int:
    """RFC 3339 with an offset -> ms since the epoch, or 422 naming ``field``."""
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        if moment.utcoffset() is None:
            raise InvalidField.one(field, "must carry a time-zone offset, e.g. +08:00")
        return round(moment.astimezone(UTC).timestamp() * 1000)
    except (ValueError, OverflowError) as exc:
        raise InvalidField.one(field, f"{value[:40]!r} is not an RFC 3339 time") from exc


def _shown(ms: int, tz: tzinfo) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=tz).isoformat(timespec="seconds")


def shown_date(ms: int, tz: tzinfo) -> str:
    """The local date of an instant, as the export's file name gives its range."""
    return datetime.fromtimestamp(ms / 1000, tz=tz).strftime("%Y-%m-%d")


def click_range(
    start_ms: int | None, end_ms: int | None, *, now_ms: int, retention_ms: int, tz: tzinfo
) -> ClickRange:
    """The range asked for, by the rules above (``tz`` writes the messages' times)."""
    horizon = now_ms - retention_ms
    days = retention_ms // DAY_MS
    end = now_ms + 1 if end_ms is None else end_ms  # now's own clicks included
    if start_ms is None:
        if end <= horizon:
            raise InvalidField.one(
                "to", f"clicks are kept {days} days: ask for a time after {_shown(horizon, tz)}"
            )
        start = max(end - DEFAULT_SPAN_MS, horizon)
    else:
        start = start_ms
    if start < horizon:
        raise InvalidField.one(
            "from", f"clicks are kept {days} days: from must be {_shown(horizon, tz)} or later"
        )
    if end <= start:
        raise InvalidField.one("to", "must be later than from")
    if end - start > retention_ms + MAX_AHEAD_MS:
        raise InvalidField.one("to", f"a range spans at most {days + 1} days")
    return ClickRange(start, end)


class DevicePseudonyms:
    """A device as one creator sees it: 12 hex digits of an HMAC of the creator
    and the device, keyed from the oldest signing key (rotating the keys must
    not change every pseudonym, as with IP hashes)."""

    def __init__(self, secret_keys: Sequence[str]) -> None:
        self._key = hashlib.sha256(PSEUDONYM_SALT + secret_keys[-1].encode()).digest()

    def __call__(self, creator_id: str, device: str) -> str:
        material = f"{creator_id}\x00{device}".encode()
        return hmac.new(self._key, material, hashlib.sha256).hexdigest()[:12]


def rows(ctx: Context, link_id: str, span: ClickRange) -> Iterator[Click]:
    """The link's clicks in the range, oldest first, a day read at a time."""
    for day in span.days:
        for click in clicks_of_day(ctx.store, link_id, day):
            if span.start_ms <= click.at_ms < span.end_ms:
                yield click


def _cell(text: str) -> str:
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_lines(ctx: Context, creator_id: str, link_id: str, span: ClickRange) -> Iterator[str]:
    """The CSV, a header line then a line per click (CRLF ends), as it is read.
    The device pseudonyms are ``creator_id``'s, the link's creator's.

    Lines are written after the view has returned, outside its request: all
    they need comes from ``ctx``, a plain object, never from Flask's globals."""
    pseudonym = DevicePseudonyms(ctx.settings.secret_keys)
    tz = ctx.settings.timezone
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")

    def line(cells: Sequence[object]) -> str:
        out.seek(0)
        out.truncate()
        writer.writerow(cells)
        return out.getvalue()

    yield line(CSV_COLUMNS)
    for click in rows(ctx, link_id, span):
        yield line(
            [
                click.id,
                datetime.fromtimestamp(click.at_ms / 1000, tz=tz).isoformat(
                    timespec="milliseconds"
                ),
                pseudonym(creator_id, click.device),
                _cell(click.user_agent),
                _cell(click.referrer),
                int(click.bot),
                int(click.unique),
                int(click.suspicious),
            ]
        )
