"""Postback endpoints: registered, listed, removed, their secrets rotated.

Rules (docs/postbacks.md):
- a creator registers endpoints for its own orders' events (scope: that
  creator); an admin for everything, or for one agency's creators
  (``agency_id``). ``statement.closed`` is about the whole service: only an
  endpoint that sees everything may subscribe to it;
- an owner sees and changes only its own endpoints (another's is 404); an
  admin sees and changes all; at most ``MAX_ENDPOINTS_PER_OWNER`` per owner;
- the URL passes the private-address rule (``guard``) when registered;
- the signing secret (``whsec_``, 32 random bytes) is shown once and kept
  sealed (``secrets_at_rest``); a rotation makes a new one and keeps the
  previous ones signing until the grace ends;
- an endpoint receives the events recorded after it was registered: its route
  keeps the money sequence of its registration (``since``), read in the same
  script that writes the route, so no event falls between.

The record lives in the endpoint's own slot (``keys.postback_endpoint``); its
route (scope, events, since) in ``{money}`` beside the outbox, where the
dispatcher reads both in one transaction.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import redis

from .. import keys, registry, webhooks
from ..context import Context
from ..errors import Conflict, InvalidField, NotFound
from ..ids import random_id
from ..secrets_at_rest import SecretBox, SecretUnreadable, box_for
from ..store import Script, StoreClient
from . import guard
from .events import EVENT_TYPES, WHOLE_SERVICE_TYPES
from .outbox import OutboxEntry

__all__ = [
    "ENDPOINT_ID_PATTERN",
    "MAX_ENDPOINTS_PER_OWNER",
    "Endpoint",
    "NewEndpoint",
    "Route",
    "delete",
    "get",
    "list_endpoints",
    "register",
    "rotate_secret",
    "routes",
]

ENDPOINT_ID_PREFIX = "ep_"
ENDPOINT_ID_LENGTH = 16
ENDPOINT_ID_PATTERN = rf"^{ENDPOINT_ID_PREFIX}[A-Za-z0-9]{{{ENDPOINT_ID_LENGTH}}}$"
MAX_ENDPOINTS_PER_OWNER = 20
ADMIN_OWNER = "admin"

# KEYS[1] the routes   KEYS[2] the money sequence
# ARGV[1] endpoint id   ARGV[2] its route (JSON). Stores "<sequence now> <route>".
REGISTER = Script(
    """
