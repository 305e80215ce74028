"""Storefront callbacks for the orders made from the clicks, signed by
``StorefrontClient``: paid (carrying the click id, only the device id, a bot's
click id or a forged device id), confirmed, partial and full refunds,
cancellations.

Some messages are sent again later with the same webhook-id (expect the first
answer, ``Webhook-Replayed: true``), some three times at once (exactly one
applies), some again under a new webhook-id (a no-op), and some orders are
delivered out of order (``confirmed`` before ``paid``, a refund before its
confirmation): the 409 is retried after the event it waits for, as a real
sender does; 503 ``busy`` and lost answers are retried with the same
webhook-id. Every 2xx goes to the ledger (``ledger.accept``).
"""

from __future__ import annotations

import heapq
import random
import time
from datetime import UTC, datetime
from typing import Any

import requests

from redirector.storefront_client import StorefrontClient

from .ledger import NEXT, Message, Order, accept
from .state import Soak
from .world import Device, Link, now_ms

__all__ = ["ORDER_CHANCE", "callback_thread", "new_order", "step"]

ORDER_CHANCE = 0.04  # of a human click
MAX_OPEN_ORDERS = 250  # orders with events still to send; clicks make none beyond
OUT_OF_ORDER = 0.15  # a pair of events delivered second first
REPLAY_LATER = 0.20  # a message sent again later, same webhook-id
CONCURRENT_COPIES = 0.10  # a message sent three times at once, same webhook-id
NOOP_RESEND = 0.05  # the same event again under a new webhook-id
MAX_MESSAGE_TRIES = 40

Answer = tuple[int | None, bool, Any]  # (status or None if lost, replayed, body)


# -- making orders ----------------------------------------------------------------------


def new_order(
    soak: Soak,
    rng: random.Random,
    link: Link,
    click_id: str,
    device: Device | None,
    *,
    bot_click: bool = False,
) -> None:
    if soak.open_orders() >= MAX_OPEN_ORDERS:
        soak.rec.count("orders skipped (backlog)")
        return
    paid_at = now_ms()  # after the click's answer: the click is not after the order
    extra: dict[str, str] = {}
    expected: dict[str, str] | None = None
    credited: Link | None = None
    if bot_click:
        extra["click_id"] = click_id  # a bot's click is never attributed
    else:
        extra = _paid_extra(rng, click_id, device)
        if extra.get("device_id") != "forged.device-cookie":
            expected = {"click_id": click_id, "link_id": link.id, "creator_id": link.creator}
            credited = link
    amount = rng.randrange(100, 80_000)
    order = Order(
        storefront=link.storefront,
        order_id=f"o{next(soak.order_seq):06d}",
        amount=amount,
        expected=expected,
        link=credited,
        plan=_plan(rng, amount),
        paid_extra=extra,
    )
    _queue_event(soak, rng, order, "paid", None, paid_at)
    with soak.cond:
        soak.orders.append(order)
        heapq.heappush(soak.heap, (time.monotonic(), next(soak.heap_seq), order))
        soak.cond.notify()
    soak.rec.count("orders")


def _paid_extra(rng: random.Random, click_id: str, device: Device | None) -> dict[str, str]:
    """What a human's paid event carries: the click id, only the device id, or a
    device id the service never issued."""
    how = rng.random()
    if how < 0.65:
        return {"click_id": click_id}
    if how < 0.92 and device is not None and device.cookie:
        # Only the device: its latest human click on the storefront, which is
        # this one (the device's thread waits a moment here, so its next
        # click is after the order).
        time.sleep(0.003)
        return {"device_id": device.cookie}
    return {"device_id": "forged.device-cookie"}  # not issued by us: unattributed


