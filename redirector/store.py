"""The store: a redis-py client for Redis, or fakeredis embedded in-process.

The client is chosen by the settings (``REDIS_URL``; nothing set means the
embedded store, said out loud at start). Lua scripts are module constants of
the modules that own them, wrapped in ``Script`` and run by SHA.

This is the boundary where a store that is away becomes ``StoreUnavailable``
(``errors``), with redis-py's error as its ``__cause__``: the clients
``connect`` makes (and any client handed to ``wrap``) raise it from commands,
pipelines and scripts, as ``run_scripts`` does on its direct path. The
failures that mean "away" are ``UNAVAILABLE_ERRORS``; any other store error
stays redis-py's own.
"""

from __future__ import annotations

import builtins
import contextlib
import functools
import hashlib
import os
import socket
import struct
import threading
import time
import weakref
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol, cast

import hiredis
import redis
from redis._parsers import BaseParser
from redis.backoff import NoBackoff
from redis.exceptions import NoScriptError, ResponseError
from redis.retry import Retry

from .config import Settings
from .errors import ConfigError, StoreUnavailable


class StorePipeline(Protocol):
    """A redis-py pipeline: commands queue (their answers come from ``execute``),
    except between ``watch`` and ``multi``, where they answer at once."""

    def __enter__(self) -> StorePipeline: ...
    def __exit__(self, *exc: object) -> None: ...
    def execute(self, raise_on_error: bool = True) -> list[Any]: ...
    def watch(self, *names: str) -> Any: ...
    def multi(self) -> None: ...
    def reset(self) -> None: ...
    def execute_command(self, *args: Any, **options: Any) -> Any: ...
    def get(self, name: str) -> Any: ...
    def set(self, name: str, value: Any, **options: Any) -> Any: ...
    def delete(self, *names: str) -> Any: ...
    def exists(self, *names: str) -> Any: ...
    def hget(self, name: str, key: str) -> Any: ...
    def hgetall(self, name: str) -> Any: ...
    def hmget(self, name: str, keys: Sequence[str], *args: str) -> Any: ...
    def hset(self, name: str, key: str | None = None, value: Any = None, **options: Any) -> Any: ...
    def hsetnx(self, name: str, key: str, value: Any) -> Any: ...
    def hincrby(self, name: str, key: str, amount: int = 1) -> Any: ...
    def hexists(self, name: str, key: str) -> Any: ...
    def sadd(self, name: str, *values: Any) -> Any: ...
    def smembers(self, name: str) -> Any: ...
    def zadd(self, name: str, mapping: Mapping[str, float], **options: Any) -> Any: ...
    def zrange(self, name: str, start: int, end: int, **options: Any) -> Any: ...
    def zrevrange(self, name: str, start: int, end: int, **options: Any) -> Any: ...
    def lrange(self, name: str, start: int, end: int) -> Any: ...
    def lindex(self, name: str, index: int) -> Any: ...
    def llen(self, name: str) -> Any: ...
    def hdel(self, name: str, *keys: str) -> Any: ...
    def zrem(self, name: str, *values: str) -> Any: ...
    def zcount(self, name: str, min: float | str, max: float | str) -> Any: ...
    def zremrangebyscore(self, name: str, min: float | str, max: float | str) -> Any: ...
    def expire(self, name: str, time: int) -> Any: ...
    def incr(self, name: str, amount: int = 1) -> Any: ...
    def srem(self, name: str, *values: Any) -> Any: ...
    def scard(self, name: str) -> Any: ...
    def smismember(self, name: str, values: Sequence[str]) -> Any: ...
    def sinter(self, keys: Sequence[str]) -> Any: ...
    def sintercard(self, numkeys: int, keys: Sequence[str], limit: int = 0) -> Any: ...
    def zscore(self, name: str, value: str) -> Any: ...
    def zmscore(self, key: str, members: Sequence[str]) -> Any: ...
    def zlexcount(self, name: str, min: str, max: str) -> Any: ...
    def zcard(self, name: str) -> Any: ...
    def zrangebylex(
        self, name: str, min: str, max: str, start: int | None = None, num: int | None = None
    ) -> Any: ...
    def zrevrangebylex(
        self, name: str, max: str, min: str, start: int | None = None, num: int | None = None
    ) -> Any: ...
    def zrangebyscore(
        self,
        name: str,
        min: float | str,
        max: float | str,
        start: int | None = None,
        num: int | None = None,
        withscores: bool = False,
    ) -> Any: ...
    def zrevrangebyscore(
        self,
        name: str,
        max: float | str,
        min: float | str,
        start: int | None = None,
        num: int | None = None,
        withscores: bool = False,
    ) -> Any: ...


