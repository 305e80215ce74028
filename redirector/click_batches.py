"""Group commit of the redirect's clicks: the clicks of a worker's concurrent
requests go to Redis together, in fewer round trips than clicks.

A request's thread makes its click's script calls (``clicks.click_commands``).
If no round trip of this worker is in flight, it leads: it sends its click
and everything queued in one write (``store.run_script_batch``), then wakes
each waiting thread with its own reply and hands the lead to the first click
queued meanwhile. Otherwise it queues and sleeps on a lock of its own, woken
once: answered, or to lead. With nothing else queued the leader sends its own
click at once: at low concurrency this is the one-click round trip of
before, with no wait for company. The batches are as large as the worker's
threads allow, hence serve's 16 threads per worker (``cli``).

Each click still has its script's answer before its 302 is sent. One click's
error reply is that click's alone. A connection lost mid-batch raises
``StoreUnavailable`` in every thread of the batch, each of which spools its
own click (``outage``): once, by its thread, however large the batch.

Only the redirect's clicks are batched, and a leader sends nothing but
clicks: an API or console request never joins a batch, so it cannot hold
one up, and it cannot be held up by one either (it uses the store's own
connections).

With ``replicas`` (``REDIRECTOR_CLICK_REPLICAS``) the batch is followed, on
the connection that wrote it, by ``WAIT replicas timeout``: if fewer replicas
confirm in time, every click of the batch the store answered 302 raises
``NotReplicated`` carrying its outcome, and the redirect spools it before its
302 (a replay of a click id recorded already counts nothing), so no answer
rests on a write only the master holds.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any, cast

import hiredis
import redis
from redis.exceptions import NoScriptError, ResponseError

from .clicks import ClickFacts, ClickOutcome, ClickPolicy, click_commands, outcome_of
from .errors import StoreUnavailable
from .store import (
    STORE_AWAY,
    UNAVAILABLE_ERRORS,
    ScriptCall,
    StoreClient,
    send_packed,
    writes_directly,
)

__all__ = ["ClickBatches", "NotReplicated", "run_script_batch"]


class NotReplicated(Exception):
    """The click is recorded on the master, but fewer replicas than asked
    confirmed it in time: spool it before answering ``outcome``."""

    def __init__(self, outcome: ClickOutcome) -> None:
        super().__init__("fewer replicas than asked confirmed the click")
        self.outcome = outcome


_PENDING: Any = object()


class _Waiting:
    """One click in the queue, and what became of it (an outcome or an error).
    ``ready`` is held until the click is answered or its thread is handed the
    lead: each waiting thread is woken once, and only for its own reason."""

    __slots__ = ("answer", "calls", "ready")

    def __init__(self, calls: list[ScriptCall]) -> None:
        self.calls = calls
        self.answer: Any = _PENDING
        self.ready = threading.Lock()
        self.ready.acquire()


class ClickBatches:
    """One worker process's group commit of clicks (shared by its threads)."""

    def __init__(
        self,
        store: StoreClient,
        policy: ClickPolicy,
        *,
        replicas: int = 0,
        replica_timeout_ms: int = 100,
    ) -> None:
        self.store = store
        self.policy = policy
        self.replicas = replicas
        self.replica_timeout_ms = replica_timeout_ms
        self._lock = threading.Lock()
        self._queue: list[_Waiting] = []
        self._sending = False  # a leader holds the lead (it sends, or is about to)
        # Counted under the lock, for tests and benchmarks: batches sent, clicks in them.
        self.batches = 0
        self.clicks = 0

    def record(self, click: ClickFacts) -> ClickOutcome:
        """Record a live click; answers the click script's outcome once Redis
        has answered it. Raises ``StoreUnavailable``, this click's own
        ``redis.RedisError``, or ``NotReplicated``."""
        mine = _Waiting(click_commands(click, self.policy, False))
        with self._lock:
            follow = self._sending
            if follow:
                self._queue.append(mine)
            else:
                self._sending = True
        if follow:
            mine.ready.acquire()  # answered, or handed the lead
        if mine.answer is _PENDING:
            self._lead(mine)
        answer = mine.answer
        if isinstance(answer, BaseException):
            raise answer
        outcome: ClickOutcome = answer
        return outcome

    def _lead(self, mine: _Waiting) -> None:
        """Send this click and every one queued behind the lead; then wake
        each, and hand the lead to the first click queued meanwhile."""
        with self._lock:
            batch = [mine, *self._queue]
            self._queue = []
            self.batches += 1
            self.clicks += len(batch)
        try:
            self._send(batch)
        finally:
            for waiting in batch:  # only if _send itself failed midway
                if waiting.answer is _PENDING:
                    waiting.answer = StoreUnavailable(STORE_AWAY)
            with self._lock:
                heir = self._queue.pop(0) if self._queue else None
                self._sending = heir is not None
            if heir is not None:
                heir.ready.release()  # first: Redis waits for the next batch
            for waiting in batch:
                if waiting is not mine:
                    waiting.ready.release()

    def _send(self, batch: Sequence[_Waiting]) -> None:
        """One round trip for the batch; each click's answer set in its place."""
        calls: list[ScriptCall] = []
        for waiting in batch:
            calls += waiting.calls
        try:
            replies, confirmed = run_script_batch(
                self.store, calls, self.replicas, self.replica_timeout_ms
            )
        except (StoreUnavailable, redis.RedisError) as exc:
            for waiting in batch:
                waiting.answer = exc
            return
        short = self.replicas > 0 and (confirmed or 0) < self.replicas
        at = 0
        for waiting in batch:
            mine = replies[at : at + len(waiting.calls)]
            at += len(waiting.calls)
            waiting.answer = _answer(mine, short)


