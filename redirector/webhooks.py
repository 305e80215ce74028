"""Standard Webhooks signing and verification for storefront order callbacks.

Wire format (https://www.standardwebhooks.com): headers ``webhook-id``,
``webhook-timestamp`` (Unix seconds) and ``webhook-signature``, the latter a
space-separated list of ``v1,<base64(HMAC-SHA256(key, "{id}.{ts}.{body}"))>``.
Secrets are ``whsec_`` + base64 of the raw key bytes, so any Standard Webhooks
library interoperates with this module.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from secrets import token_bytes
from typing import Protocol

__all__ = [
    "HEADER_ID",
    "HEADER_SIGNATURE",
    "HEADER_TIMESTAMP",
    "MIN_SECRET_BYTES",
    "SECRET_PREFIX",
    "TOLERANCE_SECONDS",
    "BadSignature",
    "HeaderSource",
    "MissingHeaders",
    "StaleTimestamp",
    "WebhookError",
    "new_secret",
    "secret_key",
    "sign",
    "verify",
]

TOLERANCE_SECONDS = 300
SECRET_PREFIX = "whsec_"
# The Standard Webhooks spec recommends keys of at least 24 bytes.
MIN_SECRET_BYTES = 24
HEADER_ID = "webhook-id"
HEADER_TIMESTAMP = "webhook-timestamp"
HEADER_SIGNATURE = "webhook-signature"


class HeaderSource(Protocol):
    """Anything with ``get`` and ``items``: a dict, or werkzeug ``Headers``."""

    def get(self, key: str, /) -> str | None: ...

    def items(self) -> Iterable[tuple[str, str]]: ...


class WebhookError(Exception):
    """A webhook request failed verification; ``reason`` is a stable machine code."""

    reason: str = "webhook_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class MissingHeaders(WebhookError):
    """Required webhook headers are absent or malformed."""

    reason = "missing_headers"

    def __init__(self, message: str, headers: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.headers: tuple[str, ...] = tuple(headers)


class StaleTimestamp(WebhookError):
    """``webhook-timestamp`` is outside the tolerance window around the server clock."""

    reason = "stale_timestamp"

    def __init__(self, message: str, skew_seconds: int = 0) -> None:
        super().__init__(message)
        # Positive: the timestamp is in the future; negative: in the past.
        self.skew_seconds = skew_seconds


class BadSignature(WebhookError):
    """No ``v1`` signature in the header matches any of the accepted secrets."""

    reason = "bad_signature"


def new_secret() -> str:
    """Generate a fresh signing secret: ``whsec_`` + base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(token_bytes(32)).decode("ascii")