class StoreClient(Protocol):
    """The commands redirector sends, as a client built with
    ``decode_responses=True`` answers them: redis.Redis, RedisCluster or
    fakeredis.FakeRedis, made by ``connect`` or handed to ``wrap``. redis-py's
    own stubs cannot say "answers str"; this says it once, so the rules read
    typed answers without casts."""

    def pipeline(
        self, transaction: bool = True, shard_hint: str | None = None
    ) -> StorePipeline: ...
    def execute_command(self, *args: Any, **options: Any) -> Any: ...
    def evalsha(self, sha: str, numkeys: int, *keys_and_args: Any) -> Any: ...
    def script_load(self, script: str) -> str: ...
    def ping(self) -> bool: ...
    def get(self, name: str) -> str | None: ...
    def set(self, name: str, value: Any, **options: Any) -> bool | None: ...
    def delete(self, *names: str) -> int: ...
    def exists(self, *names: str) -> int: ...
    def hget(self, name: str, key: str) -> str | None: ...
    def hgetall(self, name: str) -> dict[str, str]: ...
    def hmget(self, name: str, keys: Sequence[str], *args: str) -> list[str | None]: ...
    def hset(self, name: str, key: str | None = None, value: Any = None, **options: Any) -> int: ...
    def hsetnx(self, name: str, key: str, value: Any) -> int: ...
    def hincrby(self, name: str, key: str, amount: int = 1) -> int: ...
    def hexists(self, name: str, key: str) -> bool: ...
    def sadd(self, name: str, *values: Any) -> int: ...
    def smembers(self, name: str) -> builtins.set[str]: ...
    def zadd(self, name: str, mapping: Mapping[str, float], **options: Any) -> int: ...
    def zrange(self, name: str, start: int, end: int, **options: Any) -> list[Any]: ...
    def zrevrange(self, name: str, start: int, end: int, **options: Any) -> list[Any]: ...
    def lrange(self, name: str, start: int, end: int) -> list[str]: ...
    def lindex(self, name: str, index: int) -> str | None: ...
    def llen(self, name: str) -> int: ...
    def hdel(self, name: str, *keys: str) -> int: ...
    def zrem(self, name: str, *values: str) -> int: ...
    def zcount(self, name: str, min: float | str, max: float | str) -> int: ...
    def zremrangebyscore(self, name: str, min: float | str, max: float | str) -> int: ...
    def expire(self, name: str, time: int) -> bool: ...
    def incr(self, name: str, amount: int = 1) -> int: ...
    def srem(self, name: str, *values: Any) -> int: ...
    def scard(self, name: str) -> int: ...
    def smismember(self, name: str, values: Sequence[str]) -> list[int]: ...
    def sinter(self, keys: Sequence[str]) -> builtins.set[str]: ...
    def sintercard(self, numkeys: int, keys: Sequence[str], limit: int = 0) -> int: ...
    def zscore(self, name: str, value: str) -> float | None: ...
    def zmscore(self, key: str, members: Sequence[str]) -> list[float | None]: ...
    def zlexcount(self, name: str, min: str, max: str) -> int: ...
    def zcard(self, name: str) -> int: ...
    def zrangebylex(
        self, name: str, min: str, max: str, start: int | None = None, num: int | None = None
    ) -> list[str]: ...
    def zrevrangebylex(
        self, name: str, max: str, min: str, start: int | None = None, num: int | None = None
    ) -> list[str]: ...
    def zrangebyscore(
        self,
        name: str,
        min: float | str,
        max: float | str,
        start: int | None = None,
        num: int | None = None,
        withscores: bool = False,
    ) -> list[Any]: ...
    def zrevrangebyscore(
        self,
        name: str,
        max: float | str,
        min: float | str,
        start: int | None = None,
        num: int | None = None,
        withscores: bool = False,
    ) -> list[Any]: ...


