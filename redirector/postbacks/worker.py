"""The delivery worker: fans the outbox out and sends what is due.

Every ``TICK_SECONDS`` a worker dispatches (``dispatch``), then looks for the
endpoints whose head delivery is due by the service's clock, and hands each to
one of its sender threads. A sender holds the endpoint's lease
(``keys.postback_lease``: ``LEASE_MS``, renewed before each attempt, longer
than an attempt can last) while it sends the endpoint's due deliveries one
after the other, and records each outcome only while the lease is still its
own: however many workers run, on however many hosts, one attempt is never
sent twice at once. A worker that dies mid-attempt leaves the attempt
unrecorded; once its lease expires another worker sends it again, with the
same webhook-id (delivery is at least once: receivers drop repeated ids).

``redirector serve`` runs a worker as a thread of each of its processes
(``start``); ``redirector worker`` runs one in the foreground (``run``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from .. import keys
from ..context import Context
from ..errors import StoreUnavailable
from ..secrets_at_rest import box_for
from . import guard, sender
from .deliveries import (
    DELIVERED,
    FAILED,
    PENDING,
    Delivery,
    Head,
    finish,
    head,
    next_attempt,
    reschedule,
)
from .dispatcher import dispatch
from .endpoints import Endpoint
from .lease import Lease

__all__ = [
    "LEASE_MS",
    "TICK_SECONDS",
    "Worker",
    "attempt",
    "deliver",
    "due_endpoints",
    "run_until_idle",
]

log = logging.getLogger("redirector.postbacks")

TICK_SECONDS = 0.25
LEASE_MS = 30_000  # three times the longest attempt
SENDERS = 4  # endpoints sent to at once, per worker
MAX_SENDS_PER_TURN = 50  # then the lease is let go (another process may take it)
STORE_AWAY_PAUSE = 2.0
# The delivery threads' nice value: on a busy host the kernel runs the
# threads answering requests first (a thread's priority is its own on Linux).
NICE = 10
_OUTCOMES = {DELIVERED: "delivered", PENDING: "retry", FAILED: "failed"}


def due_endpoints(ctx: Context) -> list[str]:
    """The endpoints whose next delivery is due now, by the service's clock."""
    r = ctx.store
    ids = sorted(r.hgetall(keys.postback_routes()))
    if not ids:
        return []
    pipe = r.pipeline(transaction=False)
    for endpoint_id in ids:
        pipe.hget(keys.postback_endpoint(endpoint_id), "next_at")
    now_ms = ctx.clock.now_ms()
    return [i for i, due in zip(ids, pipe.execute(), strict=True) if due and int(due) <= now_ms]


def deliver(ctx: Context, endpoint_id: str) -> int:
    """Send the endpoint's due deliveries, in order, under its lease; answers
    how many attempts were made (0 when another worker holds the lease)."""
    lease = Lease(ctx.store, keys.postback_lease(endpoint_id), LEASE_MS)
    if not lease.acquire():
        return 0
    sent = 0
    try:
        while sent < MAX_SENDS_PER_TURN:
            moved_on = _send_head(ctx, endpoint_id, lease.token)
            if moved_on is None:
                break
            sent += 1
            if not moved_on:  # the head waits for its next attempt: so does the queue
                break
    finally:
        lease.release()
    return sent


def _send_head(ctx: Context, endpoint_id: str, token: str) -> bool | None:
    """One attempt at the head of the queue, the lease renewed first: None when
    there is none due (or the lease or the outcome was lost), else whether the
    head left the queue."""
    r = ctx.store
    found = head(r, endpoint_id, token, LEASE_MS)
    if not isinstance(found, Head):
        return None
    delivery = found.delivery
    now_ms = ctx.clock.now_ms()
    if delivery.next_at is not None and delivery.next_at > now_ms:
        reschedule(r, endpoint_id, token, delivery.next_at)
        return None
    answer = attempt(ctx, Endpoint.from_hash(found.endpoint), delivery, now_ms)
    after = next_attempt(delivery, answer, now_ms)
    outcome = finish(r, endpoint_id, token, after, ctx.clock.now_ms())
    # Here, not at the top: ``redirector serve`` imports this module (through
    # ``settlement``) before it sets PROMETHEUS_MULTIPROC_DIR, and
    # prometheus_client picks its storage when first imported.
    from .. import metrics

    metrics.POSTBACK_ATTEMPTS.labels(_OUTCOMES[after.state]).inc()
    if outcome != "ok":
        log.warning("postback %s to %s not recorded: %s", delivery.id, endpoint_id, outcome)
        return None
    if after.state == FAILED:
        log.warning("postback %s to %s failed after its last attempt", delivery.id, endpoint_id)
    return after.state != PENDING


