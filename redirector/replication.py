"""Money writes confirmed on replicas before they are answered (``WAIT``).

Redis replicates asynchronously: a write its master acknowledged may be on no
replica when the master dies, and the replica promoted in its place (a
cluster's failover) never had it. For clicks the spool covers a store away;
an order callback answered 200 is never sent again, so with
``REDIRECTOR_MONEY_REPLICAS`` set, a money write is answered only once that
many replicas hold it, else 503 with ``Retry-After`` (``NotReplicated``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

import redis
from redis.cluster import RedisCluster, RedisClusterException
from redis.crc import key_slot
from redis.exceptions import AskError, MovedError, NoScriptError

from .errors import NotReplicated, StoreUnavailable
from .store import STORE_AWAY, UNAVAILABLE_ERRORS, Script, StoreClient

__all__ = ["REPLICA_TIMEOUT_MS", "confirm_replicated", "run_replicated"]

# How long a money write waits for its replicas' acknowledgement before it is
# answered 503: asked for, an acknowledgement takes one round trip to each
# replica, so a second means a replica away or far behind, and a callback's
# thread is not held longer than the storefront's retry would cost.
REPLICA_TIMEOUT_MS = 1000
# A wrapped client raises StoreUnavailable, a cluster node's own client redis-py's errors.
_AWAY: tuple[type[Exception], ...] = (StoreUnavailable, *UNAVAILABLE_ERRORS)


def run_replicated(
    client: StoreClient,
    script: Script,
    keys: Sequence[str],
    args: Sequence[Any],
    replicas: int,
    mark: str,
) -> Any:
    """``script``'s reply, as ``script(client, keys, args)``; with ``replicas``
    above 0, only once that many replicas hold what it wrote.

    Replication is asynchronous: a write the master acknowledged may be on no
    replica when it dies, and the replica promoted in its place never had it.
    So the script, an increment of ``mark`` (a counter in the script's slot,
    written only for this) and ``WAIT replicas`` go on one connection to the
    slot's master, in that order: WAIT counts the replicas that acknowledged
    this connection's last write, the increment, which the master's stream
    carries after the script's writes and after every write it made before.
    The acknowledgement therefore also covers a reply that depends on an
    earlier write ("already applied", "already closed"), made by another
    request whose own WAIT may have failed. Fewer replicas within
    ``REPLICA_TIMEOUT_MS``: ``NotReplicated`` (503), the write made on the
    master all the same; a retry finds it and answers once it is replicated."""
    if replicas <= 0:
        return script(client, keys, args)
    return _replicated(client, keys[0], mark, replicas, script, keys, args)


def confirm_replicated(client: StoreClient, key: str, mark: str, replicas: int) -> bool:
    """Whether ``key`` is on its slot's master, and, when it is, on
    ``replicas`` replicas with everything the master wrote before (as
    ``run_replicated``: ``EXISTS``, the increment of ``mark`` and ``WAIT`` on
    one connection). For a write found already made, maybe by a request
    answered 503 because its own WAIT failed: False means it is not there
    (lost in a failover: make it again); ``NotReplicated`` that it is not yet
    on enough replicas."""
    if replicas <= 0:
        return True  # nothing asked: the caller's own read is the answer
    return bool(_replicated(client, key, mark, replicas, None, (key,), ()))


def _replicated(
    client: Any,
    key: str,
    mark: str,
    replicas: int,
    script: Script | None,
    keys: Sequence[str],
    args: Sequence[Any],
) -> Any:
    """The script's reply (or ``EXISTS key``'s without one), once ``replicas``
    replicas acknowledged the increment of ``mark`` sent after it, on the
    same connection to the master of ``key``'s slot."""
    slot, marks = key_slot(key.encode()), key_slot(mark.encode())
    if slot != marks:
        raise ValueError(f"{mark!r} is not in the slot of {key!r}: WAIT would confirm nothing")
    node = _master_of(client, key)
    for attempt in (1, 2):
        # A redis-py pipeline of one server: its commands share one connection, in order.
        pipe = node.pipeline(transaction=False)
        if script is None:
            pipe.exists(key)
        else:
            script.queue(pipe, keys, args)
        pipe.incr(mark)
        pipe.execute_command("WAIT", replicas, REPLICA_TIMEOUT_MS)
        try:
            answer, _, acked = pipe.execute(raise_on_error=False)
        except _AWAY as exc:
            _rediscover(client)
            raise StoreUnavailable(STORE_AWAY) from exc
        if script is not None and attempt == 1 and isinstance(answer, NoScriptError):
            node.script_load(script.source)
            continue
        if isinstance(answer, MovedError | AskError):
            # The slot has another master now (a failover): nothing was written.
            _rediscover(client)
            raise StoreUnavailable(STORE_AWAY) from answer
        if isinstance(answer, UNAVAILABLE_ERRORS):
            raise StoreUnavailable(STORE_AWAY) from answer
        if isinstance(answer, Exception):
            raise answer
        if isinstance(acked, Exception) or acked < replicas:
            raise NotReplicated(
                f"written, but confirmed by {0 if isinstance(acked, Exception) else acked} "
                f"of the {replicas} replicas asked for in {REPLICA_TIMEOUT_MS} ms; retry shortly"
            )
        return answer
    raise AssertionError("unreachable")


def _master_of(client: Any, key: str) -> Any:
    """The client of the server that writes ``key``: on a cluster, the
    redis.Redis of its slot's master (one connection pool per node)."""
    if not isinstance(client, RedisCluster):
        return client
    try:
        return client.get_redis_connection(client.get_node_from_key(key))
    except (RedisClusterException, redis.RedisError) as exc:  # no node serves the slot
        _rediscover(client)
        raise StoreUnavailable(STORE_AWAY) from exc


def _rediscover(client: Any) -> None:
    """A cluster's slot table read again (after a node failed or a slot moved),
    so that the next call goes to the slot's master now; best effort: when no
    node answers, the next command of the cluster client tries again."""
    if isinstance(client, RedisCluster):
        with contextlib.suppress(RedisClusterException, redis.RedisError):
            client.nodes_manager.initialize()
