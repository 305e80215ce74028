"""The registry: agencies, creators, storefronts and products, as admins set them.

Rules kept here:
- a creator's API key is returned once and stored only as its SHA-256 (keys are
  random 256-bit strings, so a fast hash is enough: there is nothing to guess);
- a storefront's signing secret is returned once and stored only sealed
  (``secrets_at_rest``): callbacks must be verified with it, so it cannot be
  hashed, but the store alone never reveals it;
- a product's URLs must be on one of its storefront's allowed hosts, with a
  scheme it allows (``destinations``), so the redirect can only ever go where
  an admin said (no open redirect);
- a product never moves to another storefront (orders and clicks are matched by
  storefront), and a storefront cannot drop a host or an app scheme its
  products still use; a storefront saved without ``app_schemes`` keeps those
  it declared before (none, on create); existing products are checked against
  the rules when they are saved;
- a product's library fields (category, image, share code) follow ``library``,
  and its search index entries change in the same transaction as its record
  (``library_index``);
- every link keeps a copy of its product's destination so that the redirect
  needs one slot of the store; a product or storefront change is copied into
  its links, newest revision winning (``LINK_DESTINATION``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlsplit

import redis

from . import keys, library, library_index, paging, webhooks
from .destinations import (
    Allowed,
    check_destination,
    host_allowed,
    normalize_app_schemes,
    normalize_hosts,
)
from .errors import Conflict, InvalidField, NotFound
from .secrets_at_rest import SecretBox, SecretUnreadable
from .store import Script, StoreClient, StorePipeline

log = logging.getLogger("redirector")

SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
CLICK_PARAM = re.compile(r"^[A-Za-z0-9_.~-]{1,32}$")
DEFAULT_CLICK_PARAM = "rd_click"
API_KEY_PREFIX = "rdk_"


def hash_api_key(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()


def new_api_key() -> str:
    return API_KEY_PREFIX + secrets.token_urlsafe(32)


# -- agencies -------------------------------------------------------------------


def put_agency(r: StoreClient, agency_id: str, name: str, now_ms: int) -> tuple[dict, bool]:
    key = keys.agency(agency_id)
    pipe = r.pipeline(transaction=True)
    pipe.hsetnx(key, "created_at", now_ms)
    pipe.hset(key, "name", name)
    pipe.sadd(keys.agencies(), agency_id)
    created = bool(pipe.execute()[0])
    return get_agency(r, agency_id), created


def get_agency(r: StoreClient, agency_id: str) -> dict:
    data = r.hgetall(keys.agency(agency_id))
    if not data:
        raise NotFound(f"agency {agency_id!r} not found")
    return _agency_json(agency_id, data)


def _agency_json(agency_id: str, data: dict[str, str]) -> dict:
    return {"id": agency_id, "name": data["name"], "created_at": int(data["created_at"])}


def agency_exists(r: StoreClient, agency_id: str) -> bool:
    return bool(r.exists(keys.agency(agency_id)))


# -- creators -------------------------------------------------------------------


def put_creator(
    r: StoreClient, creator_id: str, name: str, agency_id: str | None, now_ms: int
) -> tuple[dict, str | None]:
    """Create or update a creator; on create also answers its new API key."""
    if agency_id is not None and not agency_exists(r, agency_id):
        raise InvalidField.one("agency_id", f"agency {agency_id!r} does not exist")
    key = keys.creator(creator_id)
    api_key = new_api_key()
    # The key is claimed in the same transaction that creates the creator, so two
    # racing creates cannot both hand out a key.
    with r.pipeline(transaction=True) as pipe:
        while True:
            try:
                pipe.watch(key)
                exists = pipe.exists(key)
                pipe.multi()
                if not exists:
                    pipe.hset(
                        key,
                        mapping={"created_at": now_ms, "api_key_hash": hash_api_key(api_key)},
                    )
                    pipe.set(keys.api_key(hash_api_key(api_key)), creator_id)
                    pipe.sadd(keys.creators(), creator_id)
                pipe.hset(key, mapping={"name": name, "agency_id": agency_id or ""})
                pipe.execute()
                break
            except redis.WatchError:
                continue
    return get_creator(r, creator_id), (None if exists else api_key)


def rotate_api_key(r: StoreClient, creator_id: str) -> str:
    key = keys.creator(creator_id)
    api_key = new_api_key()
    with r.pipeline(transaction=True) as pipe:
        while True:
            try:
                pipe.watch(key)
                old = pipe.hget(key, "api_key_hash")
                if old is None:
                    raise NotFound(f"creator {creator_id!r} not found")
                pipe.multi()
                pipe.delete(keys.api_key(old))
                pipe.set(keys.api_key(hash_api_key(api_key)), creator_id)
                pipe.hset(key, "api_key_hash", hash_api_key(api_key))
                pipe.execute()
                return api_key
            except redis.WatchError:
                continue


def creator_for_api_key(r: StoreClient, api_key: str) -> str | None:
    if not api_key.startswith(API_KEY_PREFIX):
        return None
    return r.get(keys.api_key(hash_api_key(api_key)))


def api_key_hash(r: StoreClient, creator_id: str) -> str | None:
    """The hash of the creator's API key in force (the registry keeps only that);
    None when there is no such creator."""
    return r.hget(keys.creator(creator_id), "api_key_hash")


def get_creator(r: StoreClient, creator_id: str) -> dict:
    data = r.hgetall(keys.creator(creator_id))
    if not data:
        raise NotFound(f"creator {creator_id!r} not found")
    return _creator_json(creator_id, data)


def _creator_json(creator_id: str, data: dict[str, str]) -> dict:
    """A creator as the API shows it: never its API key's hash."""
    return {
        "id": creator_id,
        "name": data["name"],
        "agency_id": data.get("agency_id") or None,
        "created_at": int(data["created_at"]),
    }


