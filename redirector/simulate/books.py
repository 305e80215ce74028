"""The simulator's books: what it expects the service to make of what it sent.

Moved only by events the service accepted, and by the service's answers:

- **attribution** (``Books.predict``): an order carrying a click id of the same
  storefront within the program's window goes to that click; else one
  carrying a device id goes to the device's last human click on that
  storefront within the window; else to no one;
- **commission** is ``money.commission_of`` on the product's rate, net of
  refunds; a cancelled order earns none;
- **settlement**: a confirmation settles in the period of ``confirmed_at +
  holding_days``, the first open one from there; a refund of an order whose
  period is closed goes to an adjustment line of the first open period of the
  refund's date;
- **statements** (``Books.expected_statement``): each line split by
  ``money.split_commission`` on the channel's shares, and an account's ad spend
  rebated over its lines by ``money.allocate_ad_rebate`` (channel-name order);
- **review** (``holds``, ``review``): an order attributed to a click of a flood, or paid
  within seconds of it, is predicted held; a held order's link figures move as
  any other's, but its confirmation settles nothing until the admin (the
  simulator, knowing which orders it injected as fraud) releases it: then it
  settles as if confirmed then, in the first open period not before its own.
  A rejected order earns nothing and leaves its link's figures;
- **payouts** (``Books.close_period``): at each close the run makes, each of
  its accounts' ``guide_payable`` for the period plus the balance it carried
  is paid when it reaches the service's minimum payout, else carried
  (``payouts.due``).
"""

from __future__ import annotations

import threading
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from ..money import allocate_ad_rebate, commission_of, split_commission
from ..payouts import due
from ..periods import Period, period_of
from .holds import Review
from .hooks import Hooks
from .shape import DAY_MS, at
from .world import Click, Device, Link, Product, Storefront, World

__all__ = [
    "EMPTY_LINE",
    "STATEMENT_FIGURES",
    "STATEMENT_NAMES",
    "Books",
    "Event",
    "Line",
    "LineKey",
    "Order",
    "statement_totals",
]

LineKey = tuple[str, str, bool]  # (guide account, channel, adjustment)
STATEMENT_FIGURES = (  # (field, label, money)
    ("orders", "orders settled", False),
    ("gmv", "GMV (net of refunds)", True),
    ("commission", "commission", True),
    ("network", "network fee", True),
    ("platform", "platform", True),
    ("guide", "guide", True),
    ("ad_spend", "ad spend", True),
    ("ad_rebate", "ad rebate", True),
    ("platform_net", "platform net", True),
    ("guide_payable", "guide payable", True),
)
STATEMENT_NAMES = tuple(name for name, _, _ in STATEMENT_FIGURES)
EMPTY_LINE: dict[str, Any] = {
    **dict.fromkeys(STATEMENT_NAMES, 0),
    "creators": {},
    "order_ids": [],
}


@dataclass
class Event:
    status: str
    at_ms: int
    refunded: int | None = None


@dataclass
class Order:
    id: str
    storefront: Storefront
    product: Product
    amount: int
    click: Click | None
    device: Device | None
    send_click_id: bool
    send_device_id: bool
    events: list[Event]
    # the simulator's books, moved by what was sent and answered
    status: str = "none"
    delivered: int = 0
    link: Link | None = None
    rate_bps: int = 0
    refunded: int = 0
    commission: int = 0
    settled_period: str | None = None
    failed: bool = False
    # Ground truth: the fraud it is ("farm", "instant", "embed"; "" legitimate),
    # where its buyer came from ("crowd": a live stream's crowd, "live", ""), and
    # for cookie stuffing the link that claims it.
    fraud: str = ""
    audience: str = ""
    stuffed: Link | None = None
    # The review: the hold the books predict at paid, the admin's decision
    # ("released", "rejected"), and when a held order was confirmed.
    hold: str | None = None
    review: str | None = None
    credited: str | None = None  # the click id the service attributed it to
    confirmed_ms: int | None = None


