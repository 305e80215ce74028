"""A creator's showcase: the store page of a creator without a shop.

Rules:
- it shows each active product the creator has an active link for, once;
- each is bought through the newest of those links, so every purchase from
  the showcase is tracked and attributed to the creator;
- a creator without such links has an empty showcase;
- an id that is no slug names no creator: not found, as an unknown one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import links, registry
from .errors import NotFound
from .store import StoreClient

__all__ = ["Item", "Showcase", "showcase"]


@dataclass(frozen=True, slots=True)
class Item:
    product: dict[str, Any]
    link: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Showcase:
    creator: dict[str, Any]
    items: tuple[Item, ...]
    shops: dict[str, str]  # storefront id -> name, for the storefronts of the items


def showcase(r: StoreClient, creator_id: str) -> Showcase:
    if not registry.SLUG.match(creator_id):
        raise NotFound(f"creator {creator_id!r} not found")
    creator = registry.get_creator(r, creator_id)
    shown: dict[str, Item] = {}
    for link in links.every_link(r, creator_id):  # newest first: the first per product wins
        if not (link["active"] and link["product_active"]) or link["product_id"] in shown:
            continue
        product = registry.get_product(r, link["product_id"])
        if product["active"]:
            shown[link["product_id"]] = Item(product, link)
    shops = {
        sid: registry.get_storefront(r, sid).name
        for sid in {item.product["storefront_id"] for item in shown.values()}
    }
    return Showcase(creator, tuple(shown.values()), shops)
