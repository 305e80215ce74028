"""Order pages: the admin's order list and an order's history; a creator's
"My orders".

The list is the API's (``orders.listing``, as ``GET /api/v1/orders``): newest
paid first, filtered by status, creator, storefront and the month paid,
``PER_PAGE`` at a time by the list's cursor (a "next page" link carries it
with the filters), and a CSV of every matching order. A creator's list is
``query_seen_by`` its id: its own orders only, whatever the URL asks.

An order is named by storefront and number; the lookup takes the number
alone and asks every storefront (``orders.storefronts_holding``): one match
opens the order (for a creator: shows it in the list, if it is its own),
several are listed to choose from, none says so. A creator never learns
whether a number it does not own exists.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Response, g, redirect, request, url_for

from .. import orders, registry
from ..api import schemas
from ..errors import InvalidField
from ..extension import context
from ..orders import listing
from ..periods import period_of
from . import figures
from .auth import ADMIN, CREATOR, requires
from .views import bp, page

PER_PAGE = 50
MONTHS_SHOWN = 13
FILTERS = ("status", "creator_id", "storefront_id", "period")
NUMBER = re.compile(orders.ORDER_ID_PATTERN)


def _filters(viewer: str | None) -> dict[str, str]:
    """The filters the URL asks for (empty ones left out); a creator's own id."""
    asked = {k: (request.args.get(k) or "").strip() for k in FILTERS}
    if viewer is not None:
        asked["creator_id"] = ""
    if asked["status"] and asked["status"] not in orders.STATUSES:
        raise InvalidField.one("status", f"one of {', '.join(orders.STATUSES)}")
    return {k: v for k, v in asked.items() if v}


def _query(viewer: str | None, asked: dict[str, str]) -> listing.Query:
    return listing.query_seen_by(
        viewer,
        status=asked.get("status"),
        creator_id=asked.get("creator_id"),
        storefront_id=asked.get("storefront_id"),
        period=asked.get("period"),
    )


def _lookup(viewer: str | None, number: str) -> list[dict[str, Any]]:
    """The orders numbered ``number`` the viewer may see, in any storefront."""
    store = context().store
    if not NUMBER.match(number):
        return []
    storefronts = [s.id for s in registry.list_storefronts(store)]
    found = [
        orders.get_order(store, s, number)
        for s in orders.storefronts_holding(store, storefronts, number)
    ]
    if viewer is None:
        return found
    return [o for o in found if (o["attributed"] or {}).get("creator_id") == viewer]


def _months() -> list[str]:
    svc = context()
    current = period_of(svc.clock.now(), svc.settings.timezone)
    return [str(p) for p in figures.recent_periods(current, MONTHS_SHOWN)][::-1]


def _list_page(viewer: str | None, csv_endpoint: str, endpoint: str) -> Any:
    number = (request.args.get("order_no") or "").strip()
    if number:
        found = _lookup(viewer, number)
        if viewer is None and len(found) == 1:
            hit = found[0]
            return redirect(
                url_for("console.order", storefront_id=hit["storefront_id"], order_id=number)
            )
        return _render(viewer, endpoint, csv_endpoint, {}, found, None, number=number)
    asked = _filters(viewer)
    cursor = request.args.get("cursor") or None
    listed = listing.listed(context(), _query(viewer, asked), cursor, PER_PAGE)
    return _render(viewer, endpoint, csv_endpoint, asked, listed["items"], listed["next_cursor"])


def _render(
    viewer: str | None,
    endpoint: str,
    csv_endpoint: str,
    asked: dict[str, str],
    items: list[dict[str, Any]],
    next_cursor: str | None,
    number: str = "",
) -> Any:
    store = context().store
    return page(
        "orders.html",
        mine=viewer is not None,
        endpoint=endpoint,
        items=items,
        asked=asked,
        cursor=request.args.get("cursor") or "",
        next_cursor=next_cursor,
        short=next_cursor is not None and len(items) < PER_PAGE,
        csv_url=url_for(csv_endpoint, **asked),  # type: ignore[arg-type]
        number=number,
        statuses=orders.STATUSES,
        creators=[] if viewer else [c["id"] for c in registry.list_creators(store)],
        storefronts=[s.id for s in registry.list_storefronts(store)],
        months=_months(),
    )


def _csv(viewer: str | None, filename: str) -> Response:
    """Every matching order, streamed, as the API's ``?format=csv``."""
    svc = context()
    query = _query(viewer, _filters(viewer))
    lines = listing.csv_lines(listing.every(svc, query), svc.settings.timezone)
    return Response(
        lines,
        content_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@bp.get("/console/admin/orders")
@requires(ADMIN)
def order_list() -> Any:
    return _list_page(None, "console.order_csv", "console.order_list")


@bp.get("/console/admin/orders.csv")
@requires(ADMIN)
def order_csv() -> Any:
    return _csv(None, "orders.csv")


@bp.get("/console/admin/orders/<storefront_id>/<order_id>")
@requires(ADMIN)
def order(storefront_id: str, order_id: str) -> Any:
    path = schemas.OrderPath.model_validate({"storefront_id": storefront_id, "order_id": order_id})
    record = orders.get_order(context().store, path.storefront_id, path.order_id)
    return page("order.html", order=record)


@bp.get("/console/me/orders")
@requires(CREATOR)
def my_orders() -> Any:
    return _list_page(g.viewer.creator_id, "console.my_order_csv", "console.my_orders")


@bp.get("/console/me/orders.csv")
@requires(CREATOR)
def my_order_csv() -> Any:
    return _csv(g.viewer.creator_id, "my-orders.csv")
