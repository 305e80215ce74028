"""Registry endpoints: agencies, creators, storefronts, products, programs."""

from __future__ import annotations

from typing import Any

from flask import request
from flask_openapi3 import APIBlueprint, Tag

from .. import library_search, registry, sessions
from ..errors import InvalidField
from ..extension import context
from . import library_schemas, list_schemas, schemas
from .auth import ADMIN, BEARER, CREATOR, bearer, caller
from .responses import ok, secret_box

bp = APIBlueprint("registry", __name__, url_prefix="/api/v1")
ERRORS: dict[Any, Any] = {
    400: schemas.ErrorResponse,
    401: schemas.ErrorResponse,
    403: schemas.ErrorResponse,
    413: schemas.ErrorResponse,
    422: schemas.ErrorResponse,
    429: schemas.ErrorResponse,
    503: schemas.ErrorResponse,
}
agencies_tag = Tag(name="agencies")
creators_tag = Tag(name="creators")
storefronts_tag = Tag(name="storefronts")
products_tag = Tag(name="products")
programs_tag = Tag(name="programs")


@bp.put(
    "/agencies/<agency_id>",
    tags=[agencies_tag],
    security=BEARER,
    responses={200: schemas.Agency, 201: schemas.Agency, **ERRORS},
)
@bearer(ADMIN)
def put_agency(path: schemas.AgencyPath, body: schemas.AgencyBody) -> Any:
    """Create or update an agency (机构)."""
    svc = context()
    agency, created = registry.put_agency(svc.store, path.agency_id, body.name, svc.clock.now_ms())
    return ok(agency, 201 if created else 200)


@bp.put(
    "/creators/<creator_id>",
    tags=[creators_tag],
    security=BEARER,
    responses={200: schemas.Creator, 201: schemas.Creator, **ERRORS},
)
@bearer(ADMIN)
def put_creator(path: schemas.CreatorPath, body: schemas.CreatorBody) -> Any:
    """Create or update a creator (博主). On create the answer holds `api_key`, shown once."""
    svc = context()
    creator, api_key = registry.put_creator(
        svc.store, path.creator_id, body.name, body.agency_id, svc.clock.now_ms()
    )
    if api_key is None:
        return ok(creator)
    return ok({**creator, "api_key": api_key}, 201)


@bp.post(
    "/creators/<creator_id>/api-key",
    tags=[creators_tag],
    security=BEARER,
    responses={200: schemas.ApiKey, 404: schemas.ErrorResponse, **ERRORS},
)
@bearer(ADMIN)
def rotate_api_key(path: schemas.CreatorPath) -> Any:
    """Rotate a creator's API key: the old one stops working at once, and every
    console session the creator has open ends."""
    svc = context()
    api_key = registry.rotate_api_key(svc.store, path.creator_id)
    sessions.end_all(svc, sessions.creator_holder(path.creator_id))
    return ok({"api_key": api_key})


@bp.put(
    "/storefronts/<storefront_id>",
    tags=[storefronts_tag],
    security=BEARER,
    responses={
        200: schemas.Storefront,
        201: schemas.Storefront,
        409: schemas.ErrorResponse,
        **ERRORS,
    },
)
@bearer(ADMIN)
def put_storefront(path: schemas.StorefrontPath, body: schemas.StorefrontBody) -> Any:
    """Create or update a storefront. On create the answer holds `signing_secret`
    (`whsec_…`), the key its order callbacks are signed with, shown once. App URLs
    may use http(s) and the storefront's `app_schemes` only."""
    svc = context()
    storefront, secret = registry.put_storefront(
        svc.store,
        path.storefront_id,
        body.name,
        body.hosts,
        body.click_param,
        svc.clock.now_ms(),
        secret_box(),
        app_schemes=body.app_schemes,
    )
    if secret is None:
        return ok(storefront.to_json())
    return ok({**storefront.to_json(), "signing_secret": secret}, 201)


@bp.put(
    "/products/<product_id>",
    tags=[products_tag],
    security=BEARER,
    responses={200: schemas.Product, 201: schemas.Product, 409: schemas.ErrorResponse, **ERRORS},
)
@bearer(ADMIN)
def put_product(path: schemas.ProductPath, body: schemas.ProductBody) -> Any:
    """Create or update a product (商品库). Its URLs must be on its storefront's hosts,
    its `image_url` https on those or the deployment's image hosts; `share_code` is
    the text buyers paste into the shopping app (no control characters or newlines).
    A change (deactivation included) reaches its links' next click."""
    svc = context()
    product, created = registry.put_product(
        svc.store,
        path.product_id,
        body.model_dump(),
        svc.clock.now_ms(),
        image_hosts=svc.settings.image_hosts,
    )
    return ok(product, 201 if created else 200)


@bp.get(
    "/products",
    tags=[products_tag],
    security=BEARER,
    responses={200: library_schemas.ProductPage, 410: schemas.ErrorResponse, **ERRORS},
)
@bearer(ADMIN, CREATOR)
def list_products(query: library_schemas.LibraryQuery) -> Any:
    """The product library (商品库), searched and paged: keyword in the title,
    category, storefront, minimum commission rate; sorted by sales, commission,
    price or newest. Follow `next_cursor` until null; a page may hold fewer than
    `limit` products before the end. Creators see active products only."""
    repeated = sorted(k for k in request.args if len(request.args.getlist(k)) > 1)
    if repeated:
        raise InvalidField.one(repeated[0], "give each parameter once")
    if query.active is not None and not caller().is_admin:
        raise InvalidField.one("active", "creators see active products only")
    found = library_search.search(
        context(),
        library_search.Query(
            keyword=query.q or "",
            category=query.category,
            storefront_id=query.storefront_id,
            min_commission_bps=query.min_commission_bps,
            sort=query.sort,
            order=query.order or ("asc" if query.sort == "price" else "desc"),
            active=query.active if caller().is_admin else True,
            limit=query.limit,
        ),
        query.cursor,
    )
    return ok({"items": found.items, "next_cursor": found.next_cursor})


@bp.get(
    "/programs",
    tags=[programs_tag],
    security=BEARER,
    responses={200: schemas.ProgramList, **ERRORS},
)
@bearer(ADMIN, CREATOR)
def list_programs() -> Any:
    """The programs in force, per channel."""
    programs = context().settings.programs
    return ok({"programs": [programs[c].to_json() for c in sorted(programs)]})


def _page(kind: str, query: list_schemas.ListQuery) -> Any:
    return ok(registry.list_page(context().store, kind, query.cursor, query.limit))


@bp.get(
    "/agencies",
    tags=[agencies_tag],
    security=BEARER,
    responses={200: list_schemas.AgencyList, **ERRORS},
)
@bearer(ADMIN)
def list_agencies(query: list_schemas.ListQuery) -> Any:
    """Agencies by id, paged by cursor."""
    return _page("agencies", query)


@bp.get(
    "/creators",
    tags=[creators_tag],
    security=BEARER,
    responses={200: list_schemas.CreatorList, **ERRORS},
)
@bearer(ADMIN)
def list_creators(query: list_schemas.ListQuery) -> Any:
    """Creators by id, paged by cursor (never an API key or its hash)."""
    return _page("creators", query)


@bp.get(
    "/storefronts",
    tags=[storefronts_tag],
    security=BEARER,
    responses={200: list_schemas.StorefrontList, **ERRORS},
)
@bearer(ADMIN)
def list_storefronts(query: list_schemas.ListQuery) -> Any:
    """Storefronts by id, paged by cursor (never a signing secret)."""
    return _page("storefronts", query)
