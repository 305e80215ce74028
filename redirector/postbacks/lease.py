"""A lease in the store: one holder at a time, across processes and hosts.

Taken with ``SET key token NX PX ttl`` (a random token of the holder's own),
renewed and released only by its holder (compare-and-expire,
compare-and-delete), so a holder that lost its lease (it expired while the
holder was stopped) can neither extend nor end the next holder's.
"""

from __future__ import annotations

import secrets

from ..store import Script, StoreClient

__all__ = ["Lease"]

# KEYS[1] the lease   ARGV[1] the holder's token   ARGV[2] ttl (ms)
# Answers 1 when renewed, 0 when the lease is not the holder's.
RENEW = Script(
    """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
"""
)

# KEYS[1] the lease   ARGV[1] the holder's token. Answers 1 when released.
RELEASE = Script(
    """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
return 1
"""
)


class Lease:
    """One key's lease, as one would-be holder sees it."""

    def __init__(self, store: StoreClient, key: str, ttl_ms: int) -> None:
        self.store = store
        self.key = key
        self.ttl_ms = ttl_ms
        self.token = secrets.token_urlsafe(16)

    def acquire(self) -> bool:
        return bool(self.store.set(self.key, self.token, nx=True, px=self.ttl_ms))

    def renew(self) -> bool:
        """Still held (and for another ``ttl_ms``)?"""
        return bool(RENEW(self.store, [self.key], [self.token, self.ttl_ms]))

    def release(self) -> bool:
        return bool(RELEASE(self.store, [self.key], [self.token]))
