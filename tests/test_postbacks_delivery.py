"""Postbacks delivered to a real receiver on loopback, verified there with the
reference ``standardwebhooks`` library: signed, in order, retried on the
schedule by the mock clock, failed and sent again by hand, across a receiver
that goes down, a secret rotation, timeouts, and two workers at once."""

from __future__ import annotations

import itertools
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from redirector import postbacks
from redirector.postbacks import guard, sender
from redirector.postbacks.lease import Lease
from redirector.simulate.receiver import Received, Receiver

from .conftest import ADMIN_TOKEN, Browser, Postbacks, advance

ORDER_EVENTS = [
    "order.attributed",
    "order.confirmed",
    "order.refunded",
    "order.cancelled",
    "order.held",
    "order.released",
    "order.rejected",
]


@pytest.fixture
def env(env: dict[str, str]) -> dict[str, str]:
    return {**env, "REDIRECTOR_WEBHOOK_ALLOW_PRIVATE": "1"}


class Sales:
    """Bob's orders, each paid half an hour after a click on his tea link."""

    def __init__(self, api: Any, app: Any, shop: Any, clock: Any, world: dict[str, Any]) -> None:
        self.app, self.shop, self.clock = app, shop, clock
        self.link = api.link(world["bob"])

    def paid(self, order_id: str) -> None:
        click = Browser(self.app).click(self.link)
        advance(self.clock, minutes=30)
        self.shop.ok(order_id, "paid", 12800, click_id=click)

    def then(self, order_id: str, status: str, **kw: Any) -> None:
        advance(self.clock, hours=1)
        self.shop.ok(order_id, status, 12800, **kw)


@pytest.fixture
def sales(api: Any, app: Any, shop: Any, clock: Any, world: dict[str, Any]) -> Sales:
    return Sales(api, app, shop, clock, world)


def story(sales: Sales) -> list[tuple[str, str]]:
    """Five changes to two orders; answers (type, order id) as they were made."""
    sales.paid("T1")
    sales.paid("T2")
    sales.then("T1", "confirmed")
    sales.then("T2", "cancelled")
    sales.then("T1", "refunded", refunded_amount=2800)
    return [
        ("order.attributed", "T1"),
        ("order.attributed", "T2"),
        ("order.confirmed", "T1"),
        ("order.cancelled", "T2"),
        ("order.refunded", "T1"),
    ]


def delivered_count() -> float:
    from prometheus_client import REGISTRY

    found = REGISTRY.get_sample_value(
        "redirector_postback_attempts_total", {"outcome": "delivered"}
    )
    return found or 0.0


def seen(received: list[Received]) -> list[tuple[str, str]]:
    return [(r.type, r.message["data"]["order_id"]) for r in received]


def test_events_arrive_signed_once_each_and_in_order(
    world: dict[str, Any], sales: Sales, hooks: Postbacks, receiver: Receiver
) -> None:
    hook = hooks.register(receiver, ORDER_EVENTS, token=world["bob"])
    made = story(sales)
    delivered_before = delivered_count()

    assert hooks.run() == 5
    got = receiver.accepted()
    assert seen(got) == made
    assert all(r.verified_by == [0] for r in got)  # the reference library verifies each
    assert len({r.webhook_id for r in got}) == 5
    assert len({r.peer for r in got}) == 1  # one connection, kept from one to the next
    log = hooks.deliveries(hook, world["bob"])
    assert [d["webhook_id"] for d in log] == [r.webhook_id for r in got]
    assert {d["state"] for d in log} == {"delivered"}
    assert [d["attempts"][0]["status_code"] for d in log] == [200] * 5
    assert delivered_count() - delivered_before == 5  # /metrics counts them
    # The message is the order after the change, with whom it concerns.
    refund = got[-1].message
    assert refund["data"]["refunded_amount"] == 2800 and refund["data"]["creator_id"] == "bob"
    assert refund["timestamp"].endswith("+08:00")


def test_a_receiver_down_mid_stream_gets_every_event_in_order_once_back(
    world: dict[str, Any], sales: Sales, hooks: Postbacks, receiver: Receiver, clock: Any
) -> None:
    hook = hooks.register(receiver, ORDER_EVENTS)
    sales.paid("T1")
    sales.paid("T2")
    assert hooks.run() == 2
    receiver.stop()
    sales.then("T1", "confirmed")
    sales.then("T2", "cancelled")
    sales.then("T1", "refunded", refunded_amount=100)

    assert hooks.run() == 1  # the head was tried; the two behind it wait
    waiting = hooks.deliveries(hook)[2:]
    assert "refused" in waiting[0]["attempts"][0]["error"]
    assert [d["attempt_count"] for d in waiting] == [1, 0, 0]

    receiver.start()  # back on its port, but the next attempt is due in 5 s
    assert hooks.run() == 0
    advance(clock, seconds=5)
    assert hooks.run() == 3
    got = receiver.accepted()
    assert [t for t, _ in seen(got)] == [
        "order.attributed",
        "order.attributed",
        "order.confirmed",
        "order.cancelled",
        "order.refunded",
    ]
    assert [d["webhook_id"] for d in hooks.deliveries(hook)] == [r.webhook_id for r in got]