def attempt(ctx: Context, endpoint: Endpoint, delivery: Delivery, now_ms: int) -> sender.Answer:
    """One signed POST of the delivery, to the addresses the guard allows now."""
    try:
        target = guard.parse_target(endpoint.url)
        addresses = guard.addresses(target, allow_private=ctx.settings.webhook_allow_private)
    except guard.BadTarget as exc:
        return sender.Answer(None, f"refused: {exc}", "", 0)
    secrets = endpoint.signing_secrets(now_ms, box_for(ctx.settings.secret_keys))
    if not secrets:
        return sender.Answer(None, "no configured secret key opens the endpoint's secret", "", 0)
    sent_at = datetime.now(UTC)  # the receiver checks it against its own clock
    headers = {
        "webhook-id": delivery.id,
        "webhook-timestamp": str(int(sent_at.timestamp())),
        "webhook-signature": sender.signature(secrets, delivery.id, sent_at, delivery.body),
        "Content-Type": "application/json",
        "User-Agent": sender.USER_AGENT,
    }
    return sender.post(target, addresses, headers, delivery.body.encode())


def yield_to_requests() -> None:
    """Lower this thread's CPU priority to ``NICE`` (where the OS allows it)."""
    with contextlib.suppress(AttributeError, OSError):
        thread = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, thread, max(NICE, os.getpriority(os.PRIO_PROCESS, thread)))


def run_until_idle(ctx: Context, max_turns: int = 100) -> int:
    """Dispatch and send, in this thread, until nothing is left to do now (tests,
    the simulator); answers how many attempts were made."""
    total = 0
    for _ in range(max_turns):
        moved = dispatch(ctx)
        sent = sum(deliver(ctx, endpoint_id) for endpoint_id in due_endpoints(ctx))
        total += sent
        if not moved and not sent:
            break
    return total


class Worker:
    """A worker that runs until stopped: a dispatching loop and sender threads."""

    def __init__(self, ctx: Context, tick: float = TICK_SECONDS, senders: int = SENDERS) -> None:
        self.ctx = ctx
        self.tick = tick
        self.senders = senders
        self.stopping = threading.Event()
        self._busy: set[str] = set()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def start(self) -> Worker:
        """Run in a daemon thread of this process."""
        self._thread = threading.Thread(target=self.run, name="postbacks", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 15.0) -> None:
        self.stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def run(self) -> None:
        """Until ``stop``: dispatch, hand due endpoints to the senders, wait a tick."""
        yield_to_requests()
        with ThreadPoolExecutor(
            self.senders, thread_name_prefix="postbacks-send", initializer=yield_to_requests
        ) as pool:
            while not self.stopping.is_set():
                pause = self.tick
                try:
                    self._turn(pool)
                except StoreUnavailable:
                    pause = STORE_AWAY_PAUSE
                except Exception:  # a bad turn must not end the deliveries
                    log.exception("postbacks: a delivery turn failed")
                    pause = STORE_AWAY_PAUSE
                self.stopping.wait(pause)

    def _turn(self, pool: ThreadPoolExecutor) -> None:
        dispatch(self.ctx)
        for endpoint_id in due_endpoints(self.ctx):
            with self._lock:
                if endpoint_id in self._busy or len(self._busy) >= self.senders:
                    continue
                self._busy.add(endpoint_id)
            pool.submit(self._deliver, endpoint_id)

    def _deliver(self, endpoint_id: str) -> None:
        try:
            # A full turn means a backlog: the endpoint keeps its sender thread
            # (another endpoint takes another thread) rather than wait a tick.
            while deliver(self.ctx, endpoint_id) >= MAX_SENDS_PER_TURN:
                if self.stopping.is_set():
                    break
        except StoreUnavailable:
            pass  # said by the loop's own turn; the lease expires, and the work waits
        except Exception:
            log.exception("postbacks: sending to %s failed", endpoint_id)
        finally:
            with self._lock:
                self._busy.discard(endpoint_id)
