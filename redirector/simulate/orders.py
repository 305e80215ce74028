"""The simulated shoppers' orders, and the storefronts that report them.

Orders come only from human clicks, after a delay (minutes to two days;
within minutes for a live stream), carrying the click id (most) or only the
device id (some: attributed by the device's last click); a few are placed on
another storefront than the one clicked, and a few are organic (no click at
all). Each is confirmed 1-7 days later, or cancelled before that (about 5%);
about 8% are refunded after confirmation, partly (sometimes twice) or wholly;
about 1% of events are delivered twice (same ``webhook-id``), as a storefront
retrying would. An order's events go one after the other, signed by its
storefront's ``StorefrontClient``; every accepted one moves the books.
"""

from __future__ import annotations

import heapq
import math
import random
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from .books import Books, Event, Order
from .review import review_time
from .shape import (
    CANCEL_SHARE,
    CROSS_STORE_SHARE,
    DAY_MS,
    HOUR_MS,
    ORGANIC_SHARE,
    REFUND_SHARE,
    REPLAY_SHARE,
    at,
    poisson,
)
from .transport import Http, error_text
from .world import Click, Device, Link, Product, Storefront, World

__all__ = ["Orders", "Purchase"]

ORDER_PREFIX = {"taobao": "TB", "youzan": "E", "moku": "MK"}  # by storefront


@dataclass(frozen=True)
class Purchase:
    """What a shopper bought, when, and what its storefront will report of the click."""

    product: Product
    paid_ms: int
    click: Click | None
    device: Device | None
    send_click_id: bool
    send_device_id: bool
    fraud: str = ""  # ground truth (``books.Order.fraud``)
    audience: str = ""
    stuffed: Link | None = None