def list_creators(r: StoreClient) -> list[dict]:
    return [get_creator(r, cid) for cid in sorted(r.smembers(keys.creators()))]


# -- storefronts ------------------------------------------------------------------


@dataclass(frozen=True)
class Storefront:
    id: str
    name: str
    hosts: list[str]
    click_param: str
    # Newest first: {"sealed": the secret sealed by a SecretBox, "until": ms or None}.
    signing_secrets: list[dict[str, Any]]
    created_at: int
    app_schemes: list[str] = field(default_factory=list)

    @property
    def allowed(self) -> Allowed:
        return Allowed(self.id, tuple(self.hosts), tuple(self.app_schemes))

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "hosts": self.hosts,
            "app_schemes": self.app_schemes,
            "click_param": self.click_param,
            "created_at": self.created_at,
        }


def put_storefront(
    r: StoreClient,
    storefront_id: str,
    name: str,
    hosts: list[str],
    click_param: str | None,
    now_ms: int,
    box: SecretBox,
    *,
    app_schemes: list[str] | None = None,
) -> tuple[Storefront, str | None]:
    """Create or update; on create also answers the signing secret (``whsec_…``),
    which is stored sealed by ``box``. ``app_schemes`` None keeps the schemes
    declared before (none, on create)."""
    hosts = normalize_hosts(hosts)
    schemes = None if app_schemes is None else normalize_app_schemes(app_schemes)
    if click_param is not None and not CLICK_PARAM.match(click_param):
        raise InvalidField.one("click_param", "use 1-32 letters, digits, '_', '.', '~' or '-'")
    key = keys.storefront(storefront_id)
    existing = r.hgetall(key)
    if existing:
        _update_storefront(r, storefront_id, existing, name, hosts, click_param, schemes)
        return get_storefront(r, storefront_id), None
    secret = webhooks.new_secret()
    created = r.hsetnx(key, "created_at", now_ms)
    if not created:  # lost a race with another create: update instead
        return put_storefront(
            r, storefront_id, name, hosts, click_param, now_ms, box, app_schemes=app_schemes
        )
    r.hset(
        key,
        mapping={
            "name": name,
            "hosts": json.dumps(hosts),
            "app_schemes": json.dumps(schemes or []),
            "click_param": click_param or DEFAULT_CLICK_PARAM,
            "signing_secrets": json.dumps([{"sealed": box.seal(secret), "until": None}]),
        },
    )
    r.sadd(keys.storefronts(), storefront_id)
    return get_storefront(r, storefront_id), secret


