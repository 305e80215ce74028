"""Server-made identifiers and signers: short, URL-safe, unguessable."""

from __future__ import annotations

import os
import string
from typing import Any

from itsdangerous import Signer

ALPHABET = string.ascii_letters + string.digits
_BASE = len(ALPHABET)


def random_id(length: int) -> str:
    """``length`` base-62 characters from the OS's random source (5.95 bits each).

    One ``urandom`` call and integer arithmetic: ``secrets.choice`` per character
    cost more than the rest of a redirect."""
    # One spare byte keeps the modulo bias below 2**-8 per character.
    value = int.from_bytes(os.urandom(length + 1), "big")
    chars = []
    for _ in range(length):
        value, digit = divmod(value, _BASE)
        chars.append(ALPHABET[digit])
    return "".join(chars)


class KeyedSigner(Signer):
    """An itsdangerous ``Signer`` that derives each key once, not on every call
    (the redirect signs a device id per new visitor)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._derived: dict[bytes | None, bytes] = {}

    def derive_key(self, secret_key: str | bytes | None = None) -> bytes:
        cache_key = secret_key.encode() if isinstance(secret_key, str) else secret_key
        derived = self._derived.get(cache_key)
        if derived is None:
            derived = self._derived[cache_key] = super().derive_key(secret_key)
        return derived
