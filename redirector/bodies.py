"""Request bodies: how much the service reads, and what shape of JSON it parses.

Rules (SPEC, "Limits"):
- a body is at most ``MAX_API_BODY`` bytes on the API and ``MAX_CALLBACK_BODY``
  on a storefront's order callback; a longer one is refused (413) by its
  ``Content-Length`` before anything is read, and a body sent without one
  (chunked) is read at most one byte past the limit, then refused;
- a JSON body is UTF-8 (RFC 8259) and holds no NUL byte, else it is no JSON;
- JSON nested deeper than ``MAX_JSON_DEPTH`` arrays and objects is refused
  (400) before it is parsed: the parser recurses once per level, so depth is
  measured here without recursion, by a scan over the bytes that skips
  strings the way JSON does.

These are plain functions on bytes; ``api.intake`` applies them to requests.
"""

from __future__ import annotations

import re

from .errors import BadRequest, PayloadTooLarge

__all__ = [
    "MAX_API_BODY",
    "MAX_CALLBACK_BODY",
    "MAX_JSON_DEPTH",
    "check_json",
    "check_size",
    "nesting_exceeds",
]

MAX_API_BODY = 1024 * 1024
MAX_CALLBACK_BODY = 256 * 1024
MAX_JSON_DEPTH = 32

# A JSON string (to its closing quote, or to the end when unterminated), or one
# bracket. Possessive quantifiers: each string is scanned once, never retried.
_TOKEN = re.compile(rb'"(?:[^"\\]++|\\.)*+"?|[\[\]{}]', re.DOTALL)
_QUOTE = ord('"')
_OPENING = frozenset(b"[{")


def nesting_exceeds(data: bytes, limit: int) -> bool:
    """Whether ``data`` opens more than ``limit`` arrays or objects inside one
    another, outside strings. Stops at the first bracket past the limit."""
    depth = 0
    for token in _TOKEN.finditer(data):
        first = data[token.start()]
        if first == _QUOTE:
            continue
        if first in _OPENING:
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1  # an unbalanced close is the parser's to refuse
    return False


def check_size(length: int | None, limit: int) -> None:
    """Refuse a body of ``length`` bytes (None: not known yet) over ``limit``."""
    if length is not None and length > limit:
        raise PayloadTooLarge(f"the body is over {limit} bytes ({limit // 1024} KiB)", limit=limit)


def check_json(data: bytes, max_depth: int = MAX_JSON_DEPTH) -> None:
    """Refuse, before parsing, a JSON body that is not UTF-8 or nests too deep."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("the body is not valid JSON: it must be UTF-8") from None
    if b"\x00" in data:  # no JSON text holds one; it would make the parser guess UTF-16
        raise BadRequest("the body is not valid JSON")
    if nesting_exceeds(data, max_depth):
        raise BadRequest(f"the body nests arrays and objects deeper than {max_depth} levels")
