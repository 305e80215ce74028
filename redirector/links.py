"""Tracking links: creation, signed public tokens, reading with stats, disabling.

A link binds a creator, a post and a product on a channel. Its public token is
``<link id>.<signature>``, signed with itsdangerous under a salt of its own
(``LINK_SALT``), so no other signature of the service can pass for a link.
Keys rotate through ``REDIRECTOR_SECRET_KEYS``: the newest signs, all verify.

Rules kept here (``make_link``, ``known_link_id``):
- links are made by creators: a link belongs to someone who posts, so an admin
  cannot make one (``Forbidden``);
- a link's channel must have a program (the programs in force name them);
- its product must exist and be active;
- a link id is ``LINK_ID_LENGTH`` letters or digits; a malformed id names no
  link, and is answered as an unknown one (not found, not invalid);
- a post id and a placement, when given, follow ``POST_ID`` and ``Placement``;
- sub-ids (``sub1``, ``sub2``, ``sub3``: the creator's own labels, a campaign,
  an audience, a variant) each follow ``SUB_ID``; no other name is one. They
  are fixed when the link is made, and stay on the link only: the redirect
  never sends them to the storefront (the click id already names the link);
- a creator makes links within ``REDIRECTOR_LINK_CREATION_LIMIT`` (``quota``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from functools import lru_cache
from typing import Any, Literal, get_args

from itsdangerous import BadSignature

from . import keys, quota, registry
from .errors import Forbidden, InvalidField, NotFound
from .ids import ALPHABET, KeyedSigner, random_id
from .store import StoreClient

LINK_SALT = "redirector.link"
LINK_ID_LENGTH = 10
LINK_ID = re.compile(rf"^[A-Za-z0-9]{{{LINK_ID_LENGTH}}}$")
POST_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")
Placement = Literal["video", "article", "image", "live"]
PLACEMENTS: tuple[Placement, ...] = get_args(Placement)
# No ":" (it separates key segments) and nothing a URL, a CSV cell or a page
# would need to escape.
SUB_ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
SubIdName = Literal["sub1", "sub2", "sub3"]
SUB_ID_NAMES: tuple[SubIdName, ...] = get_args(SubIdName)
STAT_FIELDS = (
    "clicks",
    "unique_clicks",
    "bot_clicks",
    "suspicious_clicks",  # clicks flagged as part of a flood (``fraud``), counted in clicks too
    "orders",
    "gmv",
    "commission",
)
DAILY_FIELDS = ("clicks", "unique_clicks", "bot_clicks", "suspicious_clicks")
_LINK_ID_CHARS = frozenset(ALPHABET)


class LinkSigner:
    """Signs link ids into tokens and verifies tokens back, memoised per process
    (the redirect verifies the same hot tokens over and over)."""

    def __init__(self, secret_keys: Sequence[str]) -> None:
        # itsdangerous signs with the *last* key; the setting lists the newest first.
        self._signer = KeyedSigner(list(reversed(secret_keys)), salt=LINK_SALT)
        self.link_id_for = lru_cache(maxsize=65536)(self._verify)

    def sign(self, link_id: str) -> str:
        return self._signer.sign(link_id).decode()

    def _verify(self, token: str) -> str | None:
        try:
            link_id = self._signer.unsign(token).decode()
        except (BadSignature, UnicodeError, ValueError):
            return None
        if len(link_id) != LINK_ID_LENGTH or not set(link_id) <= _LINK_ID_CHARS:
            return None
        return link_id


@dataclass(frozen=True, slots=True)
class NewLink:
    """A link as its maker asks for it (the API's body, the console's form)."""

    product_id: str
    channel: str
    post_id: str | None = None
    placement: Placement | None = None
    sub_ids: Mapping[str, str] = field(default_factory=dict)  # ``SUB_ID_NAMES`` -> value


def make_link(
    r: StoreClient,
    maker: str | None,
    new: NewLink,
    *,
    channels: Sequence[str],
    now_ms: int,
    limit: tuple[quota.Rate, ...] = (),
) -> str:
    """Make a link for ``maker``, a creator's id (None: the caller is no creator),
    by the rules above, checked in that order, within ``limit`` (``quota.rates``
    of the setting); answers its id."""
    if maker is None:
        raise Forbidden("links belong to creators: call this with a creator's API key")
    check_channel(new.channel, channels)
    check_post_id(new.post_id)
    check_placement(new.placement)
    check_sub_ids(new.sub_ids)
    check_product(r, new.product_id)
    quota.spend(r, maker, limit, now_ms)  # last: a link refused for a rule is not counted
    return create_link(
        r,
        creator_id=maker,
        product_id=new.product_id,
        channel=new.channel,
        post_id=new.post_id,
        placement=new.placement,
        now_ms=now_ms,
        sub_ids=new.sub_ids,
    )


def known_link_id(raw: str) -> str:
    """The id, or not found: a malformed id can name no link, the same answer as
    an unknown one."""
    if not LINK_ID.fullmatch(raw):
        raise NotFound(f"link {raw!r} not found")
    return raw


def create_link(
    r: StoreClient,
    *,
    creator_id: str,
    product_id: str,
    channel: str,
    post_id: str | None,
    placement: str | None,
    now_ms: int,
    sub_ids: Mapping[str, str] | None = None,
) -> str:
    """Make a link and answer its id. The product must exist and be active."""
    sub_ids = sub_ids or {}
    check_product(r, product_id)
    link_id = random_id(LINK_ID_LENGTH)
    # Join the product's link set before copying its destination: a product
    # change racing with this either sees the link or was read by it.
    r.sadd(keys.product_links(product_id), link_id)
    rev, destination = registry.destination_fields(r, product_id)
    r.hset(
        keys.link(link_id),
        mapping={
            "creator_id": creator_id,
            "product_id": product_id,
            "channel": channel,
            "post_id": post_id or "",
            "placement": placement or "",
            "created_at": now_ms,
            "active": "1",
            **sub_ids,
        },
    )
    registry.write_destination(r, link_id, rev, destination)
    pipe = r.pipeline(transaction=False)
    pipe.zadd(keys.creator_links(creator_id), {link_id: now_ms})
    pipe.zadd(keys.links(), {link_id: now_ms})
    for name, value in sub_ids.items():
        pipe.zadd(keys.creator_sub_links(creator_id, name, value), {link_id: now_ms})
    pipe.execute()
    return link_id


def _stats(clicks: dict[str, str], money: dict[str, str]) -> dict[str, int]:
    # Click counters live in the link's slot, order figures in the money slot.
    merged = {**clicks, **money}
    return {name: int(merged.get(name, 0)) for name in STAT_FIELDS}


def _link_json(
    link_id: str, data: dict[str, str], stats: dict[str, str], money: dict[str, str]
) -> dict[str, Any]:
    return {
        "id": link_id,
        "creator_id": data["creator_id"],
        "product_id": data["product_id"],
        "storefront_id": data["storefront_id"],
        "channel": data["channel"],
        "post_id": data["post_id"] or None,
        "placement": data["placement"] or None,
        "sub_ids": {name: data.get(name) for name in SUB_ID_NAMES},
        "created_at": int(data["created_at"]),
        "active": data["active"] == "1",
        "product_active": data["product_active"] == "1",
        "stats": _stats(stats, money),
    }


def get_link(r: StoreClient, link_id: str, *, creator_id: str | None = None) -> dict[str, Any]:
    """A link with its stats. With ``creator_id``, another creator's link is
    answered as not found: its existence is none of their business."""
    pipe = r.pipeline(transaction=False)
    pipe.hgetall(keys.link(link_id))
    pipe.hgetall(keys.link_stats(link_id))
    pipe.hgetall(keys.link_money(link_id))
    data, stats, money = pipe.execute()
    if not data or "creator_id" not in data:
        raise NotFound(f"link {link_id!r} not found")
    if creator_id is not None and data["creator_id"] != creator_id:
        raise NotFound(f"link {link_id!r} not found")
    return _link_json(link_id, data, stats, money)


def list_links(
    r: StoreClient,
    *,
    creator_id: str | None = None,
    offset: int = 0,
    limit: int = 100,
    sub_ids: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """Newest first; with ``sub_ids``, only the links made with each of those
    values (one creator's: see ``matching_sub_ids``)."""
    if sub_ids:
        link_ids = matching_sub_ids(r, creator_id, sub_ids)[offset : offset + limit]
    else:
        index = keys.creator_links(creator_id) if creator_id else keys.links()
        link_ids = r.zrevrange(index, offset, offset + limit - 1)
    pipe = r.pipeline(transaction=False)
    for link_id in link_ids:
        pipe.hgetall(keys.link(link_id))
        pipe.hgetall(keys.link_stats(link_id))
        pipe.hgetall(keys.link_money(link_id))
    raw = pipe.execute()
    return [
        _link_json(lid, raw[3 * i], raw[3 * i + 1], raw[3 * i + 2])
        for i, lid in enumerate(link_ids)
    ]


def every_link(
    r: StoreClient,
    creator_id: str | None = None,
    page: int = 1000,
    sub_ids: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """Every link (of one creator, or all), newest first, read ``page`` at a time."""
    out: list[dict[str, Any]] = []
    while True:
        batch = list_links(r, creator_id=creator_id, offset=len(out), limit=page, sub_ids=sub_ids)
        out.extend(batch)
        if len(batch) < page:
            return out


def daily_series(r: StoreClient, link_id: str) -> list[dict[str, Any]]:
    """Per local day: clicks, unique, bot and suspicious clicks."""
    days: dict[str, dict[str, int]] = {}
    for name, value in r.hgetall(keys.link_daily(link_id)).items():
        day, _, counter = name.partition(":")
        days.setdefault(day, {})[counter] = int(value)
    return [{"date": day, **{c: days[day].get(c, 0) for c in DAILY_FIELDS}} for day in sorted(days)]


def disable_link(
    r: StoreClient, link_id: str, *, creator_id: str | None = None, now_ms: int
) -> dict[str, Any]:
    get_link(r, link_id, creator_id=creator_id)
    pipe = r.pipeline(
        transaction=True
    )  # again later changes nothing: the first disabling time stays
    pipe.hset(keys.link(link_id), "active", "0")
    pipe.hsetnx(keys.link(link_id), "disabled_at", now_ms)
    pipe.execute()
    return get_link(r, link_id)


def check_product(r: StoreClient, product_id: str) -> None:
    try:
        _, destination = registry.destination_fields(r, product_id)
    except NotFound:
        raise InvalidField.one("product_id", f"product {product_id!r} does not exist") from None
    if destination["product_active"] != "1":
        raise InvalidField.one("product_id", f"product {product_id!r} is not active")


def check_channel(channel: str, channels: Sequence[str]) -> None:
    if channel not in channels:
        raise InvalidField.one(
            "channel", f"unknown channel {channel!r}; programs exist for {sorted(channels)}"
        )


def check_post_id(post_id: str | None) -> None:
    if post_id is not None and not POST_ID.match(post_id):
        raise InvalidField.one("post_id", f"must match {POST_ID.pattern}")


def check_placement(placement: str | None) -> None:
    if placement is not None and placement not in PLACEMENTS:
        raise InvalidField.one("placement", f"must be one of {list(PLACEMENTS)}")


def check_sub_ids(sub_ids: Mapping[str, str], prefix: str = "sub_ids.") -> None:
    """Each name one of ``SUB_ID_NAMES``, each value a ``SUB_ID``; a field named
    ``<prefix><name>`` is refused otherwise."""
    for name, value in sub_ids.items():
        if name not in SUB_ID_NAMES:
            raise InvalidField.one(
                prefix + name[:32], f"unknown sub-id; they are {', '.join(SUB_ID_NAMES)}"
            )
        if not isinstance(value, str) or not SUB_ID.fullmatch(value):
            raise InvalidField.one(prefix + name, f"must match {SUB_ID.pattern}")


def matching_sub_ids(
    r: StoreClient, creator_id: str | None, sub_ids: Mapping[str, str]
) -> list[str]:
    """The ids of the creator's links made with every one of ``sub_ids``, newest
    first. Sub-ids are a creator's own labels (two creators may mean different
    things by one word), so a filter needs the creator."""
    if creator_id is None:
        raise InvalidField.one("creator_id", "filtering by sub-id needs the creator's id")
    check_sub_ids(sub_ids, prefix="")
    pipe = r.pipeline(transaction=False)
    for name, value in sub_ids.items():
        pipe.zrange(keys.creator_sub_links(creator_id, name, value), 0, -1, withscores=True)
    indexes = [dict(index) for index in pipe.execute()]
    common = set(indexes[0]).intersection(*indexes[1:])
    # As the creator's own index orders them: by time made, then by id, newest first.
    return sorted(common, key=lambda link_id: (indexes[0][link_id], link_id), reverse=True)


def sub_id_stats(
    r: StoreClient, creator_id: str | None, by: str, sub_ids: Mapping[str, str]
) -> dict[str, Any]:
    """A creator's links (those made with every one of ``sub_ids``, if any) with
    their stats added up per value of ``by`` (``stats_by_sub_id``). One
    creator's, as the filters are (``matching_sub_ids``)."""
    if creator_id is None:
        raise InvalidField.one("creator_id", "stats by sub-id are one creator's: name it")
    if by not in SUB_ID_NAMES:
        raise InvalidField.one("by", f"must be one of {', '.join(SUB_ID_NAMES)}")
    every = every_link(r, creator_id, sub_ids=sub_ids)
    return {"creator_id": creator_id, "filters": dict(sub_ids), **stats_by_sub_id(every, by)}


def stats_by_sub_id(every: Sequence[Mapping[str, Any]], by: str) -> dict[str, Any]:
    """Links' stats added up per value of sub-id ``by``: a group per value, in
    value order, then the links made without one (``value`` None), so that the
    groups always add up to ``totals``."""
    groups: dict[str | None, dict[str, int]] = {}
    counts: dict[str | None, int] = {}
    for link in every:
        value = link["sub_ids"][by]
        sums = groups.setdefault(value, dict.fromkeys(STAT_FIELDS, 0))
        counts[value] = counts.get(value, 0) + 1
        for name in STAT_FIELDS:
            sums[name] += link["stats"][name]
    order = sorted(groups, key=lambda value: (value is None, value or ""))
    totals = {name: sum(g[name] for g in groups.values()) for name in STAT_FIELDS}
    return {
        "by": by,
        "groups": [{"value": v, "links": counts[v], "stats": groups[v]} for v in order],
        "totals": {"links": len(every), "stats": totals},
    }


def local_date(now_ms: int, tz: tzinfo) -> str:
    """The local date of an instant, memoised per minute (zone offsets are whole
    minutes), since every click needs it for the per-day series."""
    return _local_date_of_minute(now_ms // 60_000, tz)


@lru_cache(maxsize=256)
def _local_date_of_minute(minute: int, tz: tzinfo) -> str:
    return datetime.fromtimestamp(minute * 60, tz=tz).strftime("%Y-%m-%d")
