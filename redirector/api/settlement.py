"""Settlement endpoints: statements (JSON and CSV), closing, ad spend, creator earnings."""

from __future__ import annotations

from typing import Any

from flask import Response
from flask_openapi3 import APIBlueprint, Tag

from .. import closing, earnings, settlement
from ..extension import context
from . import payout_schemas, schemas
from .auth import ADMIN, BEARER, CREATOR, bearer, caller
from .responses import ok

bp = APIBlueprint("settlement", __name__, url_prefix="/api/v1")
tag = Tag(name="settlement")
ERRORS: dict[Any, Any] = {
    s: schemas.ErrorResponse for s in (400, 401, 403, 404, 409, 413, 422, 429, 503)
}


def _period(text: str) -> Any:
    svc = context()
    return settlement.parse_period(text, svc.clock.now(), svc.settings.timezone)


@bp.get(
    "/settlements/<period>",
    tags=[tag],
    security=BEARER,
    responses={200: schemas.StatementDocument, **ERRORS},
)
@bearer(ADMIN)
def get_statement(path: schemas.PeriodPath, query: schemas.StatementQuery) -> Any:
    """A period's statement: lines per guide account and channel, split three ways.

    `?format=csv` answers CSV with a header row and a labelled totals row."""
    doc = settlement.statement(context(), _period(path.period))
    if query.format == "csv":
        return Response(
            settlement.to_csv(doc),
            content_type="text/csv; charset=utf-8",
            headers={
                "Content-Disposition": f'attachment; filename="statement-{doc["period"]}.csv"'
            },
        )
    return ok(doc)


@bp.post(
    "/settlements/<period>/close",
    tags=[tag],
    security=BEARER,
    responses={200: schemas.Statement, **ERRORS},
)
@bearer(ADMIN)
def close_period(path: schemas.PeriodPath) -> Any:
    """Close an ended period: its statement is frozen from now on, and each guide
    account whose payable plus balance reaches the minimum payout gets a payout."""
    return ok(closing.close(context(), _period(path.period)))


@bp.put(
    "/ad-spend/<period>/<account_id>",
    tags=[tag],
    security=BEARER,
    responses={200: schemas.AdSpend, **ERRORS},
)
@bearer(ADMIN)
def put_ad_spend(path: schemas.AdSpendPath, body: schemas.AdSpendBody) -> Any:
    """Record a guide account's ad spend for a period (replaces the figure).

    It offsets the platform share of the account's lines."""
    return ok(
        settlement.put_ad_spend(context(), _period(path.period), path.account_id, body.amount)
    )


@bp.get(
    "/creators/<creator_id>/earnings",
    tags=[tag],
    security=BEARER,
    responses={200: payout_schemas.CreatorEarnings, **ERRORS},
)
@bearer(ADMIN, CREATOR)
def creator_earnings(path: schemas.CreatorPath, query: schemas.EarningsQuery) -> Any:
    """A creator's own part of a period's statement (that creator or an admin);
    an independent creator's adds `guide_payable` and the period's `payouts`."""
    principal = caller()
    viewer = None if principal.is_admin else principal.creator_id
    return ok(earnings.earnings_seen_by(context(), viewer, path.creator_id, query.period))