class Orders:
    """Every order planned, and a queue of each one's next event by due time."""

    def __init__(
        self,
        world: World,
        books: Books,
        rng: random.Random,
        pool: ThreadPoolExecutor,
        start_ms: int,
        http: Http,
    ) -> None:
        self.http = http
        self.world = world
        self.books = books
        self.rng = rng
        self.pool = pool
        self.orders: list[Order] = []
        self.queue: list[tuple[int, int, Order]] = []  # (due ms, seq, order): next event
        self.seq = 0  # of queue entries
        self.order_seq = 0  # of order ids
        self.last_event_ms = start_ms

    # -- planning ----------------------------------------------------------------

    def plan_hour(self, conversions: list[tuple[Click, bool]], tick: int, per_day: float) -> None:
        """The orders of an hour's converting clicks (those the service answered),
        then the hour's organic orders."""
        for click, live in conversions:
            if click.id is not None:
                self.plan_order(click, live)
        for _ in range(poisson(self.rng, per_day * ORGANIC_SHARE / 24)):
            self.plan_organic(tick)

    def plan_order(self, click: Click, live: bool) -> None:
        rng = self.rng
        if click.kind in ("farm", "instant"):
            self.plan_fraud(click)
            return
        if click.kind == "embed":
            assert click.device is not None
            self.plan_stuffed(click.link, click.device, click.at_ms)
            return
        if live:
            delay = rng.uniform(60, 1200)
        else:
            delay = min(max(rng.lognormvariate(math.log(2700), 1.3), 300), 2 * 86400)
        paid_ms = click.at_ms + int(delay) * 1000
        product = click.link.product
        draw = rng.random()
        send_click_id, send_device_id = (True, False) if draw < 0.7 else (True, True)
        if draw >= 0.8:
            send_click_id, send_device_id = False, True
        if rng.random() < CROSS_STORE_SHARE:  # bought something else, elsewhere
            others = [p for p in self.world.products if p.storefront is not product.storefront]
            product = rng.choice(others)
            send_click_id, send_device_id = False, True
        audience = "crowd" if click.kind == "crowd" else "live" if live else ""
        self.add_order(
            Purchase(
                product, paid_ms, click, click.device, send_click_id, send_device_id,
                audience=audience,
            )
        )  # fmt: skip

    def plan_fraud(self, click: Click) -> None:
        """A farm's scripted checkout (within minutes, to look human) or an
        instant one (seconds): the click id, on the product clicked."""
        delay = self.rng.uniform(20, 180) if click.kind == "farm" else self.rng.uniform(2, 8)
        self.add_order(
            Purchase(
                click.link.product, click.at_ms + int(delay * 1000), click, click.device,
                True, False, fraud=click.kind,
            )
        )  # fmt: skip

    def plan_stuffed(self, link: Link, device: Device, at_ms: int) -> None:
        """A visitor of a page stuffing ``link`` buys on its storefront later, on
        its own: the storefront reports the device's cookie, if it has one."""
        products = [p for p in self.world.products if p.storefront is link.product.storefront]
        product = link.product if self.rng.random() < 0.5 else self.rng.choice(products)
        paid_ms = at_ms + int(self.rng.uniform(600, 86400) * 1000)
        self.add_order(
            Purchase(product, paid_ms, None, device, False, True, fraud="embed", stuffed=link)
        )

    def plan_organic(self, tick: int) -> None:
        rng = self.rng
        product = rng.choice(self.world.products)
        paid_ms = tick + rng.randrange(60, 3600) * 1000
        self.add_order(Purchase(product, paid_ms, None, None, False, False))

    def add_order(self, purchase: Purchase) -> None:
        paid_ms = purchase.paid_ms
        if paid_ms % HOUR_MS == 0:  # never on a tick: a tick's clicks come after its events
            paid_ms += 1000
        amount = _amount(self.rng, purchase.product.spec.price)
        events = _lifecycle(self.rng, paid_ms, amount)
        storefront = purchase.product.storefront
        order = Order(
            self.new_order_id(storefront),
            storefront,
            purchase.product,
            amount,
            purchase.click,
            purchase.device,
            purchase.send_click_id,
            purchase.send_device_id,
            events,
            fraud=purchase.fraud,
            audience=purchase.audience,
            stuffed=purchase.stuffed,
        )
        self.orders.append(order)
        self.last_event_ms = max(self.last_event_ms, events[-1].at_ms)
        self.push(order)

    def new_order_id(self, storefront: Storefront) -> str:
        self.order_seq += 1
        prefix = ORDER_PREFIX[storefront.spec.key]
        return f"{self.world.run_id}-{prefix}{self.order_seq:07d}"

    # -- delivery ----------------------------------------------------------------

    def push(self, order: Order) -> None:
        if order.delivered < len(order.events) and not order.failed:
            self.seq += 1
            heapq.heappush(self.queue, (order.events[order.delivered].at_ms, self.seq, order))

    def due(self, tick: int) -> bool:
        return bool(self.queue) and self.queue[0][0] <= tick

    def deliver_due(self, tick: int) -> None:
        """Every event that has happened by ``tick``: orders side by side, each
        order's events one after the other."""
        due: dict[str, Order] = {}
        while self.queue and self.queue[0][0] <= tick:
            _, _, order = heapq.heappop(self.queue)
            due[order.id] = order
        if not due:
            return
        for order in self.pool.map(lambda o: self.deliver_order(o, tick), list(due.values())):
            self.push(order)

    def deliver_order(self, order: Order, tick: int) -> Order:
        while (
            order.delivered < len(order.events)
            and order.events[order.delivered].at_ms <= tick
            and not order.failed
        ):
            self.deliver(order, order.events[order.delivered], order.delivered)
            order.delivered += 1
        return order

    def deliver(self, order: Order, event: Event, index: int) -> None:
        if event.status in ("release", "reject"):
            self.decide(order, event.status)
            return
        storefront = order.storefront
        assert storefront.client is not None
        body = storefront.client.event(
            order.id,
            event.status,
            order.amount,
            at(event.at_ms),
            refunded_amount=event.refunded,
            click_id=order.click.id if order.send_click_id and order.click else None,
            device_id=order.device.cookie if order.send_device_id and order.device else None,
        )
        msg_id = f"msg_{order.id}_{index}"
        answer = storefront.client.send(body, msg_id=msg_id)
        if answer.status_code != 200:
            order.failed = True
            self.books.error(
                f"{event.status} of order {order.id} answered {answer.status_code}: "
                f"{error_text(answer)}"
            )
            return
        doc = answer.json()
        if _replay_draw(order.id, index) < REPLAY_SHARE:
            again = storefront.client.send(body, msg_id=msg_id)
            self.books.count("replays")
            if (
                again.status_code == 200
                and again.json() == doc
                and again.headers.get("Webhook-Replayed") == "true"
            ):
                self.books.count("replays_identical")
        self.books.apply(order, event, doc)
        if event.status == "paid" and order.hold:
            self.schedule_review(order, event.at_ms)

    def schedule_review(self, order: Order, paid_ms: int) -> None:
        """The admin's decision on a held order, among its events: reject what
        the run injected as fraud, release the rest."""
        at_ms = review_time(paid_ms)
        action = "reject" if order.fraud else "release"
        position = next(
            (i for i, e in enumerate(order.events) if e.at_ms > at_ms), len(order.events)
        )
        order.events.insert(position, Event(action, at_ms))
        with self.books.lock:
            self.last_event_ms = max(self.last_event_ms, at_ms)

    def decide(self, order: Order, action: str) -> None:
        """The admin's release or rejection, through the API."""
        path = f"/api/v1/orders/{order.storefront.id}/{order.id}/{action}"
        answer = self.http.request("POST", self.http.base + path, headers=self.http.admin)
        if answer.status_code != 200:
            self.books.error(f"{action} of held order {order.id} answered {answer.status_code}: "
                             f"{error_text(answer)}")  # fmt: skip
            return
        self.books.reviewed(order, action, answer.json())


def _amount(rng: random.Random, price: int) -> int:
    """A quantity of one to three, now and then a discount."""
    quantity = rng.choices((1, 2, 3), weights=(80, 15, 5))[0]
    amount = price * quantity
    if rng.random() < 0.1:
        amount = max(100, amount - rng.choice((500, 1000, 2000)))
    return amount


def _lifecycle(rng: random.Random, paid_ms: int, amount: int) -> list[Event]:
    """Paid, then cancelled or confirmed, and perhaps refunded (once or twice)."""
    events = [Event("paid", paid_ms)]
    if rng.random() < CANCEL_SHARE:
        events.append(Event("cancelled", paid_ms + int(rng.uniform(0.5, 48) * HOUR_MS)))
        return events
    confirmed = paid_ms + int(rng.uniform(1, 7) * DAY_MS)
    events.append(Event("confirmed", confirmed))
    if rng.random() < REFUND_SHARE:
        refund_at = confirmed + int(rng.uniform(1, 10) * DAY_MS)
        if rng.random() < 0.4:
            events.append(Event("refunded", refund_at, amount))
        else:
            part = max(1, int(amount * rng.uniform(0.2, 0.6)))
            events.append(Event("refunded", refund_at, part))
            if rng.random() < 0.3:
                later = refund_at + int(rng.uniform(1, 5) * DAY_MS)
                events.append(Event("refunded", later, min(amount, part * 2)))
    return events


def _replay_draw(order_id: str, index: int) -> float:
    # A draw of its own, so that replays do not depend on the delivery order.
    return random.Random(f"replay:{order_id}:{index}").random()