def _answer(replies: list[Any], short: bool) -> ClickOutcome | BaseException:
    """A click's outcome from its calls' replies (the click script's first),
    or the exception its thread raises."""
    for reply in replies:
        if isinstance(reply, UNAVAILABLE_ERRORS):
            unavailable = StoreUnavailable(STORE_AWAY)
            unavailable.__cause__ = reply
            return unavailable
        if isinstance(reply, redis.RedisError):
            return reply
    outcome = outcome_of(replies[0])
    if short and outcome.status == 302:
        return NotReplicated(outcome)
    return outcome


# -- one round trip for a batch of script calls, each answered on its own ------------------

_WAIT = "WAIT"


def run_script_batch(
    client: StoreClient, calls: Sequence[ScriptCall], replicas: int = 0, timeout_ms: int = 0
) -> tuple[list[Any], int | None]:
    """Run script calls of several requests in one round trip (per node, on a
    cluster); answer each call's reply, an error reply as its value (one
    call's error is its own), and, with ``replicas``, how many replicas
    confirmed every write of the batch (``WAIT replicas timeout_ms``, sent
    on the connection that wrote it, since WAIT covers only that client's
    writes; on a cluster the least over the nodes written). On NOSCRIPT the
    scripts are loaded and the calls that failed so are sent again, only
    those. A connection lost raises ``StoreUnavailable`` for the whole
    batch: whether each call ran is then unknown."""
    if not calls:
        return [], None
    try:
        if writes_directly(client):
            return _batch_on(client, calls, replicas, timeout_ms)
        if replicas and hasattr(client, "get_node_from_key"):
            return _batch_on_nodes(client, calls, replicas, timeout_ms)
        return _batch_in_pipeline(client, calls), None
    except UNAVAILABLE_ERRORS as exc:
        raise StoreUnavailable(STORE_AWAY) from exc


def _batch_on(
    node: Any, calls: Sequence[ScriptCall], replicas: int, timeout_ms: int
) -> tuple[list[Any], int | None]:
    """The direct path (``store.send_packed``): the calls and the WAIT in one write."""
    wait = hiredis.pack_command(cast(Any, (_WAIT, replicas, timeout_ms))) if replicas else b""
    replies: list[Any] = [None] * len(calls)
    todo: Sequence[int] = range(len(calls))
    confirmed: int | None = None
    for attempt in (1, 2):
        packed = b"".join([calls[i][0].pack(calls[i][1], calls[i][2]) for i in todo]) + wait
        answers = send_packed(node, packed, len(todo) + (1 if replicas else 0))
        if replicas:
            last = answers.pop()
            # Of the last WAIT: it covers this connection's writes so far.
            confirmed = last if isinstance(last, int) else 0
        for i, answer in zip(todo, answers, strict=True):
            replies[i] = answer
        missing = [i for i in todo if isinstance(replies[i], NoScriptError)]
        if not missing or attempt == 2:
            break
        for script in {calls[i][0].sha: calls[i][0] for i in missing}.values():
            node.script_load(script.source)
        todo = missing
    return replies, confirmed


def _batch_in_pipeline(client: StoreClient, calls: Sequence[ScriptCall]) -> list[Any]:
    """A cluster (redis-py splits the pipeline per node) or the embedded store."""
    replies: list[Any] = [None] * len(calls)
    todo: Sequence[int] = range(len(calls))
    for attempt in (1, 2):
        pipe = client.pipeline(transaction=False)
        for i in todo:
            calls[i][0].queue(pipe, calls[i][1], calls[i][2])
        for i, answer in zip(todo, pipe.execute(raise_on_error=False), strict=True):
            replies[i] = answer
        missing = [i for i in todo if isinstance(replies[i], NoScriptError)]
        if not missing or attempt == 2:
            break
        for script in {calls[i][0].sha: calls[i][0] for i in missing}.values():
            client.script_load(script.source)
        todo = missing
    return replies


def _batch_on_nodes(
    cluster: Any, calls: Sequence[ScriptCall], replicas: int, timeout_ms: int
) -> tuple[list[Any], int | None]:
    """A cluster with WAIT: the calls grouped by the master of their keys'
    slot, each group and its WAIT on that master's own connection. A slot
    that moved meanwhile answers MOVED for its calls, which count as the
    store away (the caller spools them; the cluster's map is read again)."""
    groups: dict[str, list[int]] = {}
    nodes: dict[str, Any] = {}
    for i, (_, call_keys, _) in enumerate(calls):
        node = cluster.get_node_from_key(call_keys[0])
        groups.setdefault(node.name, []).append(i)
        nodes[node.name] = node
    replies: list[Any] = [None] * len(calls)
    least: int | None = None
    moved = False
    for name, members in groups.items():
        node_client = nodes[name].redis_connection or cluster.get_redis_connection(nodes[name])
        answers, confirmed = _batch_on(
            node_client, [calls[i] for i in members], replicas, timeout_ms
        )
        for i, answer in zip(members, answers, strict=True):
            if isinstance(answer, ResponseError) and str(answer).startswith(("MOVED", "ASK")):
                moved = True
                answer = redis.exceptions.TryAgainError(str(answer))
            replies[i] = answer
        least = confirmed if least is None else min(least, confirmed or 0)
    if moved:
        cluster.nodes_manager.initialize()
    return replies, least
