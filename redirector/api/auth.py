"""Who is calling: the admin (``REDIRECTOR_ADMIN_TOKEN``) or a creator (API key).

Missing or unknown credentials are 401; a known caller without the right role
is 403. Secrets are compared in constant time.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from flask import request

from .. import registry
from ..errors import Forbidden, Unauthorized
from ..extension import context

ADMIN = "admin"
CREATOR = "creator"
BEARER: list[dict[str, list[str]]] = [{"bearer": []}]


@dataclass(frozen=True)
class Principal:
    role: str
    creator_id: str | None = None

    @property
    def is_admin(self) -> bool:
        return self.role == ADMIN


def _bearer() -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("send 'Authorization: Bearer <admin token or creator API key>'")
    return token.strip()


def require(*roles: str) -> Principal:
    """The caller, if it holds one of ``roles``; else 401 or 403."""

    token = _bearer()
    svc = context()
    if hmac.compare_digest(token.encode(), svc.settings.admin_token.encode()):
        principal = Principal(ADMIN)
    else:
        creator_id = registry.creator_for_api_key(svc.store, token)
        if creator_id is None:
            raise Unauthorized("the bearer token is not a valid admin token or API key")
        principal = Principal(CREATOR, creator_id)
    if principal.role not in roles:
        raise Forbidden(f"this needs the {' or '.join(roles)} role; you are {principal.role}")
    return principal
