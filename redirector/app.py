"""The application factory."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from flask_openapi3 import Info, OpenAPI

from . import api, console, extension
from . import store as store_module
from .api import schemas
from .api.responses import validation_error
from .clock import Clock, MockClock
from .config import Settings
from .context import Context
from .devices import DeviceIds
from .links import LinkSigner
from .redirect import Redirector

log = logging.getLogger("redirector")


def create_app(
    settings: Settings | None = None,
    *,
    store: Any = None,
    test_config: Mapping[str, Any] | None = None,
) -> OpenAPI:
    """Build the app: settings from the environment unless given, the store they
    name unless one is given (tests pass fakeredis or a flushed Redis)."""
    settings = settings or Settings.from_env()
    # Either way, a store away raises StoreUnavailable (``store.wrap``).
    client = store_module.wrap(store) if store is not None else store_module.connect(settings)
    clock: Clock = MockClock(client) if settings.clock == "mock" else Clock()

    app = OpenAPI(
        __name__,
        info=Info(
            title="redirector",
            version="1",
            description=(
                "Affiliate-link redirect and attribution server for content-guide commerce. "
                "Money is in integer minor units (fen); times are RFC 3339 with offset."
            ),
        ),
        security_schemes={
            "bearer": {
                "type": "http",
                "scheme": "bearer",
                "description": "the admin token or a creator's API key",
            }
        },
        doc_prefix="/openapi",
        validation_error_status=422,
        validation_error_model=schemas.ErrorResponse,
        validation_error_callback=validation_error,
    )
    app.config.update(JSON_SORT_KEYS=False)
    if test_config:
        app.config.update(test_config)
    app.json.sort_keys = False  # type: ignore[attr-defined]

    ctx = Context(
        settings=settings,
        store=client,
        clock=clock,
        link_signer=LinkSigner(settings.secret_keys),
        devices=DeviceIds(settings.secret_keys),
    )
    extension.init_app(app, ctx)

    api.init_app(app)
    console.init_app(app)
    app.wsgi_app = Redirector(app.wsgi_app, ctx)  # type: ignore[method-assign]
    return app
