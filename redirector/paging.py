"""Paging numbers: how a list is asked for one page, in the API and the console alike.

Rules:
- an ``offset`` counts the items skipped: a whole number written in ASCII
  digits, 0 to ``MAX_OFFSET``; a ``limit`` counts the items shown: 1 to the
  list's own maximum (the links: ``MAX_LINKS_LIMIT``; the leaderboard:
  ``MAX_BOARD_LIMIT``); absent or empty, each has its list's default;
- anything else is refused with ``InvalidField`` naming the parameter (422,
  in the API and on a console page), never read as another number: a page
  other than the one asked for, shown without a word, would mislead, and a
  number past what the store can index must never reach it (it answered 500).

The dashboard's ``days`` is a choice among a few, not a paging number: any
other value shows the default (30 days), as the page's own links offer.

Lists paged by cursor (the orders, the registry's lists) answer
``{items, next_cursor}``; ``next_cursor`` is null on the last page. A cursor
is opaque to clients: the base64url of a short JSON array that the list
wrote (``cursor``) and reads back (``read_cursor``); anything else is 422
naming ``cursor``. It names where the previous page stopped, never an offset,
so pages neither repeat nor skip what was there when the listing began.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Sequence

from .errors import InvalidField

__all__ = [
    "DEFAULT_BOARD_LIMIT",
    "DEFAULT_LINKS_LIMIT",
    "DEFAULT_LIST_LIMIT",
    "MAX_BOARD_LIMIT",
    "MAX_CURSOR_LENGTH",
    "MAX_LINKS_LIMIT",
    "MAX_LIST_LIMIT",
    "MAX_OFFSET",
    "cursor",
    "ids_after",
    "limit",
    "not_a_cursor",
    "offset",
    "read_cursor",
    "whole_number",
]

MAX_OFFSET = 10**6
DEFAULT_LINKS_LIMIT = 100
MAX_LINKS_LIMIT = 1000
DEFAULT_BOARD_LIMIT = 50
MAX_BOARD_LIMIT = 500
DEFAULT_LIST_LIMIT = 100
MAX_LIST_LIMIT = 1000
MAX_CURSOR_LENGTH = 512


def whole_number(name: str, text: str | None, *, default: int, low: int, high: int) -> int:
    """``text`` read as a whole number from ``low`` to ``high``; ``default`` when absent."""
    if text is None or text == "":
        return default
    # isdigit alone takes "١٢" and "²"; the length bounds int()'s work before the range check.
    if not (text.isascii() and text.isdigit()) or len(text) > len(str(high)):
        raise InvalidField.one(name, f"must be a whole number from {low} to {high}")
    value = int(text)
    if not low <= value <= high:
        raise InvalidField.one(name, f"must be a whole number from {low} to {high}")
    return value


def offset(text: str | None) -> int:
    return whole_number("offset", text, default=0, low=0, high=MAX_OFFSET)


def limit(text: str | None, *, default: int, most: int) -> int:
    return whole_number("limit", text, default=default, low=1, high=most)


def cursor(parts: Sequence[str | int]) -> str:
    """An opaque cursor holding ``parts``."""
    text = json.dumps(list(parts), separators=(",", ":"), ensure_ascii=True)
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def not_a_cursor(why: str = "is not a cursor this list gave") -> InvalidField:
    return InvalidField.one("cursor", why)


def read_cursor(text: str, shape: Sequence[type]) -> list[str | int]:
    """The parts of a cursor made by ``cursor``, of the types in ``shape``; else 422."""
    if len(text) > MAX_CURSOR_LENGTH or not text.isascii():
        raise not_a_cursor()
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        parts = json.loads(raw.decode())
    except (binascii.Error, ValueError):  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise not_a_cursor() from None
    if not isinstance(parts, list) or len(parts) != len(shape):
        raise not_a_cursor()
    # bool is an int to Python, never to a cursor.
    if any(type(part) is not kind for part, kind in zip(parts, shape, strict=True)):
        raise not_a_cursor()
    return parts


def ids_after(ids: Iterable[str], after: str | None, limit: int) -> tuple[list[str], str | None]:
    """Up to ``limit`` of ``ids`` in code-point order, after ``after`` (None: from
    the first); and the last one when more follow (None: none do)."""
    ordered = sorted(i for i in ids if after is None or i > after)
    shown = ordered[:limit]
    return shown, (shown[-1] if len(ordered) > limit else None)