__all__ = [
    "STORE_AWAY",
    "UNAVAILABLE_ERRORS",
    "Script",
    "ScriptCall",
    "StoreClient",
    "StorePipeline",
    "connect",
    "error_of",
    "run_scripts",
    "wrap",
]

# Failures that mean "the store is not there": raised as ``StoreUnavailable``
# (the API answers 503, the redirect spools or answers 503).
UNAVAILABLE_ERRORS: tuple[type[Exception], ...] = (
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    redis.exceptions.BusyLoadingError,
    # The server is there but cannot take writes (maxmemory, a replica after a
    # failover): to a client that is the same as being away for a moment.
    redis.exceptions.ReadOnlyError,
    redis.exceptions.OutOfMemoryError,
    # A cluster moving slots or electing a master asks clients to come back.
    redis.exceptions.ClusterDownError,
    redis.exceptions.TryAgainError,
)
STORE_AWAY = "the store is unreachable; retry shortly"


def connect(settings: Settings) -> StoreClient:
    """A client for the configured store, answering ``str`` (decode_responses)."""
    # No retries: a click script sent again after a lost reply would count the
    # click twice, and a redirect or callback waiting on a dead store is worse
    # than a prompt 503 (callers retry; the redirect keeps its own spool).
    options: dict[str, Any] = {
        "decode_responses": True,
        "socket_timeout": 5,
        "socket_connect_timeout": 1,
        "retry": Retry(NoBackoff(), 0),
    }
    if settings.redis_cluster_url:
        from redis.cluster import RedisCluster

        try:
            return wrap(RedisCluster.from_url(settings.redis_cluster_url, **options))
        except redis.exceptions.RedisError as exc:
            raise ConfigError(f"REDIS_CLUSTER_URL: no cluster answers there ({exc})") from exc
    if settings.redis_url:
        return wrap(redis.Redis.from_url(settings.redis_url, health_check_interval=30, **options))
    import fakeredis  # only the embedded store needs it at run time

    return wrap(fakeredis.FakeRedis(server=fakeredis.FakeServer(), decode_responses=True))


def wrap(client: Any) -> StoreClient:
    """The client, raising ``StoreUnavailable`` (from redis-py's error) for
    ``UNAVAILABLE_ERRORS`` out of its commands, scripts and pipelines.

    Changed in place, by its class (a subclass that adds two methods and no
    state): a test hands the app its client and keeps using it, and both must
    be one client. Takes redis.Redis, RedisCluster and fakeredis.FakeRedis;
    wrapping twice changes nothing."""
    kind = type(client)
    if kind not in _TRANSLATING:
        client.__class__ = _translating(kind, pipeline=False)
    return cast(StoreClient, client)


