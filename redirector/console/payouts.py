"""Payout pages: the admin's payouts per period, marked paid (a reference) or
failed (a reason) with forms, and the balances carried; an independent
creator's own payouts and balance.

The rules are in ``payouts``; these pages call the same functions as the API
(``payouts_seen_by``, ``mark_paid``, ``mark_failed``, ``balance_seen_by``), and
each form carries its CSRF token, as closing a statement does.
"""

from __future__ import annotations

from typing import Any

from flask import Response, flash, g, redirect, request, url_for

from .. import payouts, registry, settlement
from ..errors import Conflict, InvalidField, NotFound
from ..extension import context
from ..periods import period_of
from . import figures, i18n
from .auth import ADMIN, CREATOR, requires
from .views import bp, page

PERIODS_SHOWN = 13


def _t(key: str, **values: Any) -> str:
    return i18n.translate(key, g.lang, **values)


def _periods() -> tuple[str, list[str]]:
    """The period shown by default (the last one that can have closed) and the
    periods to choose from, newest first."""
    svc = context()
    current = period_of(svc.clock.now(), svc.settings.timezone)
    shown = [str(p) for p in figures.recent_periods(current, PERIODS_SHOWN)][::-1]
    return str(current.previous()), shown


@bp.get("/console/admin/payouts")
@requires(ADMIN)
def payout_list() -> Any:
    svc = context()
    default, periods = _periods()
    period = request.args.get("period") or default
    items = payouts.payouts_seen_by(svc, None, period=period)
    statement = settlement.statement(
        svc, settlement.parse_period(period, svc.clock.now(), svc.settings.timezone)
    )
    totals = {
        status: sum(p["amount"] for p in items if p["status"] == status)
        for status in payouts.STATUSES
    }
    return page(
        "payouts.html",
        period=period,
        periods=periods,
        period_status=statement["status"],
        items=items,
        names=payouts.account_names(svc.store, items),
        totals=totals,
        balances=payouts.balances(svc.store),
        minimum=svc.settings.min_payout,
    )


@bp.get("/console/admin/payouts/csv")
@requires(ADMIN)
def payout_csv() -> Any:
    """The bank batch, the same document as the API's ``?format=csv``."""
    svc = context()
    period = request.args.get("period") or _periods()[0]
    items = payouts.payouts_seen_by(svc, None, period=period)
    return Response(
        payouts.to_csv(items, payouts.account_names(svc.store, items)),
        content_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="payouts-{period}.csv"'},
    )


def _mark(payout_id: str, outcome: str) -> Any:
    svc = context()
    field = "reference" if outcome == payouts.PAID else "reason"
    mark = payouts.mark_paid if outcome == payouts.PAID else payouts.mark_failed
    try:
        doc = mark(svc, payout_id, request.form.get(field, ""))
    except (Conflict, InvalidField) as exc:
        flash(str(exc), "error")
        period = payouts.get_payout(svc.store, payout_id)["period"]
    else:
        flash(_t(f"payouts.marked_{outcome}", id=payout_id), "info")
        period = doc["period"]
    return redirect(url_for("console.payout_list", period=period) + f"#payout-{payout_id}")


@bp.post("/console/admin/payouts/<payout_id>/paid")
@requires(ADMIN)
def mark_payout_paid(payout_id: str) -> Any:
    return _mark(payout_id, payouts.PAID)


@bp.post("/console/admin/payouts/<payout_id>/failed")
@requires(ADMIN)
def mark_payout_failed(payout_id: str) -> Any:
    return _mark(payout_id, payouts.FAILED)


@bp.get("/console/me/payouts")
@requires(CREATOR)
def my_payouts() -> Any:
    svc = context()
    me = g.viewer.creator_id
    creator = registry.get_creator(svc.store, me)
    try:
        balance: dict[str, Any] | None = payouts.balance_seen_by(svc, me, me)
    except NotFound:  # paid through an agency: no balance of its own
        balance = None
    return page(
        "my_payouts.html",
        creator=creator,
        balance=balance,
        items=payouts.payouts_seen_by(svc, me),
        minimum=svc.settings.min_payout,
    )
