"""redirector: affiliate-link redirect and attribution server for content-guide commerce."""

from typing import Any

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    # Lazy: ``redirector serve`` must set PROMETHEUS_MULTIPROC_DIR before
    # prometheus_client is first imported (it picks its storage at import), and
    # importing any submodule runs this file first.
    if name == "create_app":
        from .app import create_app

        return create_app
    raise AttributeError(f"module 'redirector' has no attribute {name!r}")