@dataclass
class Line:
    orders: int = 0
    gmv: int = 0
    commission: int = 0
    creators: dict[str, list[int]] = field(default_factory=dict)  # id -> [orders, gmv, comm]
    order_refs: set[str] = field(default_factory=set)  # adjustment lines: what they adjust

    def add(self, creator: str, orders: int, gmv: int, commission: int) -> None:
        self.orders += orders
        self.gmv += gmv
        self.commission += commission
        part = self.creators.setdefault(creator, [0, 0, 0])
        part[0] += orders
        part[1] += gmv
        part[2] += commission


def statement_totals(lines: dict[LineKey, dict[str, Any]]) -> dict[str, int]:
    """A statement's totals from its lines: ad spend counts each account once."""
    totals = {name: sum(line[name] for line in lines.values()) for name in STATEMENT_NAMES}
    totals["ad_spend"] = sum({key[0]: line["ad_spend"] for key, line in lines.items()}.values())
    return totals


class Books:
    """Counters, the statement lines per period, and what the run found wrong."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.lock = threading.Lock()
        self.counts: Counter[str] = Counter()
        self.errors: list[str] = []
        self.findings: Counter[str] = Counter()
        self.closed: set[str] = set()
        self.periods_seen: set[str] = set()
        self.ad_spend: dict[tuple[str, str], int] = {}  # (period, account) -> amount
        self.lines: dict[tuple[str, str, str, bool], Line] = {}
        self.min_payout = 0  # the service's, read before the first close
        self.balances: dict[str, int] = {}  # account -> carried into the next close
        self.payouts: list[tuple[str, str, int]] = []  # (period, account, amount)
        self.hooks: Hooks | None = None  # the postbacks this run should receive
        self.review = Review()  # the flood counts, the holds predicted, the admin's decisions

    def count(self, name: str, n: int = 1) -> None:
        with self.lock:
            self.counts[name] += n

    def error(self, text: str) -> None:
        with self.lock:
            self.counts["errors"] += 1
            if len(self.errors) < 20:
                self.errors.append(text)

    # -- periods -----------------------------------------------------------------

    def period(self, ms: int, holding_days: int = 0) -> Period:
        return period_of(at(ms), self.world.tz, holding_days)

    def first_open(self, period: Period) -> Period:
        while str(period) in self.closed:
            period = period.next()
        return period

    # -- attribution -------------------------------------------------------------

    def predict(self, order: Order, paid_ms: int) -> set[str]:
        """Click ids the order may be attributed to (empty: none). Ties in a
        device's last click cannot happen: a device clicks once an hour at most."""
        return {c.id for c in self.predict_clicks(order, paid_ms) if c.id}

    def predict_clicks(self, order: Order, paid_ms: int) -> list[Click]:
        """The clicks the order may be attributed to (``predict``)."""
        click = order.click
        if (
            order.send_click_id
            and click is not None
            and click.id is not None
            and click.link.product.storefront is order.storefront
            and self.eligible(click, paid_ms)
        ):
            return [click]
        if order.send_device_id and order.device is not None:
            best: list[Click] = []
            for candidate in order.device.clicks:
                if candidate.link.product.storefront is order.storefront and self.eligible(
                    candidate, paid_ms
                ):
                    if not best or candidate.at_ms > best[0].at_ms:
                        best = [candidate]
                    elif candidate.at_ms == best[0].at_ms:
                        best.append(candidate)
            return best
        return []

    def eligible(self, click: Click, order_ms: int) -> bool:
        window = self.world.programs[click.link.channel].window_days * DAY_MS
        return click.at_ms <= order_ms and order_ms - click.at_ms <= window

    # -- the order lifecycle -----------------------------------------------------

    def apply(self, order: Order, event: Event, doc: dict[str, Any]) -> None:
        """Move the simulator's books by an accepted event; check the answer."""
        with self.lock:
            self._apply(order, event, doc)

    def _apply(self, order: Order, event: Event, doc: dict[str, Any]) -> None:
        self.counts["events"] += 1
        surprise = False  # the answer is not what the rules make of what was sent
        if event.status == "paid":
            surprise = self._paid(order, event, doc)
        elif event.status == "confirmed" and order.link is not None:
            self._confirmed(order, order.link, event)
        elif event.status == "cancelled" and order.link is not None:
            self._cancelled(order, order.link)
        elif event.status == "refunded":
            self._refunded(order, event)
        order.status = event.status
        if self.hooks is not None and order.link is not None:  # attributed: announced
            self.hooks.expect_order(order.id, event.status, event.refunded)
            if event.status == "paid" and order.hold:
                self.hooks.expect_order(order.id, "held", None)
        expected = {
            "order_id": order.id,
            "status": event.status,
            "commission": order.commission,
        }
        if surprise or any(doc.get(k) != v for k, v in expected.items()):
            self.counts["surprises"] += 1

    def _paid(self, order: Order, event: Event, doc: dict[str, Any]) -> bool:
        """Book a paid order; answers whether its attribution is a surprise."""
        counts = self.counts
        counts["orders"] += 1
        clicks = self.predict_clicks(order, event.at_ms)
        predicted = {c.id for c in clicks if c.id}
        attributed = doc.get("attributed")
        counts["predicted_attributed"] += bool(predicted)
        surprise = bool(predicted) != bool(attributed)
        if attributed:
            counts["attributed"] += 1
            link = self.world.links.get(attributed["link_id"])
            surprise = link is None or attributed["click_id"] not in predicted
            order.credited = attributed["click_id"]
            if link is not None:
                self._credit(order, link)
                click = next((c for c in clicks if c.id == attributed["click_id"]), None)
                order.hold = self.review.hold_of(click, event.at_ms) if click else None
        counts["answered_commission"] += int(doc.get("commission", 0))
        return surprise

    def _credit(self, order: Order, link: Link) -> None:
        order.link = link
        order.rate_bps = link.product.spec.rate_bps
        order.commission = commission_of(order.amount, 0, order.rate_bps)
        self.counts["paid_commission"] += order.commission
        link.orders += 1
        link.gmv += order.amount
        link.commission += order.commission

    def _confirmed(self, order: Order, link: Link, event: Event) -> None:
        if order.hold and order.review != "released":
            order.confirmed_ms = event.at_ms  # settles once released, if ever
            return
        self._settle(order, link, event.at_ms)

    def _settle(self, order: Order, link: Link, confirmed_ms: int) -> None:
        program = self.world.programs[link.channel]
        period = self.first_open(self.period(confirmed_ms, program.holding_days))
        order.settled_period = str(period)
        self.periods_seen.add(str(period))
        self.line(str(period), link, False).add(
            link.creator.id, 1, order.amount - order.refunded, order.commission
        )

    @staticmethod
    def _cancelled(order: Order, link: Link) -> None:
        if order.review == "rejected":
            return  # its figures left the link at the rejection
        link.orders -= 1
        link.gmv -= order.amount - order.refunded
        link.commission -= order.commission
        order.commission = 0

    def _refunded(self, order: Order, event: Event) -> None:
        assert event.refunded is not None
        d_gmv = -(event.refunded - order.refunded)
        order.refunded = event.refunded
        if order.link is None or order.review == "rejected":
            return
        link = order.link
        commission = commission_of(order.amount, order.refunded, order.rate_bps)
        d_commission = commission - order.commission
        order.commission = commission
        link.gmv += d_gmv
        link.commission += d_commission
        if order.settled_period is None:  # held: it settles its net once released
            return
        if order.settled_period not in self.closed:
            self.line(order.settled_period, link, False).add(
                link.creator.id, 0, d_gmv, d_commission
            )
            return
        # Its period is closed: the refund adjusts the first open one.
        target = str(self.first_open(self.period(event.at_ms)))
        self.periods_seen.add(target)
        line = self.line(target, link, True)
        line.add(link.creator.id, 0, d_gmv, d_commission)
        line.order_refs.add(f"{order.storefront.id}:{order.id}")
        self.counts["adjustments"] += 1

    def reviewed(self, order: Order, action: str, doc: dict[str, Any]) -> None:
        """The admin released or rejected a held order (``action``), and the
        service answered ``doc``."""
        with self.lock:
            link = order.link
            assert link is not None
            if action == "release":
                order.review = "released"
                if order.confirmed_ms is not None and order.status != "cancelled":
                    self._settle(order, link, order.confirmed_ms)
            else:
                order.review = "rejected"
                if order.status != "cancelled":
                    link.orders -= 1
                    link.gmv -= order.amount - order.refunded
                    link.commission -= order.commission
                order.commission = 0
            if self.hooks is not None:
                self.hooks.expect_order(order.id, action, None)
            self.counts["events"] += 1
            answered = (doc.get("review") or {}).get("status"), doc.get("commission")
            if answered != (order.review, order.commission):
                self.counts["surprises"] += 1

    def line(self, period: str, link: Link, adjustment: bool) -> Line:
        key = (period, link.creator.account, link.channel, adjustment)
        return self.lines.setdefault(key, Line())

    # -- statements --------------------------------------------------------------

    def expected_statement(self, period: str) -> dict[LineKey, dict[str, Any]]:
        """This run's lines of a period, split and rebated as docs/domain.md says."""
        out: dict[LineKey, dict[str, Any]] = {}
        by_account: dict[str, list[LineKey]] = defaultdict(list)
        for (p, account, channel, adjustment), line in sorted(self.lines.items()):
            if p != period:
                continue
            key = (account, channel, adjustment)
            out[key] = self._expected_line(period, key, line)
            if not adjustment:
                by_account[account].append(key)
        for account, keys in by_account.items():
            keys.sort(key=lambda k: k[1])  # channel-name order
            platforms = [out[k]["platform"] for k in keys]
            spend = self.ad_spend.get((period, account), 0)
            for k, rebate in zip(keys, allocate_ad_rebate(platforms, spend), strict=True):
                out[k]["ad_rebate"] = rebate
                out[k]["platform_net"] -= rebate
                out[k]["guide_payable"] += rebate
        return out

    def _expected_line(self, period: str, key: LineKey, line: Line) -> dict[str, Any]:
        """A line split three ways, before the ad rebate."""
        account, channel, _ = key
        split = split_commission(line.commission, self.world.programs[channel].shares)
        return {
            "orders": line.orders,
            "gmv": line.gmv,
            "commission": line.commission,
            "network": split.network,
            "platform": split.platform,
            "guide": split.guide,
            "ad_spend": self.ad_spend.get((period, account), 0),
            "ad_rebate": 0,
            "platform_net": split.platform,
            "guide_payable": split.guide,
            "creators": {c: tuple(v) for c, v in line.creators.items()},
            "order_ids": sorted(line.order_refs),
        }

    def close_period(self, period: str) -> None:
        """The payouts the close of ``period`` makes to this run's accounts."""
        payable: dict[str, int] = defaultdict(int)
        for (account, _, _), line in self.expected_statement(period).items():
            payable[account] += line["guide_payable"]
        for account in sorted(set(payable) | set(self.balances)):
            carried = self.balances.get(account, 0)
            decided = due(account, payable.get(account, 0), carried, self.min_payout)
            if decided.payout:
                self.payouts.append((period, account, decided.payout))
            self.balances[account] = decided.balance

    def accounts(self) -> set[str]:
        """The guide accounts of this run: only their lines are compared."""
        return {c.account for c in self.world.creators}
