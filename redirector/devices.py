"""Device ids: the opaque ``rd_did`` cookie the redirect issues, and the keyed
hash IP addresses are kept as.

Rules (docs/domain.md, Redirect):
- the device id is opaque and issued by the service: a random id signed with
  the link-signing keys (newest signs, every key verifies), so a cookie the
  service did not issue, or one signed with a key since retired, is replaced;
- an order event's ``device_id`` is the cookie's value as the service set it
  (``DeviceIds.verify`` reads the raw id back out of either);
- IP addresses are never stored, only a 48-bit keyed hash of them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

from itsdangerous import BadSignature

from .config import DEVICE_COOKIE
from .ids import KeyedSigner, random_id

__all__ = [
    "AGENT_HASH_LENGTH",
    "DEVICE_ID_LENGTH",
    "DEVICE_SALT",
    "DeviceIds",
    "IpHasher",
    "agent_hash",
    "cookie_value",
]

DEVICE_SALT = "redirector.device"
DEVICE_ID_LENGTH = 16
AGENT_HASH_LENGTH = 6  # hex characters


class DeviceIds:
    """Opaque device ids, signed so that a cookie we did not issue is replaced."""

    def __init__(self, secret_keys: Sequence[str]) -> None:
        self._signer = KeyedSigner(list(reversed(secret_keys)), salt=DEVICE_SALT)
        self.verify = lru_cache(maxsize=65536)(self._verify)

    def issue(self) -> tuple[str, str]:
        """A new device: (raw id, cookie value)."""
        raw = random_id(DEVICE_ID_LENGTH)
        return raw, self._signer.sign(raw).decode()

    def _verify(self, cookie: str) -> str | None:
        """The raw id inside a cookie value (or an order's ``device_id``), or None."""
        try:
            raw = self._signer.unsign(cookie).decode()
        except (BadSignature, UnicodeError, ValueError):
            return None
        return raw if len(raw) == DEVICE_ID_LENGTH and raw.isalnum() else None


class IpHasher:
    """IP addresses are kept only as a keyed hash (BLAKE2b, 48 bits: enough to
    tell the addresses behind one link apart, too few to serve as a lookup key)."""

    def __init__(self, secret_keys: Sequence[str]) -> None:
        # The oldest key: rotating the signing keys must not change every hash.
        self._key = hashlib.sha256(b"redirector.ip:" + secret_keys[-1].encode()).digest()

    def __call__(self, ip: str) -> str:
        return hashlib.blake2b(ip.encode(), key=self._key, digest_size=6).hexdigest()


def agent_hash(user_agent: str) -> str:
    """A short hash of the exact ``User-Agent``: what the flood rules count new
    devices by (``fraud``). 24 bits: phones of one crowd rarely share one by
    chance. Not keyed: a user agent is no secret."""
    return hashlib.blake2b(
        user_agent.encode("utf-8", "replace"), digest_size=AGENT_HASH_LENGTH // 2
    ).hexdigest()


def cookie_value(environ: Mapping[str, Any]) -> str | None:
    """The ``rd_did`` cookie's value in a WSGI environ, or None."""
    header = environ.get("HTTP_COOKIE")
    if not header or DEVICE_COOKIE not in header:
        return None
    # Split by hand rather than with SimpleCookie, which stops at the first
    # cookie it cannot parse (a JSON value, a space, UTF-8 bytes), so another
    # site cookie sent before ours would cost the device its id. The first
    # one wins, as browsers send the most specific path first.
    for pair in header.split(";"):
        name, equals, value = pair.partition("=")
        if equals and name.strip() == DEVICE_COOKIE:
            return str(value.strip().strip('"'))
    return None
