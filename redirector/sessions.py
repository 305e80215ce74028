"""Console sessions, kept on the server so that they can end.

Rules:
- signing in starts a session: a random id (256 bits) that the signed cookie
  carries; the store keeps, under the id's SHA-256, who holds the session
  (``holder``: the admin, or one creator) for ``MAX_AGE_SECONDS``;
- a session holds only while the store still names the same holder under its
  id: a copied cookie dies with the session it was copied from;
- signing out ends that one session;
- rotating a creator's API key ends every session that creator holds (the
  sessions of a holder are indexed, by when each expires, for that).

The store keeps only hashes of the ids: reading it never yields a cookie.
"""

from __future__ import annotations

import hashlib
import secrets

import redis

from . import keys
from .context import Context

__all__ = [
    "ADMIN_HOLDER",
    "MAX_AGE_SECONDS",
    "creator_holder",
    "end_all",
    "end_session",
    "is_live",
    "start_session",
]

MAX_AGE_SECONDS = 12 * 3600
ADMIN_HOLDER = "admin"


def creator_holder(creator_id: str) -> str:
    return f"creator:{creator_id}"


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def start_session(ctx: Context, holder: str, now_ms: int) -> str:
    """A new session of ``holder``; answers its id (for the cookie only)."""
    session_id = secrets.token_urlsafe(32)
    hashed = _hash(session_id)
    index = keys.console_sessions(holder)
    pipe = ctx.store.pipeline(transaction=True)  # one slot: {console}
    pipe.set(keys.console_session(hashed), holder, ex=MAX_AGE_SECONDS)
    pipe.zremrangebyscore(index, "-inf", now_ms)  # the expired ones leave the index
    pipe.zadd(index, {hashed: now_ms + MAX_AGE_SECONDS * 1000})
    pipe.expire(index, MAX_AGE_SECONDS)
    pipe.execute()
    return session_id


def is_live(ctx: Context, session_id: str, holder: str) -> bool:
    held_by = ctx.store.get(keys.console_session(_hash(session_id)))
    return held_by is not None and held_by == holder


def end_session(ctx: Context, session_id: str, holder: str) -> None:
    hashed = _hash(session_id)
    pipe = ctx.store.pipeline(transaction=True)
    pipe.delete(keys.console_session(hashed))
    pipe.zrem(keys.console_sessions(holder), hashed)
    pipe.execute()


def end_all(ctx: Context, holder: str) -> int:
    """End every session of ``holder``; answers how many were open."""
    index = keys.console_sessions(holder)
    with ctx.store.pipeline(transaction=True) as pipe:
        while True:
            try:
                pipe.watch(index)  # a session started meanwhile is ended too, on a retry
                hashed = pipe.zrange(index, 0, -1)
                pipe.multi()
                for one in hashed:
                    pipe.delete(keys.console_session(one))
                pipe.delete(index)
                pipe.execute()
                return len(hashed)
            except redis.WatchError:
                continue