def test_retries_follow_the_schedule_by_the_mock_clock_then_fail_then_go_again_by_hand(
    world: dict[str, Any], sales: Sales, hooks: Postbacks, clock: Any, api: Any
) -> None:
    refusing = {"on": True}
    with Receiver(answer=lambda r: 500 if refusing["on"] else 204) as receiver:
        hook = hooks.register(receiver, ["order.attributed", "order.confirmed"])
        sales.paid("T1")
        sales.then("T1", "confirmed")  # queued behind the first
        assert hooks.run() == 1
        for n, delay in enumerate(postbacks.RETRY_DELAYS, start=2):
            advance(clock, seconds=delay - 1)
            assert hooks.run() == 0, f"early, {delay} s after"
            advance(clock, seconds=1)
            # The 8th attempt is the last: the head fails, the event behind it goes at once.
            assert hooks.run() == (2 if n == 8 else 1), f"attempt {n}, {delay} s after"
        first, second = hooks.deliveries(hook)
        assert first["state"] == "failed" and first["attempt_count"] == 8
        assert first["next_attempt_at"] is None
        assert [a["status_code"] for a in first["attempts"]] == [500] * 8
        # Only once the head failed did the event behind it go: it is not delivered either.
        assert second["attempt_count"] == 1 and second["state"] == "pending"
        assert {r.webhook_id for r in receiver.received} == {
            first["webhook_id"],
            second["webhook_id"],
        }

        refusing["on"] = False
        advance(clock, seconds=5)
        assert hooks.run() == 1  # the second, now delivered
        path = f"/api/v1/webhooks/{hook['id']}/deliveries/{first['id']}/retry"
        again = api.ok("POST", path)
        assert again["state"] == "pending" and again["attempt_count"] == 8
        assert hooks.run() == 1
        first = hooks.deliveries(hook)[0]
        assert first["state"] == "delivered" and first["attempt_count"] == 9
        assert receiver.accepted()[-1].webhook_id == first["webhook_id"]  # the same id, again
        assert api.admin("POST", path).status_code == 409  # delivered: nothing to send again


def test_during_a_rotations_grace_both_signatures_are_sent_and_after_it_only_the_new(
    world: dict[str, Any], sales: Sales, hooks: Postbacks, receiver: Receiver, clock: Any, api: Any
) -> None:
    hook = hooks.register(receiver, ["order.attributed"])
    rotated = api.ok("POST", f"/api/v1/webhooks/{hook['id']}/secret", {"grace_seconds": 3600})
    receiver.secrets.append(rotated["secret"])
    sales.paid("T1")
    hooks.run()
    during = receiver.accepted()[-1]
    assert len(during.signatures) == 2
    assert during.verified_by == [0, 1]  # the old secret verifies, and the new
    listed = api.ok("GET", "/api/v1/webhooks")["webhooks"][0]
    assert listed["previous_secret_expires_at"] == rotated["previous_secret_expires_at"]

    advance(clock, seconds=3600)
    sales.paid("T2")
    hooks.run()
    after = receiver.accepted()[-1]
    assert len(after.signatures) == 1
    assert after.verified_by == [1]  # the old one no longer does
    assert api.ok("GET", "/api/v1/webhooks")["webhooks"][0]["previous_secret_expires_at"] is None


def test_an_attempt_that_takes_too_long_is_a_timeout_and_is_retried(
    world: dict[str, Any],
    sales: Sales,
    hooks: Postbacks,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sender, "TIMEOUT_SECONDS", 0.3)
    with Receiver(delay=1.0) as slow:
        hook = hooks.register(slow, ["order.attributed"])
        sales.paid("T1")
        hooks.run()
        attempt = hooks.deliveries(hook)[0]["attempts"][0]
    assert attempt["error"] == "timed out" and attempt["status_code"] is None
    assert attempt["duration_ms"] < 1000


def test_a_connection_idle_too_long_is_not_reused(
    world: dict[str, Any],
    sales: Sales,
    hooks: Postbacks,
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sender, "IDLE_SECONDS", 0.0)
    hooks.register(receiver, ["order.attributed"])
    sales.paid("T1")
    sales.paid("T2")
    hooks.run()
    assert len({r.peer for r in receiver.accepted()}) == 2


