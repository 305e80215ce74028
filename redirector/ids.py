"""Server-made identifiers and signers: short, URL-safe, unguessable."""

from __future__ import annotations

import hmac
import os
import string
from typing import Any

from itsdangerous import Signer
from itsdangerous.signer import HMACAlgorithm

ALPHABET = string.ascii_letters + string.digits
_BASE = len(ALPHABET)


# Byte -> character for the bytes 0..247 (4 x 62: each character equally
# likely); the 8 bytes above are dropped, so no character is favoured.
_USABLE = 4 * _BASE
_TO_CHAR = bytes(ord(ALPHABET[b % _BASE]) if b < _USABLE else 0 for b in range(256))
_UNUSABLE = bytes(range(_USABLE, 256))


def random_id(length: int) -> str:
    """``length`` base-62 characters from the OS's random source (5.95 bits each).

    One ``urandom`` call mapped by ``bytes.translate``: a character per
    ``secrets.choice`` cost more than the rest of a redirect."""
    while True:
        # A quarter spare: all ``length`` survive the dropped bytes but for
        # odds far below one in a billion, and then it draws again.
        chars = os.urandom(length + length // 4 + 8).translate(_TO_CHAR, _UNUSABLE)
        if len(chars) >= length:
            return chars[:length].decode("ascii")


class _KeyedHMAC(HMACAlgorithm):
    """HMAC keyed once per key and copied per signature, not keyed anew."""

    def __init__(self) -> None:
        super().__init__()
        self._keyed: dict[bytes, Any] = {}

    def get_signature(self, key: bytes, value: bytes) -> bytes:
        keyed = self._keyed.get(key)
        if keyed is None:
            keyed = self._keyed[key] = hmac.new(key, digestmod=self.digest_method)
        mac = keyed.copy()
        mac.update(value)
        return mac.digest()


class KeyedSigner(Signer):
    """An itsdangerous ``Signer`` that derives each key once, not on every call,
    and keys its HMAC once (the redirect signs a device id per new visitor)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("algorithm", _KeyedHMAC())
        super().__init__(*args, **kwargs)
        self._derived: dict[bytes | None, bytes] = {}

    def derive_key(self, secret_key: str | bytes | None = None) -> bytes:
        cache_key = secret_key.encode() if isinstance(secret_key, str) else secret_key
        derived = self._derived.get(cache_key)
        if derived is None:
            derived = self._derived[cache_key] = super().derive_key(secret_key)
        return derived