def _plan(rng: random.Random, amount: int) -> list[tuple[str, int | None]]:
    """The events after paid: confirmed (and refunds), cancelled, or none."""
    roll = rng.random()
    plan: list[tuple[str, int | None]] = []
    if roll < 0.60:
        plan.append(("confirmed", None))
        if rng.random() < 0.3:
            first = rng.randrange(1, amount // 2 + 1)
            plan.append(("refunded", first))
            if rng.random() < 0.5:
                plan.append(("refunded", rng.choice((amount, rng.randrange(first, amount + 1)))))
    elif roll < 0.72:
        plan.append(("cancelled", None))
    return plan


def _message(order: Order, status: str, refunded: int | None, at_ms: int) -> Message:
    at_ms = max(at_ms, order.last_ms)  # events move forward in time
    order.last_ms = at_ms
    moment = datetime.fromtimestamp(at_ms / 1000, UTC)
    body: dict[str, Any] = {
        "order_id": order.order_id,
        "status": status,
        "amount": order.amount,
        "currency": "CNY",
        "occurred_at": moment.isoformat(timespec="milliseconds"),
    }
    if refunded is not None:
        body["refunded_amount"] = refunded
    if status == "paid":
        body.update(order.paid_extra)
    return Message(StorefrontClient.new_msg_id(), status, refunded, at_ms, body)


def _queue_event(
    soak: Soak, rng: random.Random, order: Order, status: str, refunded: int | None, at_ms: int
) -> None:
    """Make the next event; now and then make the one after it too and
    deliver that one first (its 409 is retried once the first is in)."""
    message = _message(order, status, refunded, at_ms)
    order.outbox.append(message)
    if (
        order.plan
        and order.plan[0][0] != status
        and not soak.draining
        and rng.random() < OUT_OF_ORDER
    ):
        later_status, later_refund = order.plan.pop(0)
        later = _message(order, later_status, later_refund, at_ms + rng.randrange(1, 30))
        order.outbox.insert(0, later)
        soak.rec.count("out-of-order pairs")


# -- sending them -----------------------------------------------------------------------


def callback_thread(soak: Soak, index: int) -> None:
    rng = random.Random(soak.args.seed * 1000 + 500 + index)
    while True:
        order = _next_due(soak)
        if order is None:
            return
        delay = None
        try:
            delay = step(soak, rng, order)
        except Exception as exc:  # a bug in the soak must not hang it
            soak.rec.problem("events", f"{order.storefront}:{order.order_id}: {exc!r}")
        finally:
            with soak.cond:
                soak.in_flight -= 1
                if delay is not None:
                    due = time.monotonic() + (0 if soak.draining else delay)
                    heapq.heappush(soak.heap, (due, next(soak.heap_seq), order))
                soak.cond.notify_all()


def _next_due(soak: Soak) -> Order | None:
    """The next order whose step is due, counted in flight; None once the drain is
    over (or abandoned)."""
    with soak.cond:
        while True:
            if soak.abandon:
                return None
            if soak.heap and soak.heap[0][0] <= time.monotonic():
                _, _, order = heapq.heappop(soak.heap)
                soak.in_flight += 1
                return order
            if soak.draining and not soak.heap and soak.in_flight == 0:
                soak.cond.notify_all()
                return None
            wait = soak.heap[0][0] - time.monotonic() if soak.heap else 0.1
            soak.cond.wait(max(0.001, min(wait, 0.1)))


def step(soak: Soak, rng: random.Random, order: Order) -> float | None:
    """Send the order's next message; answers the delay before its next step,
    or None when the order has nothing left to send."""
    if not order.outbox:
        if order.replay_later and (not order.plan or rng.random() < 0.4):
            replay(soak, order, order.replay_later.pop(rng.randrange(len(order.replay_later))))
            return rng.uniform(0.05, 0.5)
        if not order.plan:
            return None
        status, refunded = order.plan.pop(0)
        _queue_event(soak, rng, order, status, refunded, now_ms())
    message = order.outbox[0]
    message.tries += 1
    if rng.random() < CONCURRENT_COPIES:
        soak.rec.count("concurrent copy groups")
        answers = list(soak.copies.map(lambda _: post(soak, order, message), range(3)))
    else:
        answers = [post(soak, order, message)]
    return _judge(soak, rng, order, message, answers)


def _judge(
    soak: Soak, rng: random.Random, order: Order, message: Message, answers: list[Answer]
) -> float:
    """Check the answers to a message (one, or three copies at once); answers the
    delay before the order's next step."""
    fresh = [a for a in answers if a[0] in (200, 201) and not a[1]]
    replayed = [a for a in answers if a[0] in (200, 201) and a[1]]
    where = f"{order.storefront}:{order.order_id} {message.status} {message.msg_id}"
    if len(fresh) > 1:
        soak.rec.problem("events", f"{where}: applied {len(fresh)} times at once")
    if not (fresh or replayed):
        return _retry(soak, rng, order, message, answers)
    bodies = [a[2] for a in fresh + replayed]
    if any(b != bodies[0] for b in bodies):
        soak.rec.problem("events", f"{where}: copies answered differently: {bodies}")
    if not fresh and not message.maybe_applied:
        soak.rec.problem("events", f"{where}: replayed before it was ever accepted")
    soak.rec.count("replays answered", len(replayed))
    accept(soak.rec, order, message, bodies[0])
    order.outbox.pop(0)
    if rng.random() < REPLAY_LATER:
        order.replay_later.append(message)
    if rng.random() < NOOP_RESEND and not order.outbox:
        again = Message(
            StorefrontClient.new_msg_id(),
            message.status,
            message.refunded,
            message.occurred_ms,
            message.body,
            noop=True,
        )
        order.outbox.insert(0, again)
        soak.rec.count("no-op resends")
    return rng.uniform(0.05, 1.5)


def _retry(
    soak: Soak, rng: random.Random, order: Order, message: Message, answers: list[Answer]
) -> float:
    """No copy was accepted: resend after a busy or lost answer, reorder after a
    409 that waits for another event, give up on anything else."""
    where = f"{order.storefront}:{order.order_id} {message.status} {message.msg_id}"
    statuses = sorted({a[0] for a in answers}, key=str)  # None: the answer was lost
    if message.tries >= MAX_MESSAGE_TRIES:
        soak.rec.problem("events", f"{where}: given up after {message.tries} tries {statuses}")
        order.outbox.pop(0)
        return 0.1
    if any(s in (503, None) for s in statuses):
        if None in statuses:
            message.maybe_applied = True
            soak.rec.count("event answers lost (resent)")
        if 503 in statuses:
            soak.rec.count("busy 503 (resent)")
        return rng.uniform(0.05, 0.3)
    if statuses == [409]:
        return _out_of_order(soak, rng, order, message, answers[0][2])
    soak.rec.problem("events", f"{where}: answered {statuses}: {answers[0][2]}")
    order.outbox.pop(0)
    return 0.1


def _out_of_order(
    soak: Soak, rng: random.Random, order: Order, message: Message, body: Any
) -> float:
    where = f"{order.storefront}:{order.order_id} {message.status} {message.msg_id}"
    if message.status in NEXT[order.status] or message.status == order.status:
        soak.rec.problem("events", f"{where}: 409 from {order.status}: {body}")
        order.outbox.pop(0)
        return 0.1
    if len(order.outbox) < 2:
        soak.rec.problem("events", f"{where}: 409 with nothing to wait for")
        order.outbox.pop(0)
        return 0.1
    # out of order: send the event it waits for first, retry after it
    order.outbox.insert(1, order.outbox.pop(0))
    soak.rec.count("out-of-order 409 (retried)")
    return rng.uniform(0.1, 0.5)


def post(soak: Soak, order: Order, message: Message) -> Answer:
    """One signed delivery: (status or None if lost, replayed, body)."""
    clients = getattr(soak.local, "clients", None)
    if clients is None:
        session = requests.Session()
        clients = soak.local.clients = {
            sf: StorefrontClient.over_http(soak.base, sf, secret, session=session)
            for sf, secret in soak.world.secrets.items()
        }
    started = time.perf_counter()
    soak.rec.count("events sent")
    try:
        response = clients[order.storefront].send(message.body, msg_id=message.msg_id)
    except requests.RequestException as exc:
        return None, False, repr(exc)
    soak.rec.time("callback", time.perf_counter() - started)
    try:
        body = response.json()
    except ValueError:
        body = response.text[:200]
    return response.status_code, response.headers.get("Webhook-Replayed") == "true", body


def replay(soak: Soak, order: Order, message: Message) -> None:
    status, replayed, body = post(soak, order, message)
    soak.rec.count("later replays sent")
    where = f"{order.storefront}:{order.order_id} {message.msg_id}"
    if status is None or status == 503:
        return  # lost: nothing to judge
    if status != 200 or not replayed or body != message.first_answer:
        soak.rec.problem(
            "events",
            f"{where}: replay answered {status} replayed={replayed} {body}, "
            f"first was {message.first_answer}",
        )
    else:
        soak.rec.count("replays answered")
