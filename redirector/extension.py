"""The Flask extension: where an app keeps its ``Context``, and how a view
fetches it.

Blueprints (``api``, ``console``) import this module, never the app factory,
so the factory can import them without a cycle.
"""

from __future__ import annotations

from flask import Flask, current_app

from .context import Context

__all__ = ["EXTENSION", "context", "context_of", "init_app"]

EXTENSION = "redirector"


def init_app(app: Flask, ctx: Context) -> None:
    app.extensions[EXTENSION] = ctx


def context_of(app: Flask) -> Context:
    ctx: Context = app.extensions[EXTENSION]
    return ctx


def context() -> Context:
    """The running app's context (inside a request or an app context)."""
    return context_of(current_app)
