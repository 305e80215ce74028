"""The two baselines the redirect is measured against, under the same gunicorn
settings: a bare Flask app answering 302, and a bare WSGI callable answering 302."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask, redirect

LOCATION = "https://shop.test/p/1?ref=x&rd_click=baseline"

flask_app = Flask(__name__)


@flask_app.get("/r/<token>")
def _redirect(token: str) -> Any:
    return redirect(LOCATION, 302)


def wsgi_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    start_response("302 FOUND", [("Location", LOCATION), ("Content-Length", "0")])
    return []