local since = redis.call('GET', KEYS[2]) or '0'
redis.call('HSET', KEYS[1], ARGV[1], since .. ' ' .. ARGV[2])
return since
"""
)


@dataclass(frozen=True, slots=True)
class NewEndpoint:
    """What a registration asks for."""

    url: str
    events: Sequence[str]
    agency_id: str | None = None


@dataclass(frozen=True, slots=True)
class Route:
    """Which events an endpoint receives (``receives``)."""

    endpoint_id: str
    owner: str  # "admin" or "creator:<id>"
    creator_id: str | None  # a creator's endpoint: that creator's events
    agency_id: str | None  # an admin's endpoint for one agency's creators
    events: frozenset[str]
    since: int  # the money sequence at registration: later events only

    def receives(self, entry: OutboxEntry) -> bool:
        event = entry.event
        if entry.sequence <= self.since or event.type not in self.events:
            return False
        if self.creator_id is not None:
            return event.creator_id == self.creator_id
        if self.agency_id is not None:
            return event.agency_id == self.agency_id
        return True

    def to_json(self) -> dict[str, Any]:
        return {
            "owner": self.owner,
            "creator_id": self.creator_id,
            "agency_id": self.agency_id,
            "events": sorted(self.events),
        }

    @classmethod
    def parse(cls, endpoint_id: str, stored: str) -> Route:
        since, _, body = stored.partition(" ")
        doc = json.loads(body)
        return cls(
            endpoint_id,
            doc["owner"],
            doc["creator_id"],
            doc["agency_id"],
            frozenset(doc["events"]),
            int(since),
        )


@dataclass(frozen=True, slots=True)
class Endpoint:
    """An endpoint's record, as stored."""

    id: str
    url: str
    owner: str
    creator_id: str | None
    agency_id: str | None
    events: tuple[str, ...]
    secrets: tuple[dict[str, Any], ...]  # {"sealed", "until"}: newest first
    created_at: int
    next_at: int | None  # when the head of its queue is due (None: nothing waits)

    @classmethod
    def from_hash(cls, data: Mapping[str, str]) -> Endpoint:
        return cls(
            id=data["id"],
            url=data["url"],
            owner=data["owner"],
            creator_id=data.get("creator_id") or None,
            agency_id=data.get("agency_id") or None,
            events=tuple(json.loads(data["events"])),
            secrets=tuple(json.loads(data["secrets"])),
            created_at=int(data["created_at"]),
            next_at=int(data["next_at"]) if data.get("next_at") else None,
        )

    def to_json(self, now_ms: int) -> dict[str, Any]:
        """The endpoint as the API shows it at ``now_ms`` (never a secret)."""
        previous = [s["until"] for s in self.secrets[1:] if (s["until"] or 0) > now_ms]
        return {
            "id": self.id,
            "url": self.url,
            "events": list(self.events),
            "creator_id": self.creator_id,
            "agency_id": self.agency_id,
            "created_at": self.created_at,
            "previous_secret_expires_at": max(previous) if previous else None,
        }

    def signing_secrets(self, now_ms: int, box: SecretBox) -> list[str]:
        """The secrets in force now, newest first (one a key no longer opens is left out)."""
        out = []
        for entry in self.secrets:
            if entry["until"] is not None and now_ms >= entry["until"]:
                continue
            try:
                out.append(box.open(entry["sealed"]))
            except SecretUnreadable:
                continue
        return out


def _owner(creator_id: str | None) -> str:
    return f"creator:{creator_id}" if creator_id else ADMIN_OWNER


def _check_events(events: Sequence[str], whole_service: bool) -> list[str]:
    if not events:
        raise InvalidField.one("events", "name at least one event type")
    unknown = [e for e in events if e not in EVENT_TYPES]
    if unknown:
        raise InvalidField.one(
            "events", f"unknown {', '.join(map(repr, unknown))}; known: {', '.join(EVENT_TYPES)}"
        )
    if not whole_service:
        refused = sorted(set(events) & WHOLE_SERVICE_TYPES)
        if refused:
            raise InvalidField.one(
                "events",
                f"{', '.join(refused)} is about the whole service: only an admin's "
                "endpoint without agency_id receives it",
            )
    return list(dict.fromkeys(events))


def register(ctx: Context, creator_id: str | None, new: NewEndpoint) -> tuple[Endpoint, str]:
    """Register an endpoint for a creator (``creator_id``) or the admin (None).
    Answers the endpoint and its secret, shown this once."""
    r = ctx.store
    if new.agency_id is not None and not registry.agency_exists(r, new.agency_id):
        raise InvalidField.one("agency_id", f"no agency {new.agency_id!r}")
    events = _check_events(new.events, creator_id is None and new.agency_id is None)
    try:
        guard.addresses(
            guard.parse_target(new.url), allow_private=ctx.settings.webhook_allow_private
        )
    except guard.BadTarget as exc:
        raise InvalidField.one("url", str(exc)) from None
    owner = _owner(creator_id)
    if sum(1 for route in routes(r) if route.owner == owner) >= MAX_ENDPOINTS_PER_OWNER:
        raise Conflict(f"at most {MAX_ENDPOINTS_PER_OWNER} endpoints each: delete one first")
    secret = webhooks.new_secret()
    endpoint = Endpoint(
        id=ENDPOINT_ID_PREFIX + random_id(ENDPOINT_ID_LENGTH),
        url=new.url,
        owner=owner,
        creator_id=creator_id,
        agency_id=new.agency_id,
        events=tuple(events),
        secrets=({"sealed": _box(ctx).seal(secret), "until": None},),
        created_at=ctx.clock.now_ms(),
        next_at=None,
    )
    # The record first: a route without its record would take no delivery.
    r.hset(
        keys.postback_endpoint(endpoint.id),
        mapping={
            "id": endpoint.id,
            "url": endpoint.url,
            "owner": owner,
            "creator_id": creator_id or "",
            "agency_id": new.agency_id or "",
            "events": json.dumps(events),
            "secrets": json.dumps(list(endpoint.secrets)),
            "created_at": endpoint.created_at,
            "next_at": "",
        },
    )
    route = Route(endpoint.id, owner, creator_id, new.agency_id, frozenset(events), 0)
    REGISTER(
        r,
        [keys.postback_routes(), keys.money_sequence()],
        [endpoint.id, json.dumps(route.to_json())],
    )
    return endpoint, secret


