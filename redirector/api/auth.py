"""Who is calling: the admin (``REDIRECTOR_ADMIN_TOKEN``) or a creator (API key).

Missing or unknown credentials are 401; a known caller without the right role
is 403. Secrets are compared in constant time.

A view that takes a token says who may call it with ``@bearer(roles...)``;
``authenticate`` (run before every view) checks the credential of such a
request before anything else about it is looked at (path, query, body), so a
client without a valid token learns nothing but 401, and every 401 counts
against its failed-authentication limit (``ratelimit``). The view reads the
caller with ``caller()``.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from flask import current_app, g, request

from .. import registry
from ..errors import Forbidden, Unauthorized
from ..extension import context

ADMIN = "admin"
CREATOR = "creator"
BEARER: list[dict[str, list[str]]] = [{"bearer": []}]
ROLES_ATTRIBUTE = "bearer_roles"
View = TypeVar("View", bound=Callable[..., Any])


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


def bearer(*roles: str) -> Callable[[View], View]:
    """Mark a view as taking a bearer token of one of ``roles`` (checked by
    ``authenticate``). The mark is an attribute, so it survives the wrappers
    flask-openapi3 puts around the view (``functools.wraps`` copies it)."""

    def mark(view: View) -> View:
        setattr(view, ROLES_ATTRIBUTE, roles)
        return view

    return mark


def roles_of(view: Any) -> tuple[str, ...] | None:
    """The roles a view takes a token of, or None when it takes none."""
    roles: tuple[str, ...] | None = getattr(view, ROLES_ATTRIBUTE, None)
    return roles


def takes_token() -> bool:
    """Whether this request's view takes a bearer token."""
    return roles_of(current_app.view_functions.get(request.endpoint or "")) is not None


def authenticate() -> None:
    """Before every view: for a view that takes a token, who the caller is (401,
    403), kept on ``g`` for ``caller``."""
    roles = roles_of(current_app.view_functions.get(request.endpoint or ""))
    if roles is not None and request.method != "OPTIONS":  # Flask answers those itself
        g.principal = require(*roles)


def caller() -> Principal:
    """The caller of a view marked ``@bearer``, as ``authenticate`` found it."""
    principal: Principal = g.principal
    return principal


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
