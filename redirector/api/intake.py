"""What the API looks at of a request, in which order, before a view runs.

1. the failed-authentication limit (``ratelimit``, flask-limiter's own hook): 429;
2. the body's size by its ``Content-Length``, nothing read yet (``refuse_oversized``):
   413. It comes before the credentials because it reads nothing and says
   nothing about them; a client without a token learns only the limit;
3. the credentials of a view that takes a token (``auth.authenticate``): 401, 403;
4. the body of a view that takes one (``read_body``): read at most one byte past
   the limit (a chunked body has no ``Content-Length``), 413; then its shape,
   before any parser sees it: UTF-8, no deeper than ``bodies.MAX_JSON_DEPTH``,
   an object and not a JSON string, 400;
5. the view: its path, query and body models (422), then the domain.

The order callback authenticates by its signature, which covers the body: its
body is read (step 4, at most ``bodies.MAX_CALLBACK_BODY``) and verified in the
view, and only then checked for shape and parsed (``bodies.check_json`` there).
``api.init_app`` registers these hooks in this order.
"""

from __future__ import annotations

import inspect
from functools import lru_cache
from typing import Any

from flask import Flask, current_app, request

from .. import bodies
from .auth import authenticate
from .ratelimit import CALLBACK_ENDPOINT
from .responses import bad_json

__all__ = ["init_app", "limit", "read_body", "refuse_oversized"]

API_PREFIX = "/api/"


def init_app(app: Flask) -> None:
    """Every hook after flask-limiter's, in the order above."""
    if app.config.get("MAX_CONTENT_LENGTH") is None:  # the console's forms, and any other path
        app.config["MAX_CONTENT_LENGTH"] = bodies.MAX_API_BODY
    app.before_request(refuse_oversized)
    app.before_request(authenticate)
    app.before_request(read_body)


def limit() -> int:
    """The most a body of this request may hold."""
    if request.endpoint == CALLBACK_ENDPOINT:
        return bodies.MAX_CALLBACK_BODY
    return bodies.MAX_API_BODY


def refuse_oversized() -> None:
    if request.path.startswith(API_PREFIX):
        bodies.check_size(request.content_length, limit())


def read_body() -> None:
    if not request.path.startswith(API_PREFIX) or not _reads_body():
        return
    # One byte past the limit tells a body over it from one that fills it.
    request.max_content_length = limit() + 1
    data = request.get_data(cache=True)
    bodies.check_size(len(data), limit())
    if request.endpoint == CALLBACK_ENDPOINT or not data or not request.is_json:
        return  # the callback's shape is checked once its signature is
    bodies.check_json(data)
    # flask-openapi3 parses a JSON string body as JSON a second time, so a
    # double-encoded body would pass for an object: a body must be an object.
    if isinstance(request.get_json(silent=True), str):
        raise bad_json("the body must be a JSON object")


def _reads_body() -> bool:
    """Whether this request's view reads its body: the callback, and the views
    whose validated arguments include a ``body`` model."""
    if request.endpoint == CALLBACK_ENDPOINT:
        return True
    view = current_app.view_functions.get(request.endpoint or "")
    return view is not None and _takes_body(view)


@lru_cache(maxsize=256)
def _takes_body(view: Any) -> bool:
    return "body" in inspect.signature(view).parameters
