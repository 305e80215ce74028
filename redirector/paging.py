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
"""

from __future__ import annotations

from .errors import InvalidField

__all__ = [
    "DEFAULT_BOARD_LIMIT",
    "DEFAULT_LINKS_LIMIT",
    "MAX_BOARD_LIMIT",
    "MAX_LINKS_LIMIT",
    "MAX_OFFSET",
    "limit",
    "offset",
    "whole_number",
]

MAX_OFFSET = 10**6
DEFAULT_LINKS_LIMIT = 100
MAX_LINKS_LIMIT = 1000
DEFAULT_BOARD_LIMIT = 50
MAX_BOARD_LIMIT = 500


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