def _update_storefront(
    r: StoreClient,
    storefront_id: str,
    existing: dict[str, str],
    name: str,
    hosts: list[str],
    click_param: str | None,
    schemes: list[str] | None,
) -> None:
    kept = json.loads(existing.get("app_schemes", "[]"))
    schemes = kept if schemes is None else schemes
    _check_still_allowed(
        r,
        storefront_id,
        set(json.loads(existing["hosts"])) - set(hosts),
        set(kept) - set(schemes),
        hosts,
    )
    fields = {"name": name, "hosts": json.dumps(hosts), "app_schemes": json.dumps(schemes)}
    if click_param is not None:
        fields["click_param"] = click_param
    r.hset(keys.storefront(storefront_id), mapping=fields)
    if click_param is not None and click_param != existing.get("click_param"):
        for product_id in r.smembers(keys.storefront_products(storefront_id)):
            refresh_link_destinations(r, product_id)


def _check_still_allowed(
    r: StoreClient,
    storefront_id: str,
    dropped_hosts: set[str],
    dropped_schemes: set[str],
    hosts: list[str],
) -> None:
    """A host or app scheme may go only when no product of the storefront uses it."""
    if not dropped_hosts and not dropped_schemes:
        return
    users = []
    for product in list_products(r, storefront_id=storefront_id):
        urls = [urlsplit(u) for u in (product["web_url"], product["app_url"]) if u]
        if any(
            not host_allowed(u.hostname, hosts) or u.scheme.lower() in dropped_schemes for u in urls
        ):
            users.append(product["id"])
    if users:
        dropped = sorted(dropped_hosts) + sorted(dropped_schemes)
        raise Conflict(
            f"hosts or app schemes {dropped} are still used by products {sorted(users)}; "
            "move those products first"
        )


def get_storefront(r: StoreClient, storefront_id: str) -> Storefront:
    data = r.hgetall(keys.storefront(storefront_id))
    if not data or "name" not in data:
        raise NotFound(f"storefront {storefront_id!r} not found")
    return _storefront_of(storefront_id, data)


def _storefront_of(storefront_id: str, data: dict[str, str]) -> Storefront:
    return Storefront(
        id=storefront_id,
        name=data["name"],
        hosts=json.loads(data["hosts"]),
        click_param=data["click_param"],
        signing_secrets=json.loads(data["signing_secrets"]),
        created_at=int(data["created_at"]),
        # Absent on a storefront saved before app schemes were declared: none.
        app_schemes=json.loads(data.get("app_schemes", "[]")),
    )


def list_storefronts(r: StoreClient) -> list[Storefront]:
    return [get_storefront(r, sid) for sid in sorted(r.smembers(keys.storefronts()))]


# -- the admin's lists ----------------------------------------------------------------

# Each list: its set of ids, each id's hash, and what of it is shown (never a
# secret, sealed or not, nor a key's hash).
_LISTS: dict[str, tuple[Callable[[], str], Callable[[str], str], Callable[[str, Any], dict]]] = {
    "agencies": (keys.agencies, keys.agency, _agency_json),
    "creators": (keys.creators, keys.creator, _creator_json),
    "storefronts": (keys.storefronts, keys.storefront, lambda i, d: _storefront_of(i, d).to_json()),
}


def list_page(r: StoreClient, kind: str, cursor: str | None, limit: int) -> dict[str, Any]:
    """Up to ``limit`` agencies, creators or storefronts (``kind``) by id, after
    the place ``cursor`` names (None: from the first): ``{items, next_cursor}``.
    A cursor names its list and the last id shown; another list's is 422.

    The set of ids is read whole and sorted for each page: a registry holds
    thousands of entries, not millions (docs/rules.md, *Lists*)."""
    index, key, shown = _LISTS[kind]
    after = None
    if cursor is not None:
        named, last_id = paging.read_cursor(cursor, (str, str))
        if named != kind:
            raise paging.not_a_cursor(f"is a cursor of another list than the {kind}")
        after = str(last_id)
    ids, last = paging.ids_after(r.smembers(index()), after, limit)
    pipe = r.pipeline(transaction=False)
    for item_id in ids:
        pipe.hgetall(key(item_id))
    items = [shown(i, data) for i, data in zip(ids, pipe.execute(), strict=True)]
    return {"items": items, "next_cursor": paging.cursor([kind, last]) if last else None}


