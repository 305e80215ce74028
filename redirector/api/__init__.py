"""The HTTP API: blueprints per area, one error handler, shared rendering.

Views validate (through the models in ``schemas``), call the domain modules and
render; no rule lives here.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from flask import Flask, Response, g, jsonify, request
from flask_limiter import RateLimitExceeded
from pydantic import ValidationError
from werkzeug.exceptions import HTTPException

from .. import metrics
from ..errors import Busy, RedirectorError, StoreUnavailable
from ..extension import context, context_of
from ..secrets_at_rest import SecretBox, box_for


def iso(ms: int, tz: Any) -> str:
    # Milliseconds kept: a client reading the clock must be able to date an event
    # after a click made in the same second.
    return datetime.fromtimestamp(ms / 1000, tz=tz).isoformat(timespec="milliseconds")


def render_times(value: Any, tz: Any) -> Any:
    """Every ``*_at`` field held as epoch milliseconds becomes RFC 3339 with offset."""
    if isinstance(value, dict):
        return {
            k: (
                iso(v, tz)
                if k.endswith("_at") and isinstance(v, int) and not isinstance(v, bool)
                else render_times(v, tz)
            )
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [render_times(v, tz) for v in value]
    return value


def ok(payload: Any, status: int = 200) -> tuple[Response, int]:

    return jsonify(render_times(payload, context().settings.timezone)), status


def error_response(error: RedirectorError) -> tuple[Response, int]:
    response = jsonify(error.to_json())
    if isinstance(error, StoreUnavailable | Busy):
        response.headers["Retry-After"] = "5"
    return response, error.status


def validation_error(exc: ValidationError) -> Response:
    """422 naming each field; a body that is not JSON at all is 400."""
    errors = exc.errors(include_url=False)
    if any(not e["loc"] and e["type"] in ("model_type", "dict_type") for e in errors):
        if request.get_data() and request.get_json(silent=True) is None:
            error: RedirectorError = _bad_json()
        elif not request.get_data():
            error = _bad_json("a JSON object body is required")
        else:
            error = _bad_json("the body must be a JSON object")
    else:
        from ..errors import InvalidField

        fields = [{"field": _field_name(e["loc"]), "message": e["msg"]} for e in errors]
        error = InvalidField("invalid " + ", ".join(f["field"] for f in fields), fields)
    response, status = error_response(error)
    response.status_code = status
    return response


def _field_name(loc: tuple[int | str, ...]) -> str:
    """``hosts[1]``, ``a.b``: list positions in brackets, as the domain rules name them."""
    name = ""
    for part in loc:
        name += f"[{part}]" if isinstance(part, int) else f".{part}" if name else str(part)
    return name or "body"


def _bad_json(message: str = "the body is not valid JSON") -> RedirectorError:
    from ..errors import BadRequest

    return BadRequest(message)


def secret_box() -> SecretBox:
    """The box that seals and opens storefront secrets, from the configured keys."""

    return box_for(context().settings.secret_keys)


def init_app(app: Flask) -> None:
    from . import leaderboard, links, orders, ratelimit, registry, review, service, settlement

    ratelimit.init_app(app, context_of(app).settings)
    app.register_api(registry.bp)  # type: ignore[attr-defined]
    app.register_api(orders.bp)  # type: ignore[attr-defined]
    app.register_api(settlement.bp)  # type: ignore[attr-defined]
    app.register_api(links.bp)  # type: ignore[attr-defined]
    app.register_api(service.bp)  # type: ignore[attr-defined]
    app.register_api(leaderboard.bp)  # type: ignore[attr-defined]
    app.register_api(review.bp)  # type: ignore[attr-defined]

    @app.errorhandler(RedirectorError)
    def _domain_error(error: RedirectorError) -> tuple[Response, int]:
        return error_response(error)

    @app.errorhandler(RateLimitExceeded)
    def _too_many(error: RateLimitExceeded) -> Any:
        seconds = ratelimit.retry_after()
        message = ratelimit.too_many_message(seconds)
        body = {"error": {"code": "too_many_requests", "message": message}}
        return ratelimit.with_retry_after(jsonify(body), seconds), 429

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException) -> Any:
        if request.path.startswith("/api/"):
            code = (error.name or "error").lower().replace(" ", "_")
            return jsonify({"error": {"code": code, "message": error.description}}), error.code
        return error

    @app.before_request
    def _start_timer() -> None:
        g.started = time.perf_counter()

    @app.before_request
    def _json_string_body() -> None:
        # flask-openapi3 parses a JSON string body as JSON a second time, so a
        # double-encoded body would pass for an object: a body must be an object.
        # Order callbacks are exempt: their signature is checked before the body.
        if (
            request.path.startswith("/api/")
            and request.endpoint != "orders.order_event"
            and isinstance(request.get_json(silent=True), str)
        ):
            raise _bad_json("the body must be a JSON object")

    @app.after_request
    def _observe(response: Response) -> Response:
        started = g.get("started")
        if started is not None:
            route = request.url_rule.rule if request.url_rule else "unmatched"
            metrics.REQUEST_SECONDS.labels(route).observe(time.perf_counter() - started)
        return response
