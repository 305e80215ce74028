"""Every Redis key the service uses, built here and nowhere else.

All keys start with one prefix and name what they hold. Keys that one Lua
script or transaction touches together share a hash tag (the part in braces),
so they live in one Redis Cluster slot:

- ``{l:<link_id>}``: a link, its counters, series, click records and
  uniqueness buckets (the click script touches all of them at once);
- ``{d:<device>}``: a device's recent clicks (written beside the click script
  in the same pipeline, read when attributing an order by device).

Registry records (agencies, creators, storefronts, products) are plain keys:
they are written by admins, one key per command or per MULTI.
"""

from __future__ import annotations

PREFIX = "rd"


# -- registry -----------------------------------------------------------------


def agency(agency_id: str) -> str:
    return f"{PREFIX}:agency:{agency_id}"


def agencies() -> str:
    return f"{PREFIX}:agencies"


def creator(creator_id: str) -> str:
    return f"{PREFIX}:creator:{creator_id}"


def creators() -> str:
    return f"{PREFIX}:creators"


def creator_links(creator_id: str) -> str:
    """Sorted set of the creator's link ids, scored by creation time (ms)."""
    return f"{PREFIX}:creator:{creator_id}:links"


def api_key(key_hash: str) -> str:
    """SHA-256 of an API key -> creator id (the key itself is never stored)."""
    return f"{PREFIX}:apikey:{key_hash}"


def storefront(storefront_id: str) -> str:
    return f"{PREFIX}:storefront:{storefront_id}"


def storefronts() -> str:
    return f"{PREFIX}:storefronts"


def storefront_products(storefront_id: str) -> str:
    return f"{PREFIX}:storefront:{storefront_id}:products"


def product(product_id: str) -> str:
    return f"{PREFIX}:product:{product_id}"


def products() -> str:
    return f"{PREFIX}:products"


def product_links(product_id: str) -> str:
    """Set of the link ids made for a product (their destination copies follow it)."""
    return f"{PREFIX}:product:{product_id}:links"


def product_sales(product_id: str) -> str:
    """Hash of a product's attributed sales (orders, gmv), for sorting the library."""
    return f"{PREFIX}:product:{product_id}:sales"


# -- links and clicks ({l:<id>} slot) ------------------------------------------


def _link_tag(link_id: str) -> str:
    return f"{PREFIX}:{{l:{link_id}}}"


def link(link_id: str) -> str:
    return f"{_link_tag(link_id)}:link"


def links() -> str:
    """Sorted set of every link id, scored by creation time (ms)."""
    return f"{PREFIX}:links"


def link_stats(link_id: str) -> str:
    return f"{_link_tag(link_id)}:stats"


def link_daily(link_id: str) -> str:
    """Hash ``YYYY-MM-DD:<counter>`` -> count, the per-day series of a link."""
    return f"{_link_tag(link_id)}:daily"


def link_clicks(link_id: str, day: int) -> str:
    """Hash click id -> packed click record, one per link and UTC day number."""
    return f"{_link_tag(link_id)}:clicks:{day}"


def link_unique(link_id: str, day: int) -> str:
    """Hash device -> time (ms) of its last unique click on the link, per UTC day."""
    return f"{_link_tag(link_id)}:uniq:{day}"


def click_keys(link_id: str, day: int) -> list[str]:
    """KEYS of the click script, in its documented order."""
    return [
        link(link_id),
        link_stats(link_id),
        link_daily(link_id),
        link_clicks(link_id, day),
        link_unique(link_id, day),
        link_unique(link_id, day - 1),
    ]


# -- devices ({d:<id>} slot) -----------------------------------------------------


def device_clicks(device: str) -> str:
    """Sorted set of a device's recent human click ids, scored by time (ms)."""
    return f"{PREFIX}:{{d:{device}}}:clicks"


# -- service state -------------------------------------------------------------


def clock() -> str:
    """The mock clock's current time (ms since the epoch), shared by every worker."""
    return f"{PREFIX}:clock"
