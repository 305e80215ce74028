"""The creator's product library page: search, filters, paging, and a link
made from a product in one click.

The search is ``library_search`` as the API runs it, with the same parameter
model (``api.library_schemas.LibraryQuery``), so the page lists what
``GET /api/v1/products`` lists for the creator. The link is made as the link
form on "My links" makes it (``creator.made_link``), then shown on this page.
Product images come from the hosts their product was checked against; the
page's Content-Security-Policy names exactly the hosts of the images it shows.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlencode

from flask import flash, g, redirect, request, url_for
from pydantic import ValidationError

from .. import library_search, links, registry
from ..api.library_schemas import LibraryQuery
from ..errors import InvalidField, NotFound
from ..extension import context
from . import i18n
from .auth import CREATOR, requires
from .creator import link_form, made_link
from .views import bp, csp, image_hosts, link_with_url, page

# What the page's own form asks (the API's parameters, less ``active``: a creator
# sees active products only), and what it carries besides.
SEARCH_FIELDS = ("q", "category", "storefront_id", "min_commission_bps", "sort", "order")
RATE_CHOICES = (0, 500, 1000, 2000, 3000)
PAGE_SIZE = 24


@bp.get("/console/library")
@requires(CREATOR)
def library_page() -> Any:
    svc = context()
    asked = {k: v for k in SEARCH_FIELDS if (v := request.args.get(k, "").strip())}
    try:
        query = LibraryQuery.model_validate(
            {**asked, "limit": PAGE_SIZE, "cursor": request.args.get("cursor") or None}
        )
    except ValidationError as exc:
        # A filter the page cannot read is said, as the API says it (422), not
        # read as another (the console's 404 is for ids that name nothing).
        error = exc.errors(include_url=False)[0]
        raise InvalidField.one(str(error["loc"][0]), error["msg"]) from None
    found = library_search.search(
        svc,
        library_search.Query(
            keyword=query.q or "",
            category=query.category,
            storefront_id=query.storefront_id,
            min_commission_bps=query.min_commission_bps,
            sort=query.sort,
            order=query.order or ("asc" if query.sort == "price" else "desc"),
            limit=PAGE_SIZE,
        ),
        query.cursor,
    )
    images = image_hosts(found.items)
    here = url_for("console.library_page") + "?"
    response = page(
        "library.html",
        products=found.items,
        next_url=here + urlencode({**asked, "cursor": found.next_cursor})
        if found.next_cursor
        else None,
        first_url=here + urlencode(asked),
        paged=bool(query.cursor),
        asked=asked,
        storefronts=registry.list_storefronts(svc.store),
        channels=sorted(svc.settings.programs),
        rates=RATE_CHOICES,
        made=_made(request.args.get("made")),
        back=urlencode({**asked, **({"cursor": query.cursor} if query.cursor else {})}),
    )
    response.headers["Content-Security-Policy"] = csp(images)
    return response


def _made(link_id: str | None) -> dict[str, Any] | None:
    """The link just made, when it is the viewer's own."""
    if not link_id:
        return None
    try:
        link = links.get_link(context().store, links.known_link_id(link_id), creator_id=_me())
    except NotFound:
        return None
    made = link_with_url(link)
    made["product"] = registry.get_product(context().store, link["product_id"])
    return made


@bp.post("/console/library/links")
@requires(CREATOR)
def library_make_link() -> Any:
    """One click on a product: its link on the channel chosen, shown at the top."""
    back = request.form.get("back", "")
    # Only the search's own fields go back into the address: nothing else rides along.
    kept = {k: v for k, v in _pairs(back) if k in (*SEARCH_FIELDS, "cursor")}
    link_id = made_link(link_form())
    if link_id is not None:
        flash(_t("links.made"), "info")
        kept["made"] = link_id
    return redirect(url_for("console.library_page") + "?" + urlencode(kept) + "#made")


def _pairs(query_string: str) -> list[tuple[str, str]]:
    return parse_qsl(query_string, keep_blank_values=False)[:20]


def _me() -> str:
    return g.viewer.creator_id


def _t(key: str, **values: Any) -> str:
    return i18n.translate(key, g.lang, **values)