def valid_signing_secrets(
    r: StoreClient, storefront_id: str, now_ms: int, box: SecretBox
) -> list[str]:
    """The secrets a callback may be signed with now: the current one, and the
    previous ones until their grace period ends, opened by ``box``. A secret no
    configured key opens is left out (and said in the log, without the secret)."""
    storefront = get_storefront(r, storefront_id)
    out = []
    for entry in storefront.signing_secrets:
        if entry["until"] is not None and now_ms >= entry["until"]:
            continue
        try:
            out.append(box.open(entry["sealed"]))
        except SecretUnreadable:
            log.warning(
                "storefront %r has a signing secret that no key in REDIRECTOR_SECRET_KEYS "
                "opens: put the key it was sealed with back, or rotate the storefront's secret",
                storefront_id,
            )
    return out


def rotate_signing_secret(
    r: StoreClient, storefront_id: str, grace_seconds: int, now_ms: int, box: SecretBox
) -> tuple[str, int]:
    """A new secret signs from now on; the old ones verify until ``now + grace``.
    Answers (new secret, end of the grace period in ms). Every secret kept is
    sealed again under the newest key."""
    key = keys.storefront(storefront_id)
    secret = webhooks.new_secret()
    until = now_ms + grace_seconds * 1000
    with r.pipeline(transaction=True) as pipe:
        while True:
            try:
                pipe.watch(key)
                raw = pipe.hget(key, "signing_secrets")
                if raw is None:
                    raise NotFound(f"storefront {storefront_id!r} not found")
                kept = [
                    {
                        "sealed": _resealed(box, s["sealed"]),
                        "until": min(until, s["until"] or until),
                    }
                    for s in json.loads(raw)
                    if s["until"] is None or s["until"] > now_ms
                ]
                fresh = {"sealed": box.seal(secret), "until": None}
                pipe.multi()
                pipe.hset(key, "signing_secrets", json.dumps([fresh, *kept]))
                pipe.execute()
                return secret, until
            except redis.WatchError:
                continue


def _resealed(box: SecretBox, sealed: str) -> str:
    try:
        return box.reseal(sealed)
    except SecretUnreadable:
        return sealed  # kept as it is: the key that opens it may come back


# -- products ---------------------------------------------------------------------


def put_product(
    r: StoreClient,
    product_id: str,
    fields: dict[str, Any],
    now_ms: int,
    *,
    image_hosts: tuple[str, ...] = (),
) -> tuple[dict, bool]:
    """Create or update; ``image_hosts`` are where an image may come from besides
    the storefront's hosts (``library.check_image_url``)."""
    storefront = get_storefront_for_field(r, fields["storefront_id"])
    check_destination("web_url", fields["web_url"], storefront.allowed, web=True)
    if fields.get("app_url"):
        check_destination("app_url", fields["app_url"], storefront.allowed, web=False)
    showcase = library.showcase_fields(fields, storefront.allowed, image_hosts)
    key = keys.product(product_id)
    current = r.hget(key, "storefront_id")
    if current is not None and current != storefront.id:
        raise Conflict(
            f"product {product_id!r} belongs to storefront {current!r}; "
            "a product cannot move to another storefront"
        )
    record = {
        "storefront_id": storefront.id,
        "title": fields["title"],
        "price": fields["price"],
        "commission_rate_bps": fields["commission_rate_bps"],
        "web_url": fields["web_url"],
        "app_url": fields.get("app_url") or "",
        "active": "1" if fields.get("active", True) else "0",
        "updated_at": now_ms,
        **showcase,
    }
    # The record, its revision and its library index entries change together.
    created = library_index.save(r, product_id, record, now_ms)
    refresh_link_destinations(r, product_id)
    return get_product(r, product_id), created


def get_storefront_for_field(r: StoreClient, storefront_id: str) -> Storefront:
    try:
        return get_storefront(r, storefront_id)
    except NotFound:
        raise InvalidField.one(
            "storefront_id", f"storefront {storefront_id!r} does not exist"
        ) from None


