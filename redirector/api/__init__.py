"""The HTTP API: blueprints per area, wired here with one error handler.

Views validate (through the models in ``schemas``), call the domain modules and
render (``responses``); no rule lives here. This module only wires: the views
import nothing from it.
"""

from __future__ import annotations

import time
from typing import Any

from flask import Flask, Response, g, jsonify, request
from flask_limiter import RateLimitExceeded
from werkzeug.exceptions import HTTPException

from .. import metrics
from ..errors import RedirectorError
from ..extension import context_of
from . import (
    intake,
    leaderboard,
    links,
    orders,
    payouts,
    postbacks,
    ratelimit,
    registry,
    review,
    service,
    settlement,
)
from .responses import error_response

__all__ = ["init_app"]


BLUEPRINTS = (registry, orders, settlement, payouts, links, service, leaderboard, review, postbacks)


def init_app(app: Flask) -> None:
    ratelimit.init_app(app, context_of(app).settings)
    app.before_request(_start_timer)
    intake.init_app(app)  # size, credentials, body shape: in that order (``intake``)
    for area in BLUEPRINTS:
        app.register_api(area.bp)  # type: ignore[attr-defined]
    app.register_error_handler(RedirectorError, _domain_error)
    app.register_error_handler(RateLimitExceeded, _too_many)
    app.register_error_handler(HTTPException, _http_error)
    app.after_request(_observe)


def _domain_error(error: RedirectorError) -> tuple[Response, int]:
    return error_response(error)


def _too_many(error: RateLimitExceeded) -> Any:
    seconds = ratelimit.retry_after()
    message = ratelimit.too_many_message(seconds)
    body = {"error": {"code": "too_many_requests", "message": message}}
    return ratelimit.with_retry_after(jsonify(body), seconds), 429


def _http_error(error: HTTPException) -> Any:
    if request.path.startswith("/api/"):
        code = (error.name or "error").lower().replace(" ", "_")
        return jsonify({"error": {"code": code, "message": error.description}}), error.code
    return error


def _start_timer() -> None:
    g.started = time.perf_counter()


def _observe(response: Response) -> Response:
    started = g.get("started")
    if started is not None:
        route = request.url_rule.rule if request.url_rule else "unmatched"
        metrics.REQUEST_SECONDS.labels(route).observe(time.perf_counter() - started)
    return response
