"""Limits on failed authentication (flask-limiter), per client address.

Two limits, each ``REDIRECTOR_AUTH_FAILURE_LIMIT`` (default 20 a minute, moving
window):

- ``auth``: per client, shared by every API view that takes a bearer token
  (those marked ``auth.bearer``) and the console's sign-in form (alternating
  between them buys no extra guesses);
- ``callback``: per storefront and client, on order callbacks whose signature
  does not verify.

Only failures count (answers 401); a request that authenticates costs nothing.
Before its credential is looked at, a request from a client over its limit is
answered 429 with ``Retry-After``, whatever it carries, so guesses made while
limited learn nothing; the limit lifts as its oldest failure leaves the
window. The client is ``proxies.client_ip`` (X-Forwarded-For only behind
``REDIRECTOR_TRUSTED_PROXIES``).

The counts live in the service's store, so every worker and instance shares
them: ``redis://`` for ``REDIS_URL``, ``redis+cluster://`` for
``REDIS_CLUSTER_URL``, and process memory (``memory://``) with the embedded
store, which is one process anyway. A limiter that cannot reach its store lets
the request through (logged); the request then meets the store itself.
"""

from __future__ import annotations

import logging
import math
import time
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from flask import Flask, Response, current_app, request
from flask.wrappers import Response as FlaskResponse
from flask_limiter import Limit, Limiter

from .. import keys
from ..config import Settings
from ..extension import context
from ..proxies import client_ip
from .auth import takes_token

log = logging.getLogger("redirector")

AUTH_SCOPE = "auth"
CALLBACK_SCOPE = "callback"
CALLBACK_ENDPOINT = "orders.order_event"
SIGN_IN_ENDPOINT = "console.sign_in"
EXTENSION = "redirector.limiter"
UNKNOWN_CLIENT = "unknown"


def storage(settings: Settings) -> tuple[str, dict[str, Any]]:
    """The limiter's storage URL and options, from the store the service runs on."""
    options: dict[str, Any] = {
        "key_prefix": f"{keys.PREFIX}:limits",
        "wrap_exceptions": True,
    }
    if settings.redis_cluster_url:
        parts = urlsplit(settings.redis_cluster_url)
        if parts.scheme == "rediss":
            options["ssl"] = True
        url = urlunsplit(("redis+cluster", parts.netloc, "", "", ""))
        return url, {**options, "socket_timeout": 5, "socket_connect_timeout": 1}
    if settings.redis_url:
        url = settings.redis_url
        if url.startswith("unix:"):
            url = "redis+" + url
        return url, {**options, "socket_timeout": 5, "socket_connect_timeout": 1}
    return "memory://", {}


def client_address() -> str:
    """The client, by ``proxies.client_ip``; peers without an address (a unix
    socket, some test clients) are all one client, ``unknown``, rather than none."""

    address = client_ip(
        request.remote_addr,
        request.headers.get("X-Forwarded-For"),
        context().settings.trusted_proxies,
    )
    return address or UNKNOWN_CLIENT


def _callback_key() -> str:
    storefront_id = (request.view_args or {}).get("storefront_id", "")
    return f"{storefront_id}|{client_address()}"


def _authenticates() -> bool:
    """Whether this request's credential is checked against the ``auth`` limit."""
    if request.endpoint == SIGN_IN_ENDPOINT:
        return request.method == "POST"
    return takes_token()


def _failed(response: FlaskResponse) -> bool:
    return response.status_code == 401


def init_app(app: Flask, settings: Settings) -> Limiter:
    url, options = storage(settings)
    limiter = Limiter(
        key_func=client_address,
        default_limits=[
            Limit(
                settings.auth_failure_limit,
                scope=AUTH_SCOPE,
                shared=True,
                exempt_when=lambda: not _authenticates(),
                deduct_when=_failed,
            ),
            Limit(
                settings.auth_failure_limit,
                key_function=_callback_key,
                scope=CALLBACK_SCOPE,
                shared=True,
                exempt_when=lambda: request.endpoint != CALLBACK_ENDPOINT,
                deduct_when=_failed,
            ),
        ],
        strategy="moving-window",
        storage_uri=url,
        storage_options=options,
        swallow_errors=True,
        headers_enabled=False,
    )
    limiter.init_app(app)
    app.extensions[EXTENSION] = limiter
    if url == "memory://":
        log.info("failed-authentication counts are kept in process memory (embedded store)")
    return limiter


def retry_after() -> int:
    """Seconds until the limit that refused this request lets one more through."""
    limiter: Limiter = current_app.extensions[EXTENSION]
    current = limiter.current_limit
    if current is None:
        return 60
    window = current.limit.get_expiry()
    try:
        reset_at = current.window.reset_time
    except Exception:  # the store went away since the check: the whole window will do
        return window
    return min(window, max(1, math.ceil(reset_at - time.time())))


def too_many_message(seconds: int) -> str:
    return (
        f"too many failed authentication attempts from this address; retry in {seconds} s"
        if request.endpoint != CALLBACK_ENDPOINT
        else f"too many callbacks with a bad signature from this address; retry in {seconds} s"
    )


def with_retry_after(response: Response, seconds: int) -> Response:
    response.headers["Retry-After"] = str(seconds)
    return response
