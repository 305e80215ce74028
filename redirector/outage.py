"""The redirect through a store outage: recent links redirected still, their
clicks spooled and replayed.

While the store is unreachable, a link this worker redirected in the last
``REDIRECTOR_LINK_CACHE_SECONDS`` is still redirected: its click is written to
the local spool (``spool.py``) before the answer, and replayed into the store,
exactly once, when it returns. Any other link answers 503.

The worker's copy of a link is its last 302 outcome from the click script and
when it came, for at most ``RECENT_LINKS`` links (the least recently
redirected dropped first). It is read only while the store is away: in normal
operation every click reads the link's state in the store, so a disabled link
stops at once. Only with Redis: the embedded store is never away.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import redis

from . import clicks, spool
from .clicks import ClickFacts, ClickOutcome, ClickPolicy
from .config import Settings
from .errors import StoreUnavailable
from .store import StoreClient

__all__ = ["RECENT_LINKS", "Outage", "replayed"]

RECENT_LINKS = 10_000


def replayed(outcome: ClickOutcome) -> str:
    """What became of a replayed click, as the spool's log counts it."""
    if outcome.status != 302:
        return "dropped (no such link)"
    return "already recorded" if outcome.already_recorded else "counted"


class Outage:
    """One worker's recent links and its spool over the store's spool directory."""

    def __init__(self, settings: Settings, store: StoreClient, policy: ClickPolicy) -> None:
        self.store = store
        self.policy = policy
        self.cache_seconds = settings.link_cache_seconds
        self.remembers = self.cache_seconds > 0
        # link id -> (its last 302 outcome, time.monotonic() then)
        self.recent: dict[str, tuple[ClickOutcome, float]] = {}
        self._evict_lock = threading.Lock()
        directory = spool.store_directory(
            settings.spool_dir, settings.redis_url, settings.redis_cluster_url
        )
        self.spool = spool.Spool(
            directory,
            replay=self.replay,
            available=self.store_answers,
            secret_keys=settings.secret_keys,
        )
        self.spool.start_if_pending()

    def remember(self, link_id: str, outcome: ClickOutcome) -> None:
        """The store answered 302 for the link: this is its copy now."""
        if self.remembers:
            recent = self.recent
            recent.pop(link_id, None)  # to the end: the most recently used
            recent[link_id] = (outcome, time.monotonic())
            if len(recent) > RECENT_LINKS:
                self._evict()

    def forget(self, link_id: str) -> None:
        """The store refused the link (404, 410): nor is it redirected in an outage."""
        self.recent.pop(link_id, None)

    def redirect_offline(self, click: ClickFacts) -> ClickOutcome | None:
        """The store is away: the outcome to answer a recently redirected link
        with, once its click is spooled; None for any other link. Raises
        ``OSError`` when the spool refuses the click (it must not be answered)."""
        seen = self.recent.get(click.link_id)
        if seen is None or time.monotonic() - seen[1] > self.cache_seconds:
            return None
        self.spool.append(click.to_spool())
        return seen[0]

    def replay(self, batch: list[dict[str, Any]]) -> list[str]:
        """Record spooled clicks (``spool.Spool`` calls this, a batch per round
        trip); answers what became of each. Raises ``StoreUnavailable``."""
        spooled = [ClickFacts.from_spool(line) for line in batch]
        return [replayed(o) for o in clicks.replay_clicks(self.store, spooled, self.policy)]

    def store_answers(self) -> bool:
        try:
            return bool(self.store.ping())
        except (StoreUnavailable, redis.RedisError):
            return False

    def _evict(self) -> None:
        """Drop the least recently redirected links beyond ``RECENT_LINKS``."""
        with self._evict_lock:
            recent = self.recent
            while len(recent) > RECENT_LINKS:
                try:
                    del recent[next(iter(recent))]
                except (KeyError, RuntimeError, StopIteration):
                    break  # another thread moved a link meanwhile: the next click evicts
