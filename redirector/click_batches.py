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
from typing import Any

import redis

from .clicks import ClickFacts, ClickOutcome, ClickPolicy, click_commands, outcome_of
from .errors import StoreUnavailable
from .store import STORE_AWAY, UNAVAILABLE_ERRORS, ScriptCall, StoreClient, run_script_batch

__all__ = ["ClickBatches", "NotReplicated"]


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
