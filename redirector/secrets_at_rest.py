"""Secrets the service must read back, kept encrypted in the store.

A storefront's signing secret cannot be hashed like an API key: every callback
is verified with it. So it is sealed with Fernet (AES-128-CBC and
HMAC-SHA256, authenticated) under keys derived from ``REDIRECTOR_SECRET_KEYS``:
one key per configured secret key, by HKDF-SHA256 with a purpose label of its
own, so a sealing key is never a link-signing key. The newest key seals, every
key opens (``MultiFernet``): rotating the secret keys keeps old records readable
as long as the old key stays in the list, as link tokens already need.

Someone who reads the store (a dump, a replica, a backup) learns no secret
without the service's configuration as well.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

PURPOSE = b"redirector.secrets-at-rest.v1"


class SecretUnreadable(Exception):
    """A sealed secret that none of the configured keys opens (a key dropped from
    ``REDIRECTOR_SECRET_KEYS`` too soon, or a record that was tampered with)."""


def sealing_key(secret_key: str) -> bytes:
    """The Fernet key derived from one of the service's secret keys."""
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=PURPOSE).derive(
        secret_key.encode()
    )
    return base64.urlsafe_b64encode(derived)


class SecretBox:
    """Seal and open short secrets; ``secret_keys`` newest first, as configured."""

    def __init__(self, secret_keys: Sequence[str]) -> None:
        if not secret_keys:
            raise ValueError("at least one secret key is needed to seal secrets")
        self._fernet = MultiFernet([Fernet(sealing_key(k)) for k in secret_keys])

    def seal(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode()).decode("ascii")

    def open(self, sealed: str) -> str:
        try:
            return self._fernet.decrypt(sealed.encode("ascii")).decode()
        except (InvalidToken, UnicodeError) as exc:
            raise SecretUnreadable("no configured secret key opens this record") from exc

    def reseal(self, sealed: str) -> str:
        """The same secret sealed under the newest key."""
        try:
            return self._fernet.rotate(sealed.encode("ascii")).decode("ascii")
        except (InvalidToken, UnicodeError) as exc:
            raise SecretUnreadable("no configured secret key opens this record") from exc


@lru_cache(maxsize=8)
def box_for(secret_keys: tuple[str, ...]) -> SecretBox:
    """One box per set of keys, made once per process."""
    return SecretBox(secret_keys)
