"""Server-made identifiers: short, URL-safe, unguessable."""

from __future__ import annotations

import secrets
import string

ALPHABET = string.ascii_letters + string.digits


def random_id(length: int) -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(length))
