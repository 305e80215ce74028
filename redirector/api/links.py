"""Link endpoints: creators make links; creators (their own) and admins read and disable."""

from __future__ import annotations

from typing import Any

from flask import request
from flask_openapi3 import APIBlueprint, Tag

from .. import links, quota, series
from ..extension import context
from . import list_schemas, schemas
from .auth import ADMIN, BEARER, CREATOR, Principal, bearer, caller
from .responses import ok

bp = APIBlueprint("links", __name__, url_prefix="/api/v1")
tag = Tag(name="links")
ERRORS: dict[Any, Any] = {
    400: schemas.ErrorResponse,
    401: schemas.ErrorResponse,
    403: schemas.ErrorResponse,
    404: schemas.ErrorResponse,
    413: schemas.ErrorResponse,
    422: schemas.ErrorResponse,
    429: schemas.ErrorResponse,
    503: schemas.ErrorResponse,
}


def with_token(link: dict[str, Any]) -> dict[str, Any]:
    """A link as the API and the console show it: with its signed token and URL."""
    svc = context()
    token = svc.link_signer.sign(link["id"])
    base = svc.settings.public_url or request.host_url.rstrip("/")
    return {"id": link["id"], "token": token, "url": f"{base}/r/{token}", **link}


def _owner(principal: Principal) -> str | None:
    return None if principal.is_admin else principal.creator_id


@bp.post("/links", tags=[tag], security=BEARER, responses={201: schemas.Link, **ERRORS})
@bearer(ADMIN, CREATOR)
def create_link(body: schemas.LinkBody) -> Any:
    """Make a tracking link for a post (creators only)."""
    principal = caller()
    svc = context()
    link_id = links.make_link(
        svc.store,
        _owner(principal),
        body.new_link(),
        channels=list(svc.settings.programs),
        now_ms=svc.clock.now_ms(),
        limit=quota.rates(svc.settings.link_creation_limit),
    )
    return ok(with_token(links.get_link(svc.store, link_id)), 201)


@bp.get("/links", tags=[tag], security=BEARER, responses={200: schemas.LinkList, **ERRORS})
@bearer(ADMIN, CREATOR)
def list_links(query: schemas.LinkQuery) -> Any:
    """Links, newest first: a creator sees its own; an admin all, or one creator's."""
    principal = caller()
    creator_id = _owner(principal) or query.creator_id
    items = links.list_links(
        context().store, creator_id=creator_id, offset=query.offset, limit=query.limit
    )
    next_offset = query.offset + len(items) if len(items) == query.limit else None
    return ok({"links": [with_token(item) for item in items], "next_offset": next_offset})


@bp.get("/links/<link_id>", tags=[tag], security=BEARER, responses={200: schemas.Link, **ERRORS})
@bearer(ADMIN, CREATOR)
def get_link(path: schemas.LinkPath) -> Any:
    """One link with its stats and per-day series."""
    principal = caller()
    store = context().store
    link_id = links.known_link_id(path.link_id)
    link = links.get_link(store, link_id, creator_id=_owner(principal))
    return ok({**with_token(link), "daily": links.daily_series(store, link_id)})


@bp.get(
    "/links/<link_id>/series",
    tags=[tag],
    security=BEARER,
    responses={200: list_schemas.LinkSeries, **ERRORS},
)
@bearer(ADMIN, CREATOR)
def link_series(path: schemas.LinkPath, query: list_schemas.SeriesQuery) -> Any:
    """A link's clicks and money per local day, every day from `from` to `to`
    (at most 366): orders on the day they were paid, GMV and commission moved
    on the day of the event that moved them (a refund lowers its own day)."""
    principal = caller()
    link_id = links.known_link_id(path.link_id)
    return ok(series.series_seen_by(context(), _owner(principal), link_id, query.from_, query.to))


@bp.delete("/links/<link_id>", tags=[tag], security=BEARER, responses={200: schemas.Link, **ERRORS})
@bearer(ADMIN, CREATOR)
def disable_link(path: schemas.LinkPath) -> Any:
    """Disable a link: from its next click on it answers 410."""
    principal = caller()
    svc = context()
    link = links.disable_link(
        svc.store,
        links.known_link_id(path.link_id),
        creator_id=_owner(principal),
        now_ms=svc.clock.now_ms(),
    )
    return ok(with_token(link))