def test_only_the_start_of_an_answer_is_read() -> None:
    class Chatty(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(200)
            self.send_header("Content-Length", str(10**7))
            self.end_headers()
            self.wfile.write(b"x" * 65536)  # and then nothing more: only the cap is read

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Chatty)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    try:
        target = guard.parse_target(f"http://127.0.0.1:{server.server_address[1]}/x")
        answer = sender.post(target, ["127.0.0.1"], {}, b"{}", timeout=5)
    finally:
        server.shutdown()
        server.server_close()
    assert answer.status == 200 and answer.delivered
    assert len(answer.excerpt) == sender.RESPONSE_CAP


def test_a_worker_thread_sends_a_retry_within_a_second_of_the_clock_reaching_it(
    world: dict[str, Any], sales: Sales, hooks: Postbacks, clock: Any
) -> None:
    with Receiver(answer=lambda r: 503 if r.webhook_id not in answered else 200) as receiver:
        answered: set[str] = set()
        hooks.register(receiver, ["order.attributed"])
        worker = postbacks.Worker(hooks.ctx, tick=0.05).start()
        try:
            sales.paid("T1")
            deadline = time.monotonic() + 5
            while not receiver.received and time.monotonic() < deadline:
                time.sleep(0.02)
            answered.add(receiver.received[0].webhook_id)
            time.sleep(0.3)
            assert receiver.accepted() == []  # nothing before the clock moves
            advance(clock, seconds=5)
            moved = time.monotonic()
            assert len(receiver.wait_for(1, timeout=1.0)) == 1
            assert time.monotonic() - moved < 1.0
        finally:
            worker.stop()


def overlapping(received: list[Received]) -> list[str]:
    """Webhook-ids two requests of which were in flight at the same moment."""
    by_id: dict[str, list[Received]] = {}
    for r in received:
        by_id.setdefault(r.webhook_id, []).append(r)
    clashes = []
    for webhook_id, requests in by_id.items():
        spans = sorted((r.started, r.ended) for r in requests)
        if any(b[0] < a[1] for a, b in itertools.pairwise(spans)):
            clashes.append(webhook_id)
    return clashes


def test_two_workers_on_one_store_never_send_one_attempt_twice_at_once(
    world: dict[str, Any], sales: Sales, hooks: Postbacks
) -> None:
    with Receiver(delay=0.03) as receiver:
        hooks.register(receiver, ["order.attributed"])
        workers = [postbacks.Worker(hooks.ctx, tick=0.01).start() for _ in range(2)]
        try:
            for i in range(12):
                sales.paid(f"T{i}")
            got = receiver.wait_for(12, timeout=20)
        finally:
            for worker in workers:
                worker.stop()
    assert [r.message["data"]["order_id"] for r in got] == [f"T{i}" for i in range(12)]
    assert overlapping(receiver.received) == []
    assert len(receiver.received) == 12  # and none was sent twice


def test_a_lease_has_one_holder_who_alone_renews_and_releases_it(store: Any) -> None:
    first, second = Lease(store, "rd:{pb:x}:lease", 200), Lease(store, "rd:{pb:x}:lease", 200)
    assert first.acquire() and not second.acquire()
    assert not second.renew() and not second.release()
    assert first.renew() and first.release()
    assert second.acquire()
    time.sleep(0.3)  # expired: another may take it, and the old holder cannot end it
    assert first.acquire()
    assert not second.release() and not second.renew()
    assert store.get("rd:{pb:x}:lease") == first.token


def test_the_log_pages_newest_first(
    world: dict[str, Any], sales: Sales, hooks: Postbacks, receiver: Receiver, api: Any
) -> None:
    hook = hooks.register(receiver, ["order.attributed"])
    for i in range(5):
        sales.paid(f"T{i}")
    hooks.run()
    path = f"/api/v1/webhooks/{hook['id']}/deliveries"
    first = api.ok("GET", f"{path}?limit=3")
    rest = api.ok("GET", f"{path}?limit=3&cursor={first['next_cursor']}")
    orders = [d["payload"]["data"]["order_id"] for d in first["deliveries"] + rest["deliveries"]]
    assert orders == ["T4", "T3", "T2", "T1", "T0"]
    assert rest["next_cursor"] is None
    assert api.admin("GET", f"{path}?limit=3&colour=red").status_code == 422
    assert ADMIN_TOKEN  # the admin reads any endpoint's log


def test_the_worker_command_needs_a_redis(runner: Any) -> None:
    from redirector.cli import main

    answer = runner.invoke(main, ["worker"], env={"REDIS_URL": "", "REDIS_CLUSTER_URL": ""})
    assert answer.exit_code == 2
    assert "REDIS_URL" in answer.output