def _product_json(product_id: str, data: dict[str, str], sales: dict[str, str]) -> dict:
    return {
        "id": product_id,
        "storefront_id": data["storefront_id"],
        "title": data["title"],
        "price": int(data["price"]),
        "commission_rate_bps": int(data["commission_rate_bps"]),
        "web_url": data["web_url"],
        "app_url": data["app_url"] or None,
        "active": data["active"] == "1",
        # Absent on a product saved before the library had them: none.
        "category": data.get("category") or None,
        "image_url": data.get("image_url") or None,
        "share_code": data.get("share_code") or None,
        "created_at": int(data["created_at"]),
        "updated_at": int(data["updated_at"]),
        "sales": {"orders": int(sales.get("orders", 0)), "gmv": int(sales.get("gmv", 0))},
    }


def get_product(r: StoreClient, product_id: str) -> dict:
    pipe = r.pipeline(transaction=False)
    pipe.hgetall(keys.product(product_id))
    pipe.hgetall(keys.product_sales(product_id))
    data, sales = pipe.execute()
    if not data or "title" not in data:
        raise NotFound(f"product {product_id!r} not found")
    return _product_json(product_id, data, sales)


class HoldsStore(Protocol):
    """What ``product`` needs of a context (``Context`` holds more): the registry
    cannot import ``context``, whose signers import the registry."""

    @property
    def store(self) -> StoreClient: ...


def product(ctx: HoldsStore, product_id: str) -> dict:
    """A product with every field, as the API shows it (``NotFound`` if none)."""
    return get_product(ctx.store, product_id)


def products_by_id(r: StoreClient, product_ids: list[str]) -> list[dict]:
    """The products named, in that order (one round trip); those not found are left out."""
    pipe = r.pipeline(transaction=False)
    for pid in product_ids:
        pipe.hgetall(keys.product(pid))
        pipe.hgetall(keys.product_sales(pid))
    raw = pipe.execute()
    return [
        _product_json(pid, raw[2 * i], raw[2 * i + 1])
        for i, pid in enumerate(product_ids)
        if raw[2 * i].get("title")
    ]


def list_products(
    r: StoreClient,
    *,
    storefront_id: str | None = None,
    active: bool | None = None,
    by_title: bool = False,
) -> list[dict]:
    """Every product (or a storefront's), by id or by title: for the pages that
    show them all (the library's search pages by cursor, ``library_search``)."""
    index = keys.storefront_products(storefront_id) if storefront_id else keys.products()
    items = products_by_id(r, sorted(r.smembers(index)))
    if active is not None:
        items = [p for p in items if p["active"] is active]
    if by_title:
        items.sort(key=lambda p: (p["title"], p["id"]))
    return items


# -- link destinations --------------------------------------------------------------

# KEYS[1] link hash
# ARGV[1] product revision; ARGV[2..] field, value pairs
# Writes the fields only if this revision is not older than the one the link has,
# so a slow writer can never put back an older destination.
LINK_DESTINATION = Script(
    """
local held = tonumber(redis.call('HGET', KEYS[1], 'rev') or '-1')
local rev = tonumber(ARGV[1])
if rev < held then return 0 end
redis.call('HSET', KEYS[1], 'rev', ARGV[1], unpack(ARGV, 2))
return 1
"""
)


def destination_fields(r: StoreClient, product_id: str) -> tuple[int, dict[str, str]]:
    """The product revision and the fields a link copies from its product."""
    data = r.hgetall(keys.product(product_id))
    if not data:
        raise NotFound(f"product {product_id!r} not found")
    click_param = r.hget(keys.storefront(data["storefront_id"]), "click_param")
    return int(data["rev"]), {
        "web_url": data["web_url"],
        "app_url": data["app_url"],
        "product_active": data["active"],
        "storefront_id": data["storefront_id"],
        "click_param": click_param or DEFAULT_CLICK_PARAM,
    }


def write_destination(
    r: StoreClient | StorePipeline, link_id: str, rev: int, fields: dict[str, str]
) -> None:
    args: list[Any] = [rev]
    for name, value in fields.items():
        args += [name, value]
    LINK_DESTINATION(r, [keys.link(link_id)], args)


def refresh_link_destinations(r: StoreClient, product_id: str) -> int:
    """Copy a product's destination into each of its links; answers how many."""
    rev, fields = destination_fields(r, product_id)
    link_ids = r.smembers(keys.product_links(product_id))
    for link_id in link_ids:
        write_destination(r, link_id, rev, fields)
    return len(link_ids)
