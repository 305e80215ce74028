"""Order callbacks from storefronts, order lookup, secret rotation, and the mock clock."""

from __future__ import annotations

import json
from typing import Any

from flask import Response, request
from flask_openapi3 import APIBlueprint, Tag
from pydantic import ValidationError

from .. import bodies, orders, registry, webhooks
from ..clock import MockClock, ms_from_datetime, utc_from_ms
from ..errors import BadRequest, InvalidField, NotFound, Unauthorized
from ..extension import context
from . import list_schemas, schemas
from .auth import ADMIN, BEARER, CREATOR, bearer, caller
from .responses import iso, ok, secret_box, validation_error

bp = APIBlueprint("orders", __name__, url_prefix="/api/v1")
tag = Tag(name="orders")
clock_tag = Tag(name="clock")
ERRORS: dict[Any, Any] = {
    s: schemas.ErrorResponse for s in (400, 401, 403, 404, 409, 413, 422, 429, 503)
}
SIGNED_BODY = {
    "requestBody": {
        "required": True,
        "description": (
            "Signed per Standard Webhooks: headers webhook-id, webhook-timestamp (Unix s) and "
            "webhook-signature (v1,<base64 HMAC-SHA256 of '{id}.{timestamp}.{body}'>)."
        ),
        "content": {
            "application/json": {
                "schema": schemas.OrderEventBody.model_json_schema(),
                "example": schemas.ORDER_EVENT_EXAMPLE,
            }
        },
    },
    "parameters": [
        {"name": h, "in": "header", "required": True, "schema": {"type": "string"}}
        for h in ("webhook-id", "webhook-timestamp", "webhook-signature")
    ],
}


@bp.post(
    "/storefronts/<storefront_id>/orders",
    tags=[tag],
    responses={200: schemas.OrderEventResult, **ERRORS},
    openapi_extensions=SIGNED_BODY,
)
def order_event(path: schemas.StorefrontPath) -> Any:
    """An order event from a storefront. Applied exactly once per `webhook-id`: a
    replay answers the first response again (header `Webhook-Replayed: true`)."""
    svc = context()
    now = svc.clock.now()
    try:
        secrets = registry.valid_signing_secrets(
            svc.store, path.storefront_id, ms_from_datetime(now), secret_box()
        )
    except NotFound:
        raise NotFound(f"storefront {path.storefront_id!r} not found") from None
    body = request.get_data()
    try:
        webhook_id = webhooks.verify(secrets, request.headers, body, now)
    except webhooks.WebhookError as exc:
        raise Unauthorized(str(exc), reason=exc.reason) from None
    bodies.check_json(body)  # signed, now its shape: UTF-8, not too deep to parse
    try:
        payload = json.loads(body, object_pairs_hook=_unique_keys)
    except RepeatedKey as exc:
        raise BadRequest(f"the body repeats the key {exc.key!r}") from None
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("the body is not valid JSON") from None
    if not isinstance(payload, dict):
        raise BadRequest("the body must be a JSON object")
    try:
        data = schemas.OrderEventBody.model_validate(payload)
    except ValidationError as exc:
        return validation_error(exc)
    event = orders.OrderEvent(
        webhook_id=webhook_id,
        order_id=data.order_id,
        status=data.status,
        amount=data.amount,
        currency=data.currency,
        occurred_ms=orders.parse_time(data.occurred_at),
        received_ms=ms_from_datetime(now),
        refunded_amount=data.refunded_amount,
        click_id=data.click_id,
        device_id=data.device_id,
    )
    response, replayed = orders.receive(svc, path.storefront_id, event)
    answer, status = ok(response)
    if replayed:
        answer.headers["Webhook-Replayed"] = "true"
    return answer, status


class RepeatedKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object, refused when a key repeats: parsers disagree on which one
    wins, so a storefront and this service could read two different orders."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise RepeatedKey(key)
        out[key] = value
    return out


@bp.get(
    "/orders",
    tags=[tag],
    security=BEARER,
    responses={200: list_schemas.OrderList, **ERRORS},
)
@bearer(ADMIN, CREATOR)
def list_orders(query: list_schemas.OrderListQuery) -> Any:
    """Orders, newest paid first, filtered by status, creator, storefront and the
    month of `paid_at` (`period`), paged by cursor: an admin sees every order, a
    creator those attributed to it (another creator's `creator_id` is 403). A page
    reads a bounded stretch of its index: it may come back short, with a
    `next_cursor` to go on. `?format=csv` streams every matching order instead."""
    principal = caller()
    svc = context()
    asked = orders.listing.query_seen_by(
        None if principal.is_admin else principal.creator_id,
        status=query.status,
        creator_id=query.creator_id,
        storefront_id=query.storefront_id,
        period=query.period,
    )
    if query.format == "json":
        return ok(orders.listing.listed(svc, asked, query.cursor, query.limit))
    paged = sorted({"cursor", "limit"} & query.model_fields_set)
    if paged:
        raise InvalidField.one(paged[0], "a CSV export lists every matching order: no paging")
    lines = orders.listing.csv_lines(orders.listing.every(svc, asked), svc.settings.timezone)
    return Response(
        lines,
        content_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="orders.csv"'},
    )


@bp.get(
    "/orders/<storefront_id>/<order_id>",
    tags=[tag],
    security=BEARER,
    responses={200: schemas.OrderRecord, **ERRORS},
)
@bearer(ADMIN)
def get_order(path: schemas.OrderPath) -> Any:
    """An order with its attribution, commission and history of events."""
    return ok(orders.get_order(context().store, path.storefront_id, path.order_id))


@bp.post(
    "/storefronts/<storefront_id>/signing-secret",
    tags=[tag],
    security=BEARER,
    responses={200: schemas.SecretRotation, **ERRORS},
)
@bearer(ADMIN)
def rotate_signing_secret(path: schemas.StorefrontPath, body: schemas.SecretRotationBody) -> Any:
    """Rotate a storefront's signing secret: the new one is answered once; the
    previous ones keep verifying for `grace_seconds`."""
    svc = context()
    secret, until = registry.rotate_signing_secret(
        svc.store, path.storefront_id, body.grace_seconds, svc.clock.now_ms(), secret_box()
    )
    # Not an ``*_at`` field, so ``ok`` would leave it in epoch ms: render it here.
    until_text = iso(until, svc.settings.timezone)
    return ok({"signing_secret": secret, "previous_valid_until": until_text})


def _mock_clock() -> MockClock:
    clock = context().clock
    if not isinstance(clock, MockClock):
        raise NotFound("the clock is real: set REDIRECTOR_CLOCK=mock to set it")
    return clock


@bp.get("/clock", tags=[clock_tag], security=BEARER, responses={200: schemas.ClockState, **ERRORS})
@bearer(ADMIN)
def get_clock() -> Any:
    """The mock clock's time (404 unless REDIRECTOR_CLOCK=mock)."""
    clock = _mock_clock()
    return _clock_answer(clock.now_ms())


@bp.put("/clock", tags=[clock_tag], security=BEARER, responses={200: schemas.ClockState, **ERRORS})
@bearer(ADMIN)
def set_clock(body: schemas.ClockBody) -> Any:
    """Set the mock clock; it stands still there, for every worker."""
    clock = _mock_clock()
    moment = utc_from_ms(orders.parse_time(body.now, "now"))
    return _clock_answer(ms_from_datetime(clock.set(moment)))


def _clock_answer(now_ms: int) -> Any:
    return ok({"now": iso(now_ms, context().settings.timezone)})
