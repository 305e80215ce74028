"""What every API view shares: rendering answers and validation errors.

Times are kept as epoch milliseconds and rendered here, once, as RFC 3339 in
the service's zone (``clock.render_times``); a domain error becomes its status
and JSON body here; a body that fails its model becomes 422 naming each field
(400 when it is not a JSON object at all).
"""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify, request
from pydantic import ValidationError

from ..clock import iso, render_times
from ..errors import (
    BadRequest,
    Busy,
    InvalidField,
    RedirectorError,
    StoreUnavailable,
    TooManyRequests,
)
from ..extension import context
from ..secrets_at_rest import SecretBox, box_for

__all__ = [
    "bad_json",
    "error_response",
    "iso",
    "ok",
    "render_times",
    "secret_box",
    "validation_error",
]


def ok(payload: Any, status: int = 200) -> tuple[Response, int]:
    return jsonify(render_times(payload, context().settings.timezone)), status


def error_response(error: RedirectorError) -> tuple[Response, int]:
    response = jsonify(error.to_json())
    if isinstance(error, StoreUnavailable | Busy):
        response.headers["Retry-After"] = "5"
    elif isinstance(error, TooManyRequests):
        response.headers["Retry-After"] = str(error.retry_after)
    return response, error.status


def validation_error(exc: ValidationError) -> Response:
    """422 naming each field; a body that is not JSON at all is 400."""
    errors = exc.errors(include_url=False)
    if any(not e["loc"] and e["type"] in ("model_type", "dict_type") for e in errors):
        if request.get_data() and request.get_json(silent=True) is None:
            error: RedirectorError = bad_json()
        elif not request.get_data():
            error = bad_json("a JSON object body is required")
        else:
            error = bad_json("the body must be a JSON object")
    else:
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


def bad_json(message: str = "the body is not valid JSON") -> RedirectorError:
    return BadRequest(message)


def secret_box() -> SecretBox:
    """The box that seals and opens storefront secrets, from the configured keys."""
    return box_for(context().settings.secret_keys)