def _unavailable(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def translated(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except UNAVAILABLE_ERRORS as exc:
            raise StoreUnavailable(STORE_AWAY) from exc

    return translated


def _wrapping_pipelines(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def pipeline(self: Any, *args: Any, **kwargs: Any) -> Any:
        pipe = method(self, *args, **kwargs)
        pipe.__class__ = _translating(type(pipe), pipeline=True)
        return pipe

    return pipeline


_TRANSLATING: set[type[Any]] = set()  # the classes made below
_translating_classes: dict[tuple[type[Any], bool], type[Any]] = {}


def _translating(base: type[Any], *, pipeline: bool) -> type[Any]:
    """``base`` whose commands translate. Every command of a client goes through
    ``execute_command``, and its pipelines are made to translate too; a
    pipeline's commands are sent by ``execute`` (a watched pipeline's at once,
    by ``execute_command``)."""
    known = _translating_classes.get((base, pipeline))
    if known is not None:
        return known
    methods: dict[str, Any] = {
        "__module__": __name__,
        "execute_command": _unavailable(base.execute_command),
    }
    if pipeline:
        methods["execute"] = _unavailable(base.execute)
    else:
        methods["pipeline"] = _wrapping_pipelines(base.pipeline)
    translating = type(f"Store{base.__name__}", (base,), methods)
    _TRANSLATING.add(translating)
    _translating_classes[base, pipeline] = translating
    return translating


class Script:
    """A Lua script run by SHA, loaded on first NOSCRIPT (a restarted Redis forgets)."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.sha = hashlib.sha1(source.encode()).hexdigest()

    def __call__(self, client: Any, keys: Sequence[str], args: Sequence[Any]) -> Any:
        try:
            return client.evalsha(self.sha, len(keys), *keys, *args)
        except NoScriptError:
            client.script_load(self.source)
            return client.evalsha(self.sha, len(keys), *keys, *args)

    def queue(self, pipe: Any, keys: Sequence[str], args: Sequence[Any]) -> None:
        """Add the script to a redis-py pipeline (``run_scripts``'s general path)."""
        # Through execute_command: a cluster pipeline refuses ``evalsha`` by name but
        # routes the raw command by its keys.
        pipe.execute_command("EVALSHA", self.sha, len(keys), *keys, *args)

    def pack(self, keys: Sequence[str], args: Sequence[Any]) -> bytes:
        """The script's call as the bytes to write (``run_scripts``'s direct path)."""
        packed: bytes = hiredis.pack_command(("EVALSHA", self.sha, len(keys), *keys, *args))
        return packed


ScriptCall = tuple[Script, Sequence[str], Sequence[Any]]


def run_scripts(client: StoreClient, calls: Sequence[ScriptCall]) -> list[Any]:
    """Run script calls in one round trip and answer their replies, in order.

    On a single Redis server (the redirect's case) the calls are packed by
    hiredis and written on a connection kept per thread, and the replies read
    straight back (``_ClickLine``): redis-py's Pipeline objects cost more than
    the rest of a click. A cluster or the embedded store goes through a redis-py
    pipeline. On NOSCRIPT the scripts are loaded and the calls that failed so
    are sent again, and only those: a call that ran is never run twice. A store
    away, on either path, raises ``StoreUnavailable``."""
    direct = type(client) in _DIRECT
    replies: list[Any] = [None] * len(calls)
    todo: Sequence[int] = range(len(calls))  # every call, then those NOSCRIPT failed
    sending = calls
    try:
        for attempt in (1, 2):
            if direct:
                packed = b"".join([script.pack(keys, args) for script, keys, args in sending])
                answers = _send(cast(redis.Redis, client), packed, len(sending))
            else:
                pipe = client.pipeline(transaction=False)
                for script, keys, args in sending:
                    script.queue(pipe, keys, args)
                answers = pipe.execute(raise_on_error=False)
            for i, answer in zip(todo, answers, strict=True):
                replies[i] = answer
            errors = [answer for answer in answers if isinstance(answer, redis.RedisError)]
            if not errors:
                return replies
            if attempt == 2 or not all(isinstance(e, NoScriptError) for e in errors):
                raise errors[0]
            todo = [i for i in todo if isinstance(replies[i], NoScriptError)]
            sending = [calls[i] for i in todo]
            for script in {calls[i][0].sha: calls[i][0] for i in todo}.values():
                client.script_load(script.source)
    except UNAVAILABLE_ERRORS as exc:  # the direct path's, and error replies
        raise StoreUnavailable(STORE_AWAY) from exc
    raise AssertionError("unreachable")


# The clients ``run_scripts`` writes to directly: one Redis server, wrapped or not.
_DIRECT = frozenset({redis.Redis, _translating(redis.Redis, pipeline=False)})


_threads = threading.local()


class _BlockingConnection(redis.Connection):
    """A TCP connection whose socket blocks, with the timeouts kept by the
    kernel (SO_RCVTIMEO, SO_SNDTIMEO): Python polls a socket that has a
    timeout before every send and receive, two system calls more per click."""

    def _connect(self) -> socket.socket:
        sock = super()._connect()
        timeout = self.socket_timeout or 5
        seconds = int(timeout)
        value = struct.pack("ll", seconds, int((timeout - seconds) * 1_000_000))
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, value)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, value)
        sock.settimeout(None)
        return sock


def _click_connection(pool: Any) -> Any:
    if pool.connection_class is redis.Connection and hasattr(socket, "SO_RCVTIMEO"):
        return _BlockingConnection(**pool.connection_kwargs)
    return pool.make_connection()  # TLS or a Unix socket: as redis-py makes them


_PING = hiredis.pack_command(("PING",))


class _ClickLine:
    """A thread's connection for the redirect's round trips: redis-py makes it
    (address, TLS, AUTH, SELECT), then the click's bytes go straight to its
    socket and the replies through a hiredis reader of its own, past redis-py's
    per-reply machinery.

    After ``health_check_interval`` idle seconds it PINGs first, and on a dead
    connection makes a new one: only the PING could be lost, never a click
    (a click is never sent twice)."""

    def __init__(self, pool: Any) -> None:
        self.connection = _click_connection(pool)
        self.reader: Any = None
        self.check_every = float(pool.connection_kwargs.get("health_check_interval") or 0)
        self.check_at = 0.0

    def round_trip(self, packed: bytes, count: int) -> list[Any]:
        if self.reader is not None and self.check_every and time.monotonic() > self.check_at:
            with contextlib.suppress(*UNAVAILABLE_ERRORS):
                self._exchange(_PING, 1)  # if dead, dropped: a new connection follows
        if self.reader is None:
            self.connection.connect()
            self.reader = hiredis.Reader(encoding="utf-8", replyError=ResponseError)
        return self._exchange(packed, count)

    def _exchange(self, packed: bytes, count: int) -> list[Any]:
        sock = self.connection._sock
        reader = self.reader
        replies: list[Any] = []
        try:
            sock.sendall(packed)
            while len(replies) < count:
                reply = reader.gets()
                if reply is False:  # no whole reply buffered yet
                    data = sock.recv(65536)
                    if not data:
                        raise redis.ConnectionError("Redis closed the connection")
                    reader.feed(data)
                else:
                    replies.append(reply)
        except BaseException as exc:
            # Replies may be left unread: the connection cannot be trusted again.
            self.connection.disconnect()
            self.reader = None
            if isinstance(exc, (socket.timeout, BlockingIOError)):  # the kernel's timeout
                raise redis.TimeoutError(f"Redis did not answer in time ({exc})") from exc
            if isinstance(exc, OSError):
                raise redis.ConnectionError(f"Redis connection failed ({exc})") from exc
            raise
        self.check_at = time.monotonic() + self.check_every
        return [error_of(r) if isinstance(r, ResponseError) else r for r in replies]


def error_of(reply: ResponseError) -> redis.RedisError:
    """An error reply as redis-py would raise it: LOADING, READONLY, OOM and
    the like are kinds of ``UNAVAILABLE_ERRORS``, NOSCRIPT a ``NoScriptError``."""
    error: redis.RedisError = BaseParser.parse_error(str(reply))
    return error


def _send(client: redis.Redis, packed: bytes, replies: int) -> list[Any]:
    """Write packed commands on this thread's connection; read their replies
    (a command's error is answered as its reply, not raised)."""
    pool = client.connection_pool
    held = getattr(_threads, "lines", None)
    if held is None or held[0] != os.getpid():  # a forked worker makes its own
        lines: weakref.WeakKeyDictionary[Any, _ClickLine] = weakref.WeakKeyDictionary()
        held = _threads.lines = (os.getpid(), lines)
    line = held[1].get(pool)
    if line is None:
        line = held[1][pool] = _ClickLine(pool)
    return line.round_trip(packed, replies)


# -- for ``click_batches`` (group commit of clicks): the direct path, from outside --------


def writes_directly(client: StoreClient) -> bool:
    """Whether ``client`` is one Redis server that ``send_packed`` writes to."""
    return type(client) in _DIRECT


def send_packed(client: Any, packed: bytes, replies: int) -> list[Any]:
    """Write packed commands on this thread's own connection to ``client`` (one
    Redis server: redis.Redis) and read ``replies`` replies back, an error reply
    as its value; redis-py's ``ConnectionError``/``TimeoutError`` when the
    connection fails."""
    return _send(cast(redis.Redis, client), packed, replies)
