"""The run's postback endpoint: a receiver on loopback, registered by the admin
for every event, and the books of what it should receive.

The books expect, for each event the service accepted: ``order.attributed``
at ``paid`` when the order was attributed, then ``order.confirmed``,
``order.cancelled`` and each ``order.refunded`` (by its cumulative refunded
amount) of an attributed order; and ``statement.closed`` for each period this
run closed; and for an order held for review, ``order.held`` after its
``order.attributed``, then ``order.released`` or ``order.rejected`` when the
admin decides. At the end the simulator waits for the deliveries still on their way
and compares: every expected event must have arrived, verified with the
reference ``standardwebhooks`` library, and one order's events in the order
they were made. An event that arrived twice is counted, and allowed (delivery
is at least once). Events of other runs sharing the service are ignored.

A service that refuses a loopback endpoint (``REDIRECTOR_WEBHOOK_ALLOW_PRIVATE``
unset) is said once as a finding, and postbacks are not compared. The endpoint
is removed at the end of the run.
"""

from __future__ import annotations

import threading
import time
from collections import Counter

from .options import Row
from .receiver import Received, Receiver
from .transport import Http

__all__ = ["Hooks"]

EVENTS = [
    "order.attributed",
    "order.confirmed",
    "order.refunded",
    "order.cancelled",
    "order.held",
    "order.released",
    "order.rejected",
    "statement.closed",
    "payout.created",
]
STATUS_EVENTS = {
    "paid": "order.attributed",
    "confirmed": "order.confirmed",
    "cancelled": "order.cancelled",
    "refunded": "order.refunded",
    "held": "order.held",
    "release": "order.released",
    "reject": "order.rejected",
}
# How long the end of a run waits for deliveries still on their way.
SETTLE_SECONDS = 30.0
Key = tuple[str, str, int | None]  # (type, order id, period or payout, an amount)


def key_of(received: Received) -> Key:
    message = received.message
    data = message["data"]
    if message["type"] == "statement.closed":
        return message["type"], data["period"], None
    if message["type"] == "payout.created":
        account = f"{data['account_type']}:{data['account_id']}"
        return message["type"], f"{data['period']} {account}", data["amount"]
    refunded = data["refunded_amount"] if message["type"] == "order.refunded" else None
    return message["type"], data["order_id"], refunded


class Hooks:
    """What the endpoint should receive, and what it did."""

    def __init__(self) -> None:
        self.receiver = Receiver(path="/simulator")
        self.lock = threading.Lock()
        self.expected: list[Key] = []  # in the order the changes were made
        self.hook_id: str | None = None
        self.refused: str | None = None  # why the service took no endpoint on loopback

    def start(self, http: Http) -> None:
        self.receiver.start()
        status, doc = http.api(
            "POST",
            "/api/v1/webhooks",
            {"url": self.receiver.url, "events": EVENTS},
            ok=(201, 422),
        )
        if status == 422:
            self.refused = str(doc["error"]["message"])
            self.receiver.stop()
            return
        self.hook_id = doc["id"]
        self.receiver.secrets.append(doc["secret"])

    @property
    def active(self) -> bool:
        return self.hook_id is not None

    def expect_order(self, order_id: str, status: str, refunded: int | None) -> None:
        kind = STATUS_EVENTS[status]
        with self.lock:
            self.expected.append((kind, order_id, refunded if status == "refunded" else None))

    def expect_statement(self, period: str) -> None:
        with self.lock:
            self.expected.append(("statement.closed", period, None))

    def expect_payout(self, period: str, account: str, amount: int) -> None:
        """A payout the close of ``period`` makes (``account``: ``agency:<id>``...)."""
        with self.lock:
            self.expected.append(("payout.created", f"{period} {account}", amount))

    def finish(self, http: Http) -> None:
        """Wait for what is still on its way (``SETTLE_SECONDS`` at most), then
        remove the endpoint."""
        if not self.active:
            return
        wanted = Counter(self.expected)
        deadline = time.monotonic() + SETTLE_SECONDS
        while time.monotonic() < deadline:
            arrived = Counter(key_of(r) for r in self.receiver.accepted())
            if not wanted - arrived:
                break
            time.sleep(0.1)
        http.api("DELETE", f"/api/v1/webhooks/{self.hook_id}", ok=(200, 404))
        self.receiver.stop()

    def compare(self) -> tuple[list[Row], list[str], list[str]]:
        """Rows for the summary, mismatches, and findings."""
        if not self.active:
            why = f"the service refused the endpoint ({self.refused})"
            return [], [], [f"postbacks not compared: {why}"]
        mine = set(self.expected)
        received = [r for r in self.receiver.received if key_of(r) in mine]
        accepted = [r for r in received if 200 <= r.status < 300]
        arrived = Counter(key_of(r) for r in accepted)
        wanted = Counter(self.expected)
        missing = wanted - arrived
        twice = sum(n - 1 for n in arrived.values() if n > 1)
        mismatches = [f"postback {t} of {what} never arrived" for t, what, _ in sorted(missing)]
        mismatches += _out_of_order(self.expected, accepted)
        unverified = sum(1 for r in received if not r.verified)
        came = sum((wanted & arrived).values())
        rows = [
            Row("postbacks expected", len(self.expected), came, section="postbacks"),
            Row("postbacks verified", len(received), len(received) - unverified),
            Row("postbacks received twice (allowed)", twice, None),
        ]
        return rows, mismatches, []


def _out_of_order(expected: list[Key], accepted: list[Received]) -> list[str]:
    """Orders whose events arrived (first arrivals) in another order than made."""
    made: dict[str, list[Key]] = {}
    for event in expected:
        made.setdefault(event[1], []).append(event)
    got: dict[str, list[Key]] = {}
    seen: set[Key] = set()
    for received in accepted:
        event = key_of(received)
        if event not in seen:
            seen.add(event)
            got.setdefault(event[1], []).append(event)
    out = []
    for what, sent in sorted(made.items()):
        arrived = [e for e in sent if e in seen]
        if what in got and got[what] != arrived:
            out.append(
                f"postbacks of {what} arrived as {[e[0] for e in got[what]]}, "
                f"made as {[e[0] for e in sent]}"
            )
    return out
