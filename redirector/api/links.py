"""Link endpoints: creators make links; creators (their own) and admins read and
disable them, get their QR codes and their raw clicks, and add their stats up
per sub-id."""

from __future__ import annotations

from typing import Any

from flask import Response, request
from flask_openapi3 import APIBlueprint, Tag

from .. import click_export, links, qrcodes, quota, series
from ..extension import context
from . import link_schemas, list_schemas, schemas
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


# A link's QR code changes only when its URL does (the public URL setting, a new
# newest signing key): a day in the caller's own cache, checked by ETag after.
QR_CACHE = "private, max-age=86400"


def qr_response(link: dict[str, Any], kind: qrcodes.QrKind, scale: int) -> Response:
    """A link's QR code as an answer (304 to a client that holds it already),
    for the API and the console alike. ``link``: ``links.get_link``'s, its
    owner checked."""
    image = qrcodes.render(with_token(link)["url"], kind, scale)
    response = Response(image.body, mimetype=image.media_type)
    response.headers["Cache-Control"] = QR_CACHE
    response.headers["Content-Disposition"] = f'inline; filename="link-{link["id"]}-qr.{kind}"'
    response.set_etag(image.etag)
    response.make_conditional(request)  # in place: 304 and no body when the ETag matches
    return response


def clicks_csv(link: dict[str, Any], query: link_schemas.ClicksQuery) -> Response:
    """A link's raw clicks of a range as streamed CSV, for the API and the console
    alike; ``link``: ``links.get_link``'s, its owner checked."""
    svc = context()
    settings = svc.settings
    span = click_export.click_range(
        None if query.from_ is None else click_export.parse_moment(query.from_, "from"),
        None if query.to is None else click_export.parse_moment(query.to, "to"),
        now_ms=svc.clock.now_ms(),
        retention_ms=settings.retention_seconds * 1000,
        tz=settings.timezone,
    )
    first, last = (
        click_export.shown_date(ms, settings.timezone) for ms in (span.start_ms, span.end_ms - 1)
    )
    lines = click_export.csv_lines(svc, link["creator_id"], link["id"], span)
    return Response(
        lines,
        content_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="clicks-{link["id"]}-{first}-{last}.csv"',
            "Cache-Control": "private, no-store",
        },
    )


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
    """Links, newest first: a creator sees its own; an admin all, or one creator's.

    `?sub1=` (`sub2`, `sub3`): only the links made with those sub-ids (an
    admin names the creator)."""
    principal = caller()
    creator_id = _owner(principal) or query.creator_id
    items = links.list_links(
        context().store,
        creator_id=creator_id,
        offset=query.offset,
        limit=query.limit,
        sub_ids=query.filters(),
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


@bp.get(
    "/links/stats",
    tags=[tag],
    security=BEARER,
    responses={200: link_schemas.SubIdStats, **ERRORS},
)
@bearer(ADMIN, CREATOR)
def stats_by_sub_id(query: link_schemas.LinkStatsQuery) -> Any:
    """A creator's links' stats added up per value of one sub-id (`by`), the
    links made without it as a group of their own; `sub1`… filter first."""
    creator_id = _owner(caller()) or query.creator_id
    return ok(links.sub_id_stats(context().store, creator_id, query.by, query.filters()))


def _qr(path: schemas.LinkPath, query: link_schemas.QrQuery, kind: qrcodes.QrKind) -> Response:
    link_id = links.known_link_id(path.link_id)
    link = links.get_link(context().store, link_id, creator_id=_owner(caller()))
    return qr_response(link, kind, query.scale)


@bp.get(
    "/links/<link_id>/qr.svg",
    tags=[tag],
    security=BEARER,
    responses={200: dict(link_schemas.QR_IMAGE), **ERRORS},
)
@bearer(ADMIN, CREATOR)
def link_qr_svg(path: schemas.LinkPath, query: link_schemas.QrQuery) -> Any:
    """The QR code of the link's URL, as SVG (`?scale=` 1-40, default 8)."""
    return _qr(path, query, "svg")


@bp.get(
    "/links/<link_id>/qr.png",
    tags=[tag],
    security=BEARER,
    responses={200: dict(link_schemas.QR_IMAGE), **ERRORS},
)
@bearer(ADMIN, CREATOR)
def link_qr_png(path: schemas.LinkPath, query: link_schemas.QrQuery) -> Any:
    """The QR code of the link's URL, as PNG (`?scale=` pixels per module, 1-40, default 8)."""
    return _qr(path, query, "png")


@bp.get(
    "/links/<link_id>/clicks",
    tags=[tag],
    security=BEARER,
    responses={200: link_schemas.CLICKS_CSV, **ERRORS},
)
@bearer(ADMIN, CREATOR)
def link_clicks(path: schemas.LinkPath, query: link_schemas.ClicksQuery) -> Any:
    """The link's raw clicks in `[from, to)` as CSV, oldest first, within the
    retention of click records (streamed)."""
    link_id = links.known_link_id(path.link_id)
    link = links.get_link(context().store, link_id, creator_id=_owner(caller()))
    return clicks_csv(link, query)
