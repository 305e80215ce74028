"""Review of held orders (click fraud): list them, release or reject one. Admin only.

The rules are in ``orders`` (``review``, ``plan``); ``fraud`` says which orders
are held and why.
"""

from __future__ import annotations

from typing import Any

from flask_openapi3 import APIBlueprint, Tag

from .. import orders
from ..extension import context
from . import schemas
from .auth import ADMIN, BEARER, bearer
from .responses import ok

bp = APIBlueprint("review", __name__, url_prefix="/api/v1")
tag = Tag(name="review", description="orders held for review: flagged clicks, instant orders")
ERRORS: dict[Any, Any] = {
    s: schemas.ErrorResponse for s in (400, 401, 403, 404, 409, 413, 422, 429, 503)
}


def held_entry(order: dict[str, Any]) -> dict[str, Any]:
    """A held order as the list shows it."""
    return {
        "storefront_id": order["storefront_id"],
        "order_id": order["order_id"],
        "status": order["status"],
        "reason": order["review"]["reason"] if order["review"] else None,
        "amount": order["amount"],
        "refunded_amount": order["refunded_amount"],
        "commission": order["commission"],
        "paid_at": order["paid_at"],
        "attributed": order["attributed"],
    }


@bp.get(
    "/review/orders",
    tags=[tag],
    security=BEARER,
    responses={200: schemas.HeldOrderList, **ERRORS},
)
@bearer(ADMIN)
def list_held(query: schemas.ReviewQuery) -> Any:
    """Orders held for review, oldest first: they settle only once released."""
    return ok({"orders": [held_entry(o) for o in orders.held_orders(context().store)]})


@bp.post(
    "/orders/<storefront_id>/<order_id>/release",
    tags=[tag],
    security=BEARER,
    responses={200: schemas.OrderRecord, **ERRORS},
)
@bearer(ADMIN)
def release(path: schemas.OrderPath) -> Any:
    """Release a held order: it settles now if confirmed (in the first open period
    not before its own), else when it is. 409 unless held."""
    return ok(orders.review(context(), path.storefront_id, path.order_id, orders.RELEASE))


@bp.post(
    "/orders/<storefront_id>/<order_id>/reject",
    tags=[tag],
    security=BEARER,
    responses={200: schemas.OrderRecord, **ERRORS},
)
@bearer(ADMIN)
def reject(path: schemas.OrderPath) -> Any:
    """Reject a held order: it earns nothing, leaves its link's figures and never
    settles. 409 unless held."""
    return ok(orders.review(context(), path.storefront_id, path.order_id, orders.REJECT))
