"""A creator's showcase: the store page of a creator without a shop.

Rules:
- it shows each active product the creator has an active link for, once;
- each is bought through the newest of those links, so every purchase from
  the showcase is tracked and attributed to the creator;
- a creator without such links has an empty showcase;
- an id that is no slug names no creator: not found, as an unknown one;
- it is paged by links: page n looks at the creator's newest links from the
  ``(n - 1) * PAGE_LINKS``-th, ``PAGE_LINKS`` of them, so a page costs the same
  however many links the creator made; a product is shown once per page,
  through the newest of its links there (it may show again on an older page,
  through an older link: still the creator's, still tracked). A page that is
  not a whole number from 1 to ``MAX_PAGE`` is not found; one past the last
  link is empty.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import links, registry
from .errors import NotFound
from .store import StoreClient

__all__ = ["MAX_PAGE", "PAGE_LINKS", "Item", "Showcase", "page_number", "showcase"]

PAGE_LINKS = 60
MAX_PAGE = 10_000


@dataclass(frozen=True, slots=True)
class Item:
    product: dict[str, Any]
    link: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Showcase:
    creator: dict[str, Any]
    items: tuple[Item, ...]
    shops: dict[str, str]  # storefront id -> name, for the storefronts of the items
    page: int = 1
    next_page: int | None = None  # when older links remain


def page_number(text: str | None) -> int:
    """The page a query asks for (none: the first), or not found."""
    if text is None:
        return 1
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= MAX_PAGE:
        raise NotFound(f"no showcase page {text!r}: pages are numbered 1 to {MAX_PAGE}")
    return int(text)


def showcase(r: StoreClient, creator_id: str, page: int = 1) -> Showcase:
    if not registry.SLUG.match(creator_id):
        raise NotFound(f"creator {creator_id!r} not found")
    creator = registry.get_creator(r, creator_id)
    # One link past the page says whether another page follows.
    window = links.list_links(
        r, creator_id=creator_id, offset=(page - 1) * PAGE_LINKS, limit=PAGE_LINKS + 1
    )
    more = len(window) > PAGE_LINKS
    shown: dict[str, Item] = {}
    for link in window[:PAGE_LINKS]:  # newest first: the first per product wins
        if not (link["active"] and link["product_active"]) or link["product_id"] in shown:
            continue
        product = registry.get_product(r, link["product_id"])
        if product["active"]:
            shown[link["product_id"]] = Item(product, link)
    shops = {
        sid: registry.get_storefront(r, sid).name
        for sid in {item.product["storefront_id"] for item in shown.values()}
    }
    return Showcase(creator, tuple(shown.values()), shops, page, page + 1 if more else None)
