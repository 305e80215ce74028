"""redirector: affiliate-link redirect and attribution server for content-guide commerce."""

from .app import create_app

__all__ = ["create_app"]