def routes(r: StoreClient) -> list[Route]:
    return [Route.parse(i, stored) for i, stored in r.hgetall(keys.postback_routes()).items()]


def get(r: StoreClient, endpoint_id: str, viewer: str | None) -> Endpoint:
    """The endpoint, if ``viewer`` (a creator id; None: the admin) may see it."""
    data = r.hgetall(keys.postback_endpoint(endpoint_id))
    if not data or (viewer is not None and data["owner"] != _owner(viewer)):
        raise NotFound(f"no webhook endpoint {endpoint_id!r}")
    return Endpoint.from_hash(data)


def list_endpoints(r: StoreClient, viewer: str | None) -> list[Endpoint]:
    """The viewer's endpoints (the admin: every one), oldest first."""
    owner = None if viewer is None else _owner(viewer)
    ids = sorted(route.endpoint_id for route in routes(r) if owner in (None, route.owner))
    pipe = r.pipeline(transaction=False)
    for endpoint_id in ids:
        pipe.hgetall(keys.postback_endpoint(endpoint_id))
    found = [Endpoint.from_hash(data) for data in pipe.execute() if data]
    return sorted(found, key=lambda e: (e.created_at, e.id))


def delete(r: StoreClient, endpoint_id: str, viewer: str | None) -> Endpoint:
    """Remove the endpoint: its route first (nothing more is fanned out to it),
    then its record, queue and log (an attempt in flight is not recorded)."""
    endpoint = get(r, endpoint_id, viewer)
    r.hdel(keys.postback_routes(), endpoint_id)
    r.delete(*keys.postback_keys(endpoint_id))
    return endpoint


def rotate_secret(
    ctx: Context, endpoint_id: str, viewer: str | None, grace_seconds: int
) -> tuple[str, int]:
    """A new secret signs from now on; the previous ones sign too until ``now +
    grace``. Answers (the new secret, the end of the grace in ms)."""
    r, box = ctx.store, _box(ctx)
    get(r, endpoint_id, viewer)
    now_ms = ctx.clock.now_ms()
    until = now_ms + grace_seconds * 1000
    secret = webhooks.new_secret()
    key = keys.postback_endpoint(endpoint_id)
    with r.pipeline(transaction=True) as pipe:
        while True:
            try:
                pipe.watch(key)
                raw = pipe.hget(key, "secrets")
                if raw is None:
                    raise NotFound(f"no webhook endpoint {endpoint_id!r}")
                kept = [
                    {"sealed": s["sealed"], "until": min(until, s["until"] or until)}
                    for s in json.loads(raw)
                    if s["until"] is None or s["until"] > now_ms
                ]
                fresh = {"sealed": box.seal(secret), "until": None}
                pipe.multi()
                pipe.hset(key, "secrets", json.dumps([fresh, *kept]))
                pipe.execute()
                return secret, until
            except redis.WatchError:
                continue


def _box(ctx: Context) -> SecretBox:
    return box_for(ctx.settings.secret_keys)