def secret_key(secret: str) -> bytes:
    """Decode a ``whsec_...`` secret to its HMAC key bytes; ValueError if malformed."""
    if not isinstance(secret, str) or not secret.startswith(SECRET_PREFIX):
        raise ValueError(f"webhook secret must start with {SECRET_PREFIX!r}")
    encoded = secret[len(SECRET_PREFIX) :]
    # Other implementations emit unpadded base64 too, so restore padding before strict decoding.
    padded = encoded + "=" * (-len(encoded) % 4)
    try:
        key = base64.b64decode(padded, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("webhook secret is not valid standard base64 after 'whsec_'") from exc
    if len(key) < MIN_SECRET_BYTES:
        raise ValueError(
            f"webhook secret key is {len(key)} bytes; at least {MIN_SECRET_BYTES} are required"
        )
    return key


def _digest(key: bytes, msg_id: str, timestamp: int, body: bytes) -> bytes:
    # Concatenate bytes rather than formatting a str: the body is signed as raw bytes,
    # whatever its encoding.
    prefix = f"{msg_id}.{timestamp}.".encode()
    return hmac.new(key, prefix + body, hashlib.sha256).digest()


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """Return the ``webhook-signature`` entry ``v1,<base64>`` for this message."""
    if isinstance(timestamp, bool) or not isinstance(timestamp, int):
        # A float or bool would format differently from the integer header value.
        raise TypeError("timestamp must be an int (Unix seconds)")
    digest = _digest(secret_key(secret), msg_id, timestamp, body)
    return "v1," + base64.b64encode(digest).decode("ascii")


def _header(headers: Mapping[str, str] | HeaderSource, name: str) -> str | None:
    # werkzeug Headers.get is already case-insensitive; a plain dict needs the scan.
    value = headers.get(name)
    if value is None:
        for key, candidate in headers.items():
            if key.lower() == name:
                return candidate
    return value


def _parse_timestamp(raw: str) -> int | None:
    # Only plain ASCII digits: int() would also accept "+1", " 1", "1_0" and non-ASCII digits.
    if raw.isascii() and raw.isdigit():
        try:
            return int(raw)
        except ValueError:  # absurdly long digit strings exceed int-parsing limits
            return None
    return None


def verify(
    secrets: Sequence[str],
    headers: Mapping[str, str] | HeaderSource,
    body: bytes,
    now: datetime,
    tolerance: int = TOLERANCE_SECONDS,
) -> str:
    """Verify a signed webhook request and return its ``webhook-id``.

    Checks, in order: headers present and timestamp an integer (MissingHeaders),
    timestamp within ``tolerance`` seconds of ``now`` either way (StaleTimestamp),
    and at least one ``v1`` signature matching any of ``secrets`` (BadSignature).
    Raises ValueError for a naive ``now`` or a malformed secret, as those are
    server-side configuration errors rather than a bad request.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be a timezone-aware datetime")
    msg_id, timestamp, signature_header = _signed_headers(headers)
    _check_fresh(timestamp, now, tolerance)
    if not secrets:
        raise BadSignature("no signing secret is configured for this sender")
    expected = [_digest(secret_key(s), msg_id, timestamp, body) for s in secrets]
    if not any(_matches(entry, expected) for entry in signature_header.split()):
        raise BadSignature("no v1 signature in webhook-signature matches an accepted secret")
    return msg_id


def _signed_headers(headers: Mapping[str, str] | HeaderSource) -> tuple[str, int, str]:
    """(webhook-id, timestamp, webhook-signature), or MissingHeaders naming every
    header that is absent or malformed."""
    msg_id = _header(headers, HEADER_ID)
    raw_timestamp = _header(headers, HEADER_TIMESTAMP)
    signature_header = _header(headers, HEADER_SIGNATURE)

    missing = [
        name
        for name, value in (
            (HEADER_ID, msg_id),
            (HEADER_TIMESTAMP, raw_timestamp),
            (HEADER_SIGNATURE, signature_header),
        )
        if not value
    ]
    timestamp = _parse_timestamp(raw_timestamp) if raw_timestamp else None
    problems = [f"missing {name}" for name in missing]
    bad = list(missing)
    if raw_timestamp and timestamp is None:
        problems.append(f"{HEADER_TIMESTAMP} is not an integer Unix time: {raw_timestamp[:40]!r}")
        bad.append(HEADER_TIMESTAMP)
    if bad:
        raise MissingHeaders("invalid webhook headers: " + "; ".join(problems), bad)
    # The checks above guarantee these; the asserts narrow the types for mypy.
    assert msg_id and signature_header and timestamp is not None
    return msg_id, timestamp, signature_header


def _check_fresh(timestamp: int, now: datetime, tolerance: int) -> None:
    """StaleTimestamp unless ``timestamp`` is within ``tolerance`` s of ``now``, either way."""
    skew = timestamp - math.floor(now.timestamp())
    if skew < -tolerance:
        raise StaleTimestamp(
            f"{HEADER_TIMESTAMP} is {-skew} s in the past, "
            f"{-skew - tolerance} s beyond the {tolerance} s tolerance",
            skew,
        )
    if skew > tolerance:
        raise StaleTimestamp(
            f"{HEADER_TIMESTAMP} is {skew} s in the future, "
            f"{skew - tolerance} s beyond the {tolerance} s tolerance",
            skew,
        )


def _matches(entry: str, expected: Sequence[bytes]) -> bool:
    """Whether one ``v1,<base64>`` entry of webhook-signature matches an expected digest."""
    version, sep, encoded = entry.partition(",")
    # Unknown versions are skipped so senders can add future schemes alongside v1.
    if not sep or version != "v1":
        return False
    try:
        candidate = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        return False
    # compare_digest keeps the comparison time independent of where bytes differ.
    return any(hmac.compare_digest(candidate, digest) for digest in expected)
