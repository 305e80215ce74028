"""Postback endpoints (``/api/v1/webhooks``): register, list, remove, rotate the
secret, read the delivery log, send a failed delivery again.

A creator's endpoints carry its own orders' events; an admin's carry
everything, or one agency's creators' (``agency_id``). Each caller sees and
changes its own endpoints (the admin: all); another's answers 404. The rules
are in ``postbacks``.
"""

from __future__ import annotations

from typing import Any

from flask_openapi3 import APIBlueprint, Tag

from .. import postbacks
from ..errors import Forbidden
from ..extension import context
from . import postback_schemas as models
from . import schemas
from .auth import ADMIN, BEARER, CREATOR, bearer, caller
from .responses import ok

bp = APIBlueprint("postbacks", __name__, url_prefix="/api/v1")
tag = Tag(
    name="webhooks",
    description="postbacks: signed events (Standard Webhooks) sent to your endpoints",
)
ERRORS: dict[Any, Any] = {
    s: schemas.ErrorResponse for s in (400, 401, 403, 404, 409, 413, 422, 429, 503)
}


def _viewer() -> str | None:
    """Whose endpoints the caller sees: a creator's own (its id), or all (None)."""
    principal = caller()
    return None if principal.is_admin else principal.creator_id


@bp.post(
    "/webhooks",
    tags=[tag],
    security=BEARER,
    responses={201: models.Webhook, **ERRORS},
)
@bearer(ADMIN, CREATOR)
def register(body: models.WebhookBody) -> Any:
    """Register an endpoint for events. A creator's receives its own orders'
    events; an admin's everything, or one agency's creators' with `agency_id`.
    The answer holds `secret` (`whsec_…`), shown this once."""
    viewer = _viewer()
    if viewer is not None and body.agency_id is not None:
        raise Forbidden("only an admin registers an endpoint for an agency")
    new = postbacks.NewEndpoint(body.url, list(body.events), body.agency_id)
    svc = context()
    endpoint, secret = postbacks.register(svc, viewer, new)
    return ok({**endpoint.to_json(svc.clock.now_ms()), "secret": secret}, 201)


@bp.get("/webhooks", tags=[tag], security=BEARER, responses={200: models.WebhookList, **ERRORS})
@bearer(ADMIN, CREATOR)
def list_webhooks() -> Any:
    """Your endpoints, oldest first (an admin: every one)."""
    svc = context()
    found = postbacks.list_endpoints(svc.store, _viewer())
    return ok({"webhooks": [e.to_json(svc.clock.now_ms()) for e in found]})


@bp.delete(
    "/webhooks/<webhook_id>",
    tags=[tag],
    security=BEARER,
    responses={200: models.Webhook, **ERRORS},
)
@bearer(ADMIN, CREATOR)
def remove(path: models.WebhookPath) -> Any:
    """Remove an endpoint: nothing more is sent to it, and its log goes too."""
    svc = context()
    removed = postbacks.delete(svc.store, path.webhook_id, _viewer())
    return ok(removed.to_json(svc.clock.now_ms()))


@bp.post(
    "/webhooks/<webhook_id>/secret",
    tags=[tag],
    security=BEARER,
    responses={200: models.WebhookSecret, **ERRORS},
)
@bearer(ADMIN, CREATOR)
def rotate_secret(path: models.WebhookPath, body: schemas.SecretRotationBody) -> Any:
    """Rotate the endpoint's secret: the new one is answered once; until
    `previous_secret_expires_at` every message carries both signatures."""
    secret, until = postbacks.rotate_secret(
        context(), path.webhook_id, _viewer(), body.grace_seconds
    )
    return ok({"secret": secret, "previous_secret_expires_at": until})


@bp.get(
    "/webhooks/<webhook_id>/deliveries",
    tags=[tag],
    security=BEARER,
    responses={200: models.DeliveryList, **ERRORS},
)
@bearer(ADMIN, CREATOR)
def deliveries(path: models.WebhookPath, query: models.DeliveryQuery) -> Any:
    """The endpoint's delivery log, newest first: each event's state, its
    attempts (status codes, errors) and when the next one is due."""
    store = context().store
    postbacks.get(store, path.webhook_id, _viewer())
    found, cursor = postbacks.log(store, path.webhook_id, query.limit, query.cursor)
    return ok({"deliveries": [d.to_json() for d in found], "next_cursor": cursor})


@bp.post(
    "/webhooks/<webhook_id>/deliveries/<delivery_id>/retry",
    tags=[tag],
    security=BEARER,
    responses={200: models.Delivery, **ERRORS},
)
@bearer(ADMIN, CREATOR)
def retry(path: models.DeliveryPath) -> Any:
    """Send a failed delivery again, before anything waiting, with the whole
    retry schedule ahead of it (409 unless it failed)."""
    svc = context()
    postbacks.get(svc.store, path.webhook_id, _viewer())
    again = postbacks.retry_by_hand(
        svc.store, path.webhook_id, path.delivery_id, svc.clock.now_ms()
    )
    return ok(again.to_json())
