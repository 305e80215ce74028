"""Payout endpoints: payouts (JSON, or a bank batch in CSV), marking one paid or
failed, and a guide account's balance. The rules are in ``payouts``; closing a
period makes the payouts (``closing``, through the settlement endpoints)."""

from __future__ import annotations

from typing import Any

from flask import Response
from flask_openapi3 import APIBlueprint, Tag

from .. import payouts
from ..extension import context
from . import payout_schemas as models
from . import schemas
from .auth import ADMIN, BEARER, CREATOR, bearer, caller
from .responses import ok

bp = APIBlueprint("payouts", __name__, url_prefix="/api/v1")
tag = Tag(name="payouts", description="what guide accounts are paid at each close")
ERRORS: dict[Any, Any] = {
    s: schemas.ErrorResponse for s in (400, 401, 403, 404, 409, 413, 422, 429, 503)
}


def _viewer() -> str | None:
    principal = caller()
    return None if principal.is_admin else principal.creator_id


@bp.get(
    "/payouts",
    tags=[tag],
    security=BEARER,
    responses={200: models.PayoutListDocument, **ERRORS},
)
@bearer(ADMIN, CREATOR)
def list_payouts(query: models.PayoutQuery) -> Any:
    """Payouts in the order closes made them: an admin's all, a creator's its own
    account's (none while it is paid through an agency).

    `?format=csv` answers a bank batch: a header row and a row per payout."""
    svc = context()
    found = payouts.payouts_seen_by(
        svc,
        _viewer(),
        period=query.period,
        status=query.status,
        account_id=query.account_id,
    )
    if query.format == "csv":
        name = f"payouts-{query.period}.csv" if query.period else "payouts.csv"
        return Response(
            payouts.to_csv(found, payouts.account_names(svc.store, found)),
            content_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
    return ok({"payouts": found})


@bp.get(
    "/payouts/<payout_id>",
    tags=[tag],
    security=BEARER,
    responses={200: models.Payout, **ERRORS},
)
@bearer(ADMIN, CREATOR)
def get_payout(path: models.PayoutPath) -> Any:
    """One payout (a creator's own only: another's is 404)."""
    return ok(payouts.payout_seen_by(context(), _viewer(), path.payout_id))


@bp.post(
    "/payouts/<payout_id>/paid",
    tags=[tag],
    security=BEARER,
    responses={200: models.Payout, **ERRORS},
)
@bearer(ADMIN)
def mark_paid(path: models.PayoutPath, body: models.PaidBody) -> Any:
    """Mark a pending payout paid, with the transfer's reference; 409 unless pending."""
    return ok(payouts.mark_paid(context(), path.payout_id, body.reference))


@bp.post(
    "/payouts/<payout_id>/failed",
    tags=[tag],
    security=BEARER,
    responses={200: models.Payout, **ERRORS},
)
@bearer(ADMIN)
def mark_failed(path: models.PayoutPath, body: models.FailedBody) -> Any:
    """Mark a pending payout failed, with a reason; 409 unless pending. Its
    amount returns to the account's balance and is paid at a later close."""
    return ok(payouts.mark_failed(context(), path.payout_id, body.reason))


@bp.get(
    "/accounts/<account_id>/balance",
    tags=[tag],
    security=BEARER,
    responses={200: models.Balance, **ERRORS},
)
@bearer(ADMIN, CREATOR)
def get_balance(path: models.AccountPath) -> Any:
    """What a guide account (an agency, or an independent creator) carries into
    the next close; a creator sees its own only."""
    return ok(payouts.balance_seen_by(context(), _viewer(), path.account_id))
