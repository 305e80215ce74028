"""A bounded soak: clicks, storefront callbacks and statement reads together, then
a reconciliation of everything the service accepted.

    .venv/bin/python -m bench.soak [--minutes 3] [--seed 1]

Starts a private ``redis-server`` (no AOF, no snapshots) on a free loopback
port and ``redirector serve`` on it (gunicorn, ``--workers`` workers), sets up
storefronts, products, agencies, creators, links and ad spend over the API,
then for ``--minutes`` runs at once:

- clicks: threads of keep-alive ``http.client`` connections, each playing its
  own devices (cookie kept, as a browser does) with in-app, mobile and desktop
  user agents, plus crawlers, link previews, a client with no user agent,
  ``HEAD`` checkers and browser prefetches; every 302 is recorded with its
  click id, and its ``Location`` checked against the product's URL;
- storefront callbacks (``StorefrontClient``, signed) for orders made from those
  clicks, carrying the click id, only the device id, a bot's click id or
  nothing: paid, confirmed, partial and full refunds, cancellations. Some
  messages are sent again later with the same webhook-id (expect the first
  answer, ``Webhook-Replayed: true``), some three times at once (exactly one
  applies), some again under a new webhook-id (a no-op), and some orders are
  delivered out of order (``confirmed`` before ``paid``, a refund before its
  confirmation): the 409 is retried after the event it waits for, as a real
  sender does; 503 ``busy`` and lost answers are retried with the same
  webhook-id. The soak keeps its own ledger of what each 2xx accepted;
- reads: the current period's statement, links and orders in a loop, each
  answer 200, the statement consistent in itself, and a link's click count
  never below the 302s answered before the read nor above those sent.

Then new clicks and orders stop, the orders in flight finish their lifecycle
(bounded by ``--drain-seconds``), and the soak checks:

1. clicks: per link, ``clicks`` = human 302s, ``bot_clicks`` = bot 302s,
   ``unique_clicks`` = devices seen; click ids unique and a sample (and every
   click an order names) resolves in Redis to the right link, device and bot
   flag; ``/metrics`` counted the same redirects;
2. events: every order's status, refunded amount, commission and attribution
   equal the ledger's; its history lists exactly the accepted webhook-ids, in
   order, once each, ``applied`` where the ledger says it changed the order;
   link stats ``orders``/``gmv``/``commission`` equal the ledger's sums;
3. statements: ``redirector reconcile`` passes for every period touched, and
   each statement equals one recomputed from the ledger (lines, creators, the
   three-way split, ad spend and rebate, totals);
4. the service log holds no error.

Clock: the real one. A soak is about time passing under load (keep-alive
timeouts, the 300 s webhook-timestamp tolerance, events dated as they happen);
the mock clock stands still and would make every click and event of the run
share a few instants and let the soak, not the load, decide what "later"
means. So every ``occurred_at`` is the wall-clock time the soak made the
event (always after the click it follows). If a month ends during the run,
the periods on both sides are reconciled.

CPU: two cores are shared by redis-server, the gunicorn workers and this
process (one interpreter lock for all its threads), so latencies are measured
from the client and include its own waiting; they are figures of a busy
machine, not of the service alone. Exit code 1 if any check fails.
"""

from __future__ import annotations

import argparse
import heapq
import http.client
import itertools
import os
import random
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote
from zoneinfo import ZoneInfo

import redis
import requests

from redirector import clicks as click_records
from redirector.storefront_client import StorefrontClient
from tests.servers import free_port, redis_server, wait_until

ADMIN = "soak-admin-token-0123456789abcdef"
KEYS = "soak-signing-key-0123456789abcdef0123"
TZ = ZoneInfo("Asia/Shanghai")  # the service's default zone, which the soak leaves set
HTTP_TIMEOUT = 30

# (user agent, can open an app deep link)
HUMAN_AGENTS = (
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Mobile/15E148 Weibo (iPhone15,2__weibo__14.3.0__iphone__os17.4)",
        True,
    ),
    (
        "Mozilla/5.0 (Linux; Android 14; V2307A Build/UP1A.231005.007; wv) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Version/4.0 Chrome/116.0.0.0 Mobile Safari/537.36 aweme_290100 "
        "JsSdk/1.0 NetType/WIFI app_version/29.1.0 ByteLocale/zh-CN Region/CN AppName/aweme",
        True,
    ),
    (
        "Mozilla/5.0 (Linux; Android 13; M2012K11AC Build/TKQ1.220829.002; wv) "
        "AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/103.0.5060.129 Mobile "
        "Safari/537.36 Kwai/11.5.20.35393 ksNebula/11.5.20.6143",
        True,
    ),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 16_6 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.47(0x18002f2c) NetType/WIFI "
        "Language/zh_CN",
        True,
    ),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/124.0.0.0 Safari/537.36",
        False,
    ),
    (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like "
        "Gecko) Version/17.4 Safari/605.1.15",
        False,
    ),
)
BOT_AGENTS = (
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (compatible; Baiduspider/2.0; +http://www.baidu.com/search/spider.html)",
    "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
    "TelegramBot (like TwitterBot)",
    "curl/8.5.0",
    "python-requests/2.32.3",
    None,  # no User-Agent header at all
)

STOREFRONTS = {
    # id: (hosts, click parameter or None for the default)
    "taobao": (["item.taobao.test"], None),
    "youzan": (["shop.youzan.test"], "yz_click"),
    "moku": (["m.moku.test"], "mk_cid"),
}
TB, YZ, MK = "https://item.taobao.test/", "https://shop.youzan.test/", "https://m.moku.test/"
PRODUCTS = {
    # id: (storefront, price, commission bps, web URL (its query kept byte for byte), app URL)
    "tea": ("taobao", 12800, 1234, TB + "item.htm?id=101&spm=a.b", "taobao://item.taobao.test/101"),
    "cup": ("taobao", 3990, 550, TB + "item.htm?id=102", None),
    "lamp": ("youzan", 25900, 2000, YZ + "goods/7?kdt=9", "youzan://shop.youzan.test/goods/7"),
    "mask": ("youzan", 990, 777, YZ + "goods/8", None),
    "kettle": ("moku", 45900, 1500, MK + "p/55", "moku://m.moku.test/p/55"),
    "socks": ("moku", 1590, 3000, MK + "p/56?c=1", None),
}
AGENCIES = ("north", "south")
CREATORS = {"c1": "north", "c2": "north", "c3": "south", "c4": "south", "c5": None, "c6": None}
CHANNELS = ("weibo", "douyin", "kuaishou")
PLACEMENTS = ("video", "article", "image", "live")
LINKS_PER_CREATOR = 4

ORDER_CHANCE = 0.04  # of a human click
MAX_OPEN_ORDERS = 250  # orders with events still to send; clicks make none beyond
OUT_OF_ORDER = 0.15  # a pair of events delivered second first
REPLAY_LATER = 0.20  # a message sent again later, same webhook-id
CONCURRENT_COPIES = 0.10  # a message sent three times at once, same webhook-id
NOOP_RESEND = 0.05  # the same event again under a new webhook-id
MAX_MESSAGE_TRIES = 40
PROBLEM_EXAMPLES = 8
METRICS = ("orders", "gmv", "commission")
SPLIT = ("network", "platform", "guide")
FIGURES = (*METRICS, *SPLIT, "ad_rebate", "platform_net", "guide_payable")


def now_ms() -> int:
    return round(time.time() * 1000)


def period_of_ms(ms: int, holding_days: int = 0) -> str:
    local = datetime.fromtimestamp(ms / 1000, TZ)
    return (local.date() + timedelta(days=holding_days)).strftime("%Y-%m")


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def commission_of(amount: int, refunded: int, bps: int) -> int:
    """Round half up of (amount - refunded) x bps / 10000, for non-negative figures."""
    return ((amount - refunded) * bps + 5000) // 10000


def split_three(total: int, bps: tuple[int, int, int]) -> tuple[int, int, int]:
    """Largest remainder: floors, then leftover units to the largest fractional
    parts; ties to the larger share, then network, platform, guide."""
    floors = [total * b // 10000 for b in bps]
    fractions = [total * b % 10000 for b in bps]
    for i in sorted(range(3), key=lambda i: (-fractions[i], -bps[i], i))[: total - sum(floors)]:
        floors[i] += 1
    return floors[0], floors[1], floors[2]


# -- what the soak records --------------------------------------------------------------


class Recorder:
    """Latencies per kind, counters, and problems per check (with a few examples)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.counts: Counter[str] = Counter()
        self.problems: dict[str, int] = Counter()
        self.examples: dict[str, list[str]] = defaultdict(list)
        self.measuring = False  # latencies count from the end of the warm-up
        self.warmup_max: dict[str, float] = defaultdict(float)

    def time(self, kind: str, seconds: float) -> None:
        if self.measuring:
            self.latency[kind].append(seconds)  # list.append is atomic
        else:
            self.warmup_max[kind] = max(self.warmup_max[kind], seconds)

    def count(self, name: str, n: int = 1) -> None:
        with self.lock:
            self.counts[name] += n

    def problem(self, check: str, message: str) -> None:
        with self.lock:
            self.problems[check] += 1
            if len(self.examples[check]) < PROBLEM_EXAMPLES:
                self.examples[check].append(message)


@dataclass
class Link:
    id: str
    token: str
    creator: str
    account: str  # "agency:<id>" or "creator:<id>"
    product: str
    storefront: str
    channel: str
    rate_bps: int
    param: str
    web_url: str
    app_url: str | None
    # what the soak saw; guarded by World.lock
    human: int = 0
    bot: int = 0
    sent: int = 0
    devices: set[str] = field(default_factory=set)


@dataclass
class Device:
    agent: str
    mobile: bool
    cookie: str | None = None

    @property
    def raw(self) -> str | None:
        return self.cookie.split(".", 1)[0] if self.cookie else None


@dataclass
class ClickSeen:
    click_id: str
    link_id: str
    bot: bool
    device: str | None
    answered_ms: int


@dataclass
class Message:
    msg_id: str
    status: str
    refunded: int | None
    occurred_ms: int
    body: dict[str, Any]
    noop: bool = False  # a resend of the same event under a new webhook-id
    tries: int = 0
    maybe_applied: bool = False  # an attempt whose answer was lost
    first_answer: dict[str, Any] | None = None


@dataclass
class Order:
    storefront: str
    order_id: str
    amount: int
    expected: dict[str, str] | None  # {click_id, link_id, creator_id} or None
    link: Link | None
    plan: list[tuple[str, int | None]]  # events still to happen
    paid_extra: dict[str, str]  # click_id / device_id carried by paid
    outbox: list[Message] = field(default_factory=list)
    replay_later: list[Message] = field(default_factory=list)
    status: str = "none"
    refunded: int = 0
    confirmed_ms: int | None = None
    last_ms: int = 0
    accepted: list[tuple[str, bool]] = field(default_factory=list)  # (webhook-id, applied)

    def commission(self) -> int:
        if self.link is None or self.status in ("none", "cancelled"):
            return 0
        return commission_of(self.amount, self.refunded, self.link.rate_bps)


NEXT = {
    "none": {"paid"},
    "paid": {"confirmed", "cancelled"},
    "confirmed": {"refunded"},
    "refunded": {"refunded"},
    "cancelled": set(),
}


# -- the service ------------------------------------------------------------------------


@contextmanager
def serve(env: dict[str, str], workers: int, log_path: Path):
    """``redirector serve`` in a child process, its output in ``log_path``."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "redirector.cli", "serve", "--port", str(port)],
            env={**os.environ, **env, "REDIRECTOR_WORKERS": str(workers)},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_until(
                lambda: requests.get(f"{base}/readyz", timeout=1).status_code == 200,
                30,
                "redirector serve",
            )
            yield base
        finally:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)


class Api:
    def __init__(self, base: str, token: str) -> None:
        self.base = base
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"

    def call(self, method: str, path: str, body: Any = None, token: str | None = None) -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        r = self.session.request(
            method, self.base + path, json=body, headers=headers, timeout=HTTP_TIMEOUT
        )
        if r.status_code not in (200, 201):
            raise RuntimeError(f"{method} {path}: {r.status_code} {r.text[:300]}")
        return r.json()


# -- the soak ---------------------------------------------------------------------------


class Soak:
    def __init__(self, base: str, redis_url: str, args: argparse.Namespace) -> None:
        self.base = base
        self.port = int(base.rsplit(":", 1)[1])
        self.redis_url = redis_url
        self.args = args
        self.rng = random.Random(args.seed)
        self.rec = Recorder()
        self.lock = threading.Lock()  # links' figures, clicks, devices
        self.links: list[Link] = []
        self.link_weights: list[float] = []
        self.secrets: dict[str, str] = {}
        self.programs: dict[str, dict[str, int]] = {}
        self.ad_spend: dict[tuple[str, str], int] = {}  # (period, account) -> amount
        self.clicks: list[ClickSeen] = []
        self.orders: list[Order] = []
        self.order_seq = itertools.count(1)
        self.periods: set[str] = set()
        # callbacks: a heap of (due, seq, order); one step per order in flight
        self.cond = threading.Condition()
        self.heap: list[tuple[float, int, Order]] = []
        self.heap_seq = itertools.count()
        self.in_flight = 0
        self.stop_clicks = threading.Event()
        self.draining = False
        self.abandon = False
        self.local = threading.local()
        self.copies = ThreadPoolExecutor(max_workers=6, thread_name_prefix="copy")
        # filled as it goes, for the report
        self.load_seconds = self.drain_seconds = self.verify_seconds = 0.0
        self.resolved = 0
        self.reconciled: list[str] = []
        self.settled: dict[str, dict[str, int]] = {}

    # -- set-up ---------------------------------------------------------------------------

    def setup(self) -> None:
        api = Api(self.base, ADMIN)
        for sf, (hosts, param) in STOREFRONTS.items():
            body: dict[str, Any] = {"name": sf.title(), "hosts": hosts}
            if param:
                body["click_param"] = param
            self.secrets[sf] = api.call("PUT", f"/api/v1/storefronts/{sf}", body)["signing_secret"]
        for pid, (sf, price, bps, web, app) in PRODUCTS.items():
            body = {"storefront_id": sf, "title": pid.title(), "price": price}
            body.update(commission_rate_bps=bps, web_url=web)
            if app:
                body["app_url"] = app
            api.call("PUT", f"/api/v1/products/{pid}", body)
        for slug in AGENCIES:
            api.call("PUT", f"/api/v1/agencies/{slug}", {"name": slug.title()})
        for program in api.call("GET", "/api/v1/programs")["programs"]:
            self.programs[program["channel"]] = program
        for n, (creator, agency) in enumerate(CREATORS.items()):
            body = {"name": creator.upper()}
            if agency:
                body["agency_id"] = agency
            key = api.call("PUT", f"/api/v1/creators/{creator}", body)["api_key"]
            for i in range(LINKS_PER_CREATOR):
                product = self.rng.choice(sorted(PRODUCTS))
                channel = CHANNELS[(n + i) % len(CHANNELS)]
                placement = self.rng.choice(PLACEMENTS)
                body = {"product_id": product, "channel": channel, "placement": placement}
                link = api.call("POST", "/api/v1/links", {**body, "post_id": f"p{n}{i}"}, key)
                sf, _, bps, web, app = PRODUCTS[product]
                self.links.append(
                    Link(
                        id=link["id"],
                        token=link["token"],
                        creator=creator,
                        account=f"agency:{agency}" if agency else f"creator:{creator}",
                        product=product,
                        storefront=sf,
                        channel=channel,
                        rate_bps=bps,
                        param=STOREFRONTS[sf][1] or "rd_click",
                        web_url=web,
                        app_url=app,
                    )
                )
        # Some links are far busier than others.
        self.link_weights = [1 / (rank + 1) ** 0.8 for rank in range(len(self.links))]
        self.rng.shuffle(self.link_weights)
        period = period_of_ms(now_ms())
        self.periods.add(period)
        for account, amount in (("north", 50_000), ("c5", 1_200)):
            api.call("PUT", f"/api/v1/ad-spend/{period}/{account}", {"amount": amount})
            kind = "agency" if account in AGENCIES else "creator"
            self.ad_spend[(period, f"{kind}:{account}")] = amount

    # -- clicks ---------------------------------------------------------------------------

    def click_thread(self, index: int) -> None:
        rng = random.Random(self.args.seed * 1000 + index)
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=HTTP_TIMEOUT)
        devices: list[Device] = []
        while not self.stop_clicks.is_set():
            link = rng.choices(self.links, self.link_weights)[0]
            roll = rng.random()
            method, headers, device, bot = "GET", {}, None, False
            if roll < 0.07:  # crawler or link preview: no cookies
                agent = rng.choice(BOT_AGENTS)
                if agent:
                    headers["User-Agent"] = agent
                bot = True
            else:
                if not devices or rng.random() < 0.08:
                    devices.append(Device(*rng.choice(HUMAN_AGENTS)))
                device = rng.choice(devices)
                headers["User-Agent"] = device.agent
                if device.cookie:
                    headers["Cookie"] = f"rd_did={device.cookie}"
                if roll < 0.09:
                    method, bot = "HEAD", True  # a link checker
                elif roll < 0.12:
                    headers["Sec-Purpose"] = "prefetch"  # the browser prefetching
                    bot = True
            with self.lock:
                link.sent += 1
            outcome = self._click(conn, method, link, headers)
            if outcome is None:
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=HTTP_TIMEOUT)
                continue
            status, location, cookie = outcome
            if status != 302:
                self.rec.problem("clicks", f"{method} /r/{link.id}: {status}")
                continue
            if device is not None and cookie is not None:
                if device.cookie is not None:
                    self.rec.problem("clicks", f"a valid device cookie was replaced: {cookie}")
                device.cookie = cookie
            click_id = self._check_location(link, location, device, bot)
            answered = now_ms()
            raw = device.raw if device else None
            with self.lock:
                if bot:
                    link.bot += 1
                else:
                    link.human += 1
                    if raw:
                        link.devices.add(raw)
                if click_id:
                    self.clicks.append(ClickSeen(click_id, link.id, bot, raw, answered))
            if click_id and not bot and rng.random() < ORDER_CHANCE:
                self.new_order(rng, link, click_id, device)
            elif click_id and bot and rng.random() < ORDER_CHANCE / 10:
                self.new_order(rng, link, click_id, None, bot_click=True)
        conn.close()

    def _click(
        self, conn: http.client.HTTPConnection, method: str, link: Link, headers: dict[str, str]
    ) -> tuple[int, str, str | None] | None:
        """One redirect; a request on a kept-alive connection the server closed
        while idle is sent again once (it was never read), as browsers do."""
        for attempt in (1, 2):
            started = time.perf_counter()
            try:
                conn.request(method, f"/r/{link.token}", headers=headers)
                response = conn.getresponse()
                response.read()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                conn.close()
                if attempt == 1:
                    self.rec.count("click reconnects")
                    continue
                self.rec.count("click answers lost")
                self.rec.problem("clicks", f"/r/{link.id}: no answer twice")
                return None
            except OSError as exc:  # a timeout: the click may or may not be counted
                self.rec.count("click answers lost")
                self.rec.problem("clicks", f"/r/{link.id}: {exc!r}")
                return None
            self.rec.time("click", time.perf_counter() - started)
            cookie = None
            for value in response.headers.get_all("Set-Cookie") or []:
                name, _, rest = value.partition("=")
                if name.strip() == "rd_did":
                    cookie = rest.split(";", 1)[0]
            return response.status, response.headers.get("Location", ""), cookie
        return None

    def _check_location(
        self, link: Link, location: str, device: Device | None, bot: bool
    ) -> str | None:
        deep = device is not None and device.mobile and not bot and link.app_url
        target = link.app_url if deep else link.web_url
        assert target is not None
        prefix = f"{target}{'&' if '?' in target else '?'}{link.param}="
        if not location.startswith(prefix):
            self.rec.problem("clicks", f"Location {location!r} does not start with {prefix!r}")
            return None
        click_id = unquote(location[len(prefix) :])
        if (
            not click_id.startswith(link.id + ".")
            or quote(click_id, safe="") != location[len(prefix) :]
        ):
            self.rec.problem("clicks", f"odd click id {click_id!r} for link {link.id}")
            return None
        return click_id

    # -- orders and their callbacks ------------------------------------------------------

    def open_orders(self) -> int:
        with self.cond:
            return len(self.heap) + self.in_flight

    def new_order(
        self,
        rng: random.Random,
        link: Link,
        click_id: str,
        device: Device | None,
        *,
        bot_click: bool = False,
    ) -> None:
        if self.open_orders() >= MAX_OPEN_ORDERS:
            self.rec.count("orders skipped (backlog)")
            return
        paid_at = now_ms()  # after the click's answer: the click is not after the order
        extra: dict[str, str] = {}
        expected: dict[str, str] | None = None
        credited: Link | None = None
        if bot_click:
            extra["click_id"] = click_id  # a bot's click is never attributed
        else:
            how = rng.random()
            if how < 0.65:
                extra["click_id"] = click_id
            elif how < 0.92 and device is not None and device.cookie:
                # Only the device: its latest human click on the storefront,
                # which is this one (the device's thread waits a moment below,
                # so its next click is after the order).
                extra["device_id"] = device.cookie
                time.sleep(0.003)
            else:
                extra["device_id"] = "forged.device-cookie"  # not issued by us: unattributed
            if extra.get("device_id") != "forged.device-cookie":
                expected = {"click_id": click_id, "link_id": link.id, "creator_id": link.creator}
                credited = link
        amount = rng.randrange(100, 80_000)
        roll = rng.random()
        plan: list[tuple[str, int | None]] = []
        if roll < 0.60:
            plan.append(("confirmed", None))
            if rng.random() < 0.3:
                first = rng.randrange(1, amount // 2 + 1)
                plan.append(("refunded", first))
                if rng.random() < 0.5:
                    plan.append(
                        ("refunded", rng.choice((amount, rng.randrange(first, amount + 1))))
                    )
        elif roll < 0.72:
            plan.append(("cancelled", None))
        order = Order(
            storefront=link.storefront,
            order_id=f"o{next(self.order_seq):06d}",
            amount=amount,
            expected=expected,
            link=credited,
            plan=plan,
            paid_extra=extra,
        )
        self._queue_event(rng, order, "paid", None, paid_at)
        with self.cond:
            self.orders.append(order)
            heapq.heappush(self.heap, (time.monotonic(), next(self.heap_seq), order))
            self.cond.notify()
        self.rec.count("orders")

    def _message(self, order: Order, status: str, refunded: int | None, at_ms: int) -> Message:
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
        self, rng: random.Random, order: Order, status: str, refunded: int | None, at_ms: int
    ) -> None:
        """Make the next event; now and then make the one after it too and
        deliver that one first (its 409 is retried once the first is in)."""
        message = self._message(order, status, refunded, at_ms)
        order.outbox.append(message)
        if (
            order.plan
            and order.plan[0][0] != status
            and not self.draining
            and rng.random() < OUT_OF_ORDER
        ):
            later_status, later_refund = order.plan.pop(0)
            later = self._message(order, later_status, later_refund, at_ms + rng.randrange(1, 30))
            order.outbox.insert(0, later)
            self.rec.count("out-of-order pairs")

    def callback_thread(self, index: int) -> None:
        rng = random.Random(self.args.seed * 1000 + 500 + index)
        while True:
            with self.cond:
                while True:
                    if self.abandon:
                        return
                    if self.heap and self.heap[0][0] <= time.monotonic():
                        _, _, order = heapq.heappop(self.heap)
                        self.in_flight += 1
                        break
                    if self.draining and not self.heap and self.in_flight == 0:
                        self.cond.notify_all()
                        return
                    wait = self.heap[0][0] - time.monotonic() if self.heap else 0.1
                    self.cond.wait(max(0.001, min(wait, 0.1)))
            delay = None
            try:
                delay = self.step(rng, order)
            except Exception as exc:  # a bug in the soak must not hang it
                self.rec.problem("events", f"{order.storefront}:{order.order_id}: {exc!r}")
            finally:
                with self.cond:
                    self.in_flight -= 1
                    if delay is not None:
                        due = time.monotonic() + (0 if self.draining else delay)
                        heapq.heappush(self.heap, (due, next(self.heap_seq), order))
                    self.cond.notify_all()

    def step(self, rng: random.Random, order: Order) -> float | None:
        """Send the order's next message; answers the delay before its next step,
        or None when the order has nothing left to send."""
        if not order.outbox:
            if order.replay_later and (not order.plan or rng.random() < 0.4):
                self.replay(order, order.replay_later.pop(rng.randrange(len(order.replay_later))))
                return rng.uniform(0.05, 0.5)
            if not order.plan:
                return None
            status, refunded = order.plan.pop(0)
            self._queue_event(rng, order, status, refunded, now_ms())
        message = order.outbox[0]
        message.tries += 1
        copies = 3 if rng.random() < CONCURRENT_COPIES else 1
        if copies > 1:
            self.rec.count("concurrent copy groups")
            answers = list(self.copies.map(lambda _: self.post(order, message), range(copies)))
        else:
            answers = [self.post(order, message)]
        fresh = [a for a in answers if a[0] in (200, 201) and not a[1]]
        replayed = [a for a in answers if a[0] in (200, 201) and a[1]]
        where = f"{order.storefront}:{order.order_id} {message.status} {message.msg_id}"
        if len(fresh) > 1:
            self.rec.problem("events", f"{where}: applied {len(fresh)} times at once")
        if fresh or replayed:
            bodies = [a[2] for a in fresh + replayed]
            if any(b != bodies[0] for b in bodies):
                self.rec.problem("events", f"{where}: copies answered differently: {bodies}")
            if not fresh and not message.maybe_applied:
                self.rec.problem("events", f"{where}: replayed before it was ever accepted")
            self.rec.count("replays answered", len(replayed))
            self.accept(order, message, bodies[0])
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
                self.rec.count("no-op resends")
            return rng.uniform(0.05, 1.5)
        statuses = sorted({a[0] for a in answers}, key=str)  # None: the answer was lost
        if message.tries >= MAX_MESSAGE_TRIES:
            self.rec.problem("events", f"{where}: given up after {message.tries} tries {statuses}")
            order.outbox.pop(0)
            return 0.1
        if any(s in (503, None) for s in statuses):
            if None in statuses:
                message.maybe_applied = True
                self.rec.count("event answers lost (resent)")
            if 503 in statuses:
                self.rec.count("busy 503 (resent)")
            return rng.uniform(0.05, 0.3)
        if statuses == [409]:
            if message.status in NEXT[order.status] or message.status == order.status:
                self.rec.problem("events", f"{where}: 409 from {order.status}: {answers[0][2]}")
                order.outbox.pop(0)
                return 0.1
            if len(order.outbox) < 2:
                self.rec.problem("events", f"{where}: 409 with nothing to wait for")
                order.outbox.pop(0)
                return 0.1
            # out of order: send the event it waits for first, retry after it
            order.outbox.insert(1, order.outbox.pop(0))
            self.rec.count("out-of-order 409 (retried)")
            return rng.uniform(0.1, 0.5)
        self.rec.problem("events", f"{where}: answered {statuses}: {answers[0][2]}")
        order.outbox.pop(0)
        return 0.1

    def post(self, order: Order, message: Message) -> tuple[int | None, bool, Any]:
        """One signed delivery: (status or None if lost, replayed, body)."""
        clients = getattr(self.local, "clients", None)
        if clients is None:
            session = requests.Session()
            clients = self.local.clients = {
                sf: StorefrontClient.over_http(self.base, sf, secret, session=session)
                for sf, secret in self.secrets.items()
            }
        started = time.perf_counter()
        self.rec.count("events sent")
        try:
            response = clients[order.storefront].send(message.body, msg_id=message.msg_id)
        except requests.RequestException as exc:
            return None, False, repr(exc)
        self.rec.time("callback", time.perf_counter() - started)
        try:
            body = response.json()
        except ValueError:
            body = response.text[:200]
        return response.status_code, response.headers.get("Webhook-Replayed") == "true", body

    def accept(self, order: Order, message: Message, answer: Any) -> None:
        """The ledger: what a 2xx for ``message`` did to the order."""
        where = f"{order.storefront}:{order.order_id} {message.status} {message.msg_id}"
        current, wanted = order.status, message.status
        same = wanted == current and (wanted != "refunded" or message.refunded == order.refunded)
        if same:
            applied = False
        elif wanted in NEXT[current] and (
            wanted != "refunded" or (message.refunded or 0) > order.refunded
        ):
            applied = True
            order.status = wanted
            if wanted == "refunded":
                order.refunded = message.refunded or 0
            if wanted == "confirmed":
                order.confirmed_ms = message.occurred_ms
        else:
            self.rec.problem("events", f"{where}: accepted from {current}")
            applied = False
        if message.noop and applied:
            self.rec.problem("events", f"{where}: a no-op resend changed the order")
        order.accepted.append((message.msg_id, applied))
        self.rec.count("events accepted")
        if applied:
            self.rec.count(f"events applied: {wanted}")
        expected = {
            "order_id": order.order_id,
            "status": order.status,
            "attributed": order.expected,
            "commission": order.commission(),
        }
        if answer != expected:
            self.rec.problem("events", f"{where}: answered {answer}, expected {expected}")
        message.first_answer = answer

    def replay(self, order: Order, message: Message) -> None:
        status, replayed, body = self.post(order, message)
        self.rec.count("later replays sent")
        where = f"{order.storefront}:{order.order_id} {message.msg_id}"
        if status is None or status == 503:
            return  # lost: nothing to judge
        if status != 200 or not replayed or body != message.first_answer:
            self.rec.problem(
                "events",
                f"{where}: replay answered {status} replayed={replayed} {body}, "
                f"first was {message.first_answer}",
            )
        else:
            self.rec.count("replays answered")

    # -- reads ----------------------------------------------------------------------------

    def read_thread(self) -> None:
        rng = random.Random(self.args.seed * 1000 + 900)
        api = requests.Session()
        api.headers["Authorization"] = f"Bearer {ADMIN}"
        while not self.stop_clicks.is_set():
            roll = rng.random()
            if roll < 0.4:
                self.read_statement(api, period_of_ms(now_ms()))
            elif roll < 0.8:
                self.read_link(api, rng.choice(self.links))
            else:
                with self.cond:
                    order = rng.choice(self.orders) if self.orders else None
                if order is not None:
                    path = f"/api/v1/orders/{order.storefront}/{order.order_id}"
                    self.timed_get(api, "order read", path, allow_404=True)
            time.sleep(0.02)

    def timed_get(
        self, api: requests.Session, kind: str, path: str, allow_404: bool = False
    ) -> Any:
        started = time.perf_counter()
        try:
            response = api.get(self.base + path, timeout=HTTP_TIMEOUT)
        except requests.RequestException as exc:
            self.rec.problem("reads", f"GET {path}: {exc!r}")
            return None
        self.rec.time(kind, time.perf_counter() - started)
        self.rec.count(f"{kind}s")
        if response.status_code == 404 and allow_404:
            return None  # an order whose paid event is not in yet
        if response.status_code != 200:
            self.rec.problem("reads", f"GET {path}: {response.status_code} {response.text[:200]}")
            return None
        return response.json()

    def read_statement(self, api: requests.Session, period: str) -> None:
        doc = self.timed_get(api, "statement read", f"/api/v1/settlements/{period}")
        if doc is None:
            return
        for name in ("orders", "gmv", "commission", "network", "platform", "guide"):
            if sum(line[name] for line in doc["lines"]) != doc["totals"][name]:
                self.rec.problem("reads", f"statement {period}: lines do not sum to {name}")
        for line in doc["lines"]:
            if line["network"] + line["platform"] + line["guide"] != line["commission"]:
                self.rec.problem("reads", f"statement {period}: split != commission: {line}")
            for name in ("orders", "gmv", "commission"):
                if sum(c[name] for c in line["creators"]) != line[name]:
                    self.rec.problem("reads", f"statement {period}: creators != line {name}")

    def read_link(self, api: requests.Session, link: Link) -> None:
        with self.lock:
            before = link.human + link.bot
        doc = self.timed_get(api, "link read", f"/api/v1/links/{link.id}")
        if doc is None:
            return
        with self.lock:
            sent = link.sent
        counted = doc["stats"]["clicks"] + doc["stats"]["bot_clicks"]
        if not before <= counted <= sent:
            self.rec.problem(
                "reads",
                f"link {link.id}: {counted} clicks, outside [{before} answered, {sent} sent]",
            )

    # -- the run --------------------------------------------------------------------------

    def run(self) -> float:
        """The load, then the drain; answers the seconds latencies were measured."""
        seconds = self.args.minutes * 60
        warmup = min(5.0, seconds / 10)
        threads = [
            threading.Thread(target=self.click_thread, args=(i,), name=f"click-{i}")
            for i in range(self.args.click_threads)
        ]
        callbacks = [
            threading.Thread(target=self.callback_thread, args=(i,), name=f"callback-{i}")
            for i in range(self.args.callback_threads)
        ]
        reader = threading.Thread(target=self.read_thread, name="reads")
        started = time.monotonic()
        for t in [*threads, *callbacks, reader]:
            t.start()
        # The workers compile the user-agent patterns on their first requests:
        # the first seconds count in the books, not in the latencies.
        self.stop_clicks.wait(warmup)
        self.rec.measuring = True
        measured = time.monotonic()
        self.stop_clicks.wait(seconds - warmup)
        self.stop_clicks.set()
        for t in [*threads, reader]:
            t.join()
        self.rec.measuring = False
        self.load_seconds = time.monotonic() - started
        measured_seconds = time.monotonic() - measured
        with self.cond:
            self.draining = True
            self.cond.notify_all()
        drain_until = time.monotonic() + self.args.drain_seconds
        for t in callbacks:
            t.join(max(0.0, drain_until - time.monotonic()))
        if any(t.is_alive() for t in callbacks):
            with self.cond:
                self.abandon = True
                left = len(self.heap) + self.in_flight
                self.cond.notify_all()
            for t in callbacks:
                t.join()
            self.rec.count("orders still open after the drain", left)
        self.copies.shutdown()
        self.drain_seconds = time.monotonic() - started - self.load_seconds
        return measured_seconds

    # -- the reconciliation ---------------------------------------------------------------

    def verify(self, env: dict[str, str], log_path: Path) -> dict[str, list[str]]:
        """Every check's failures (an empty list: it passed)."""
        started = time.monotonic()
        api = Api(self.base, ADMIN)
        failures: dict[str, list[str]] = {}
        failures["clicks"] = self.verify_clicks(api)
        failures["events"] = self.verify_orders(api)
        failures["statements"] = self.verify_statements(api, env)
        failures["reads"] = []
        failures["metrics"] = self.verify_metrics()
        lines = log_path.read_text(errors="replace").splitlines()
        bad = [x for x in lines if re.search(r"Traceback|\bERROR\b|CRITICAL|WORKER TIMEOUT", x)]
        failures["service log"] = [f"{len(bad)} error lines, first: {bad[0]}"] if bad else []
        for check in ("clicks", "events", "reads"):
            if self.rec.problems[check]:
                failures.setdefault(check, []).insert(
                    0,
                    f"{self.rec.problems[check]} during the run, e.g. "
                    + " | ".join(self.rec.examples[check]),
                )
        self.verify_seconds = time.monotonic() - started
        return failures

    def verify_clicks(self, api: Api) -> list[str]:
        out: list[str] = []
        for link in self.links:
            stats = api.call("GET", f"/api/v1/links/{link.id}")["stats"]
            seen = {"clicks": link.human, "bot_clicks": link.bot}
            seen["unique_clicks"] = len(link.devices)
            for name, value in seen.items():
                if stats[name] != value:
                    out.append(f"link {link.id} {name}: service {stats[name]}, answered {value}")
        ids = [c.click_id for c in self.clicks]
        if len(set(ids)) != len(ids):
            out.append(f"{len(ids) - len(set(ids))} click ids answered twice")
        store = redis.Redis.from_url(self.redis_url, decode_responses=True)
        named = {o.paid_extra.get("click_id") for o in self.orders}
        rng = random.Random(self.args.seed)
        sample = [c for c in self.clicks if c.click_id in named]
        sample += rng.sample(self.clicks, min(500, len(self.clicks)))
        self.resolved = len(sample)
        for seen_click in sample:
            found = click_records.get_click(store, seen_click.click_id)
            if found is None:
                out.append(f"click {seen_click.click_id} does not resolve")
            elif (
                found.link_id != seen_click.link_id
                or found.bot != seen_click.bot
                or (seen_click.device and found.device != seen_click.device)
                or found.at_ms > seen_click.answered_ms
            ):
                out.append(f"click {seen_click.click_id}: recorded {found}, answered {seen_click}")
        return out

    def verify_metrics(self) -> list[str]:
        """``/metrics`` (summed over the workers) counted the redirects answered."""
        text = requests.get(f"{self.base}/metrics", timeout=HTTP_TIMEOUT).text
        out = []
        for outcome in ("human", "bot"):
            mine = sum(x.bot if outcome == "bot" else x.human for x in self.links)
            pattern = rf'^redirector_clicks_total\{{outcome="{outcome}"\}} ([\d.e+]+)$'
            match = re.search(pattern, text, re.M)
            theirs = int(float(match.group(1))) if match else None
            if theirs != mine:
                out.append(
                    f"redirector_clicks_total{{outcome={outcome!r}}} {theirs}, answered {mine}"
                )
        if not text.strip():
            out.append("/metrics answered an empty document")
        return out

    def verify_orders(self, api: Api) -> list[str]:
        out: list[str] = []
        per_link: dict[str, Counter[str]] = defaultdict(Counter)
        for order in self.orders:
            if not order.accepted:
                continue  # never paid (the drain ran out): nothing to find
            doc = api.call("GET", f"/api/v1/orders/{order.storefront}/{order.order_id}")
            ref = f"{order.storefront}:{order.order_id}"
            mine = {"status": order.status, "refunded_amount": order.refunded}
            mine.update(commission=order.commission(), attributed=order.expected)
            theirs = {k: doc[k] for k in ("status", "refunded_amount", "commission")}
            theirs["attributed"] = doc["attributed"] and {
                k: doc["attributed"][k] for k in ("click_id", "link_id", "creator_id")
            }
            if mine != theirs:
                out.append(f"order {ref}: service {theirs}, ledger {mine}")
            history = [(h["webhook_id"], h["applied"]) for h in doc["history"]]
            if history != order.accepted:
                out.append(f"order {ref}: history {history}, accepted {order.accepted}")
            if order.link and order.confirmed_ms is not None:
                holding = self.programs[order.link.channel]["holding_days"]
                if doc["settled_period"] != period_of_ms(order.confirmed_ms, holding):
                    out.append(f"order {ref}: settled in {doc['settled_period']}")
            if order.link and order.status != "cancelled":
                figures = per_link[order.link.id]
                figures["orders"] += 1
                figures["gmv"] += order.amount - order.refunded
                figures["commission"] += order.commission()
        for link in self.links:
            stats = api.call("GET", f"/api/v1/links/{link.id}")["stats"]
            for name in ("orders", "gmv", "commission"):
                if stats[name] != per_link[link.id][name]:
                    out.append(
                        f"link {link.id} {name}: service {stats[name]}, "
                        f"ledger {per_link[link.id][name]}"
                    )
        return out

    def expected_statements(self) -> dict[str, dict[tuple[str, str], dict[str, Any]]]:
        """period -> (account, channel) -> figures and creators, from the ledger."""
        periods: dict[str, dict[tuple[str, str], dict[str, Any]]] = defaultdict(dict)
        for order in self.orders:
            if order.link is None or order.confirmed_ms is None:
                continue
            link = order.link
            holding = self.programs[link.channel]["holding_days"]
            period = period_of_ms(order.confirmed_ms, holding)
            line = periods[period].setdefault(
                (link.account, link.channel),
                {"orders": 0, "gmv": 0, "commission": 0, "creators": defaultdict(Counter)},
            )
            net, commission = order.amount - order.refunded, order.commission()
            for target in (line, line["creators"][link.creator]):
                target["orders"] += 1
                target["gmv"] += net
                target["commission"] += commission
        return periods

    def verify_statements(self, api: Api, env: dict[str, str]) -> list[str]:
        out: list[str] = []
        expected = self.expected_statements()
        self.periods |= set(expected) | {period_of_ms(now_ms())}
        command = Path(sys.executable).with_name("redirector")
        for period in sorted(self.periods):
            done = subprocess.run(
                [str(command) if command.exists() else "redirector", "reconcile", period],
                env={**os.environ, **env},
                capture_output=True,
                text=True,
                timeout=600,
            )
            said = (done.stdout.strip() or done.stderr.strip()).splitlines()
            self.reconciled.append(f"exit {done.returncode}: {said[-1] if said else ''}")
            if done.returncode != 0:
                out.append(f"reconcile {period}: exit {done.returncode}: {done.stdout.strip()}")
            doc = api.call("GET", f"/api/v1/settlements/{period}")
            out += self.compare_statement(period, doc, expected.get(period, {}))
        return out

    def compare_statement(
        self, period: str, doc: dict[str, Any], lines: dict[tuple[str, str], dict[str, Any]]
    ) -> list[str]:
        out: list[str] = []
        rendered: dict[tuple[str, str], dict[str, Any]] = {}
        totals: Counter[str] = Counter()
        for (account, channel), line in sorted(lines.items()):
            program = self.programs[channel]
            shares = (program["network_bps"], program["platform_bps"], program["guide_bps"])
            network, platform, guide = split_three(line["commission"], shares)
            kind, ident = account.split(":", 1)
            creators = [
                {"creator_id": creator, **{m: figures[m] for m in METRICS}}
                for creator, figures in sorted(line["creators"].items())
            ]
            rendered[(account, channel)] = {
                "account_id": ident,
                "account_type": kind,
                "channel": channel,
                **{m: line[m] for m in METRICS},
                "network": network,
                "platform": platform,
                "guide": guide,
                "ad_spend": self.ad_spend.get((period, account), 0),
                "ad_rebate": 0,
                "platform_net": platform,
                "guide_payable": guide,
                "creators": creators,
            }
        for account in {a for a, _ in rendered}:
            left = self.ad_spend.get((period, account), 0)
            for key in sorted(k for k in rendered if k[0] == account):
                line = rendered[key]
                rebate = min(line["platform"], left)
                left -= rebate
                line["ad_rebate"] = rebate
                line["platform_net"] = line["platform"] - rebate
                line["guide_payable"] = line["guide"] + rebate
        for line in rendered.values():
            for name in FIGURES:
                totals[name] += line[name]
        totals["ad_spend"] = sum(
            self.ad_spend.get((period, a), 0) for a in {a for a, _ in rendered}
        )
        theirs = {(f"{x['account_type']}:{x['account_id']}", x["channel"]): x for x in doc["lines"]}
        if any(x.get("adjustment") for x in doc["lines"]):
            out.append(f"statement {period}: adjustment lines, but no period was closed")
        for key in sorted(set(theirs) | set(rendered)):
            mine, got = rendered.get(key), theirs.get(key)
            if got is not None:
                got = {k: v for k, v in got.items() if k != "adjustment"}
            if mine != got:
                out.append(f"statement {period} line {key}: service {got}, ledger {mine}")
        if dict(totals) != {k: doc["totals"][k] for k in totals}:
            out.append(f"statement {period} totals: service {doc['totals']}, ledger {dict(totals)}")
        self.settled[period] = dict(totals)
        return out


# -- the report -------------------------------------------------------------------------


def report(soak: Soak, measured_seconds: float, failures: dict[str, list[str]]) -> bool:
    rec, counts = soak.rec, soak.rec.counts
    human = sum(x.human for x in soak.links)
    bot = sum(x.bot for x in soak.links)
    args = soak.args
    print(
        f"\nsoak: {soak.load_seconds:.1f} s of load (latencies from {measured_seconds:.1f} s "
        f"after the warm-up), {soak.drain_seconds:.1f} s for the orders in flight, "
        f"{soak.verify_seconds:.1f} s to reconcile; {args.workers} gunicorn workers, "
        f"{args.click_threads} click and {args.callback_threads} callback threads, "
        f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the end"
    )
    print(f"\n{'kind':15} {'requests':>9} {'per s':>7} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    for kind in ("click", "callback", "statement read", "link read", "order read"):
        values = rec.latency.get(kind, [])
        top = max(values) if values else float("nan")
        print(
            f"{kind:15} {len(values):9d} {len(values) / measured_seconds:7.1f} "
            f"{percentile(values, 0.50) * 1000:8.2f} {percentile(values, 0.99) * 1000:8.2f} "
            f"{top * 1000:8.2f}"
        )
    warm = ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in sorted(rec.warmup_max.items()))
    print(f"slowest in the warm-up: {warm}")

    pairs = sum(len(x.devices) for x in soak.links)
    print(
        f"\nclicks: {sum(x.sent for x in soak.links)} sent, {human + bot} answered 302 "
        f"({human} human, {bot} bot) on {len(soak.links)} links, {pairs} (link, device) pairs; "
        f"{counts['click reconnects']} resent on a closed keep-alive connection, "
        f"{counts['click answers lost']} answers lost; {soak.resolved} click ids resolved"
    )
    paid = [o for o in soak.orders if o.accepted]
    statuses = Counter(o.status for o in paid)
    print(
        f"orders: {len(soak.orders)} made, {len(paid)} paid "
        f"({sum(1 for o in paid if o.link)} attributed), "
        f"{counts['orders skipped (backlog)']} skipped for backlog; final: "
        + ", ".join(f"{s} {n}" for s, n in sorted(statuses.items()))
    )
    applied = ", ".join(
        f"{name.split(': ')[1]} {n}"
        for name, n in sorted(counts.items())
        if name.startswith("events applied")
    )
    print(
        f"events: {counts['events sent']} posted, {counts['events accepted']} accepted "
        f"(applied: {applied}; {counts['no-op resends']} no-op resends under a new webhook-id)"
    )
    print(
        f"  duplicates: {counts['replays answered']} replays answered the first answer "
        f"({counts['later replays sent']} resent later, {counts['concurrent copy groups']} "
        f"messages sent three at once)"
    )
    print(
        f"  out of order: {counts['out-of-order pairs']} pairs delivered second first, "
        f"{counts['out-of-order 409 (retried)']} 409s retried; resent: "
        f"{counts['busy 503 (resent)']} busy 503s, {counts['event answers lost (resent)']} "
        f"lost answers"
    )
    if counts["orders still open after the drain"]:
        print(f"  orders still open after the drain: {counts['orders still open after the drain']}")
    print(
        f"reads: {counts['statement reads']} statements, {counts['link reads']} links, "
        f"{counts['order reads']} orders"
    )
    for line in soak.reconciled:
        print(f"redirector reconcile: {line}")
    for period, totals in sorted(soak.settled.items()):
        print(
            f"statement {period} (ledger): {totals['orders']} orders, gmv {totals['gmv']}, "
            f"commission {totals['commission']} = network {totals['network']} + platform "
            f"{totals['platform']} + guide {totals['guide']}; ad rebate {totals['ad_rebate']}"
        )
    print()
    for check, problems in failures.items():
        print(f"{'PASS' if not problems else 'FAIL'}  {check}")
        for problem in problems[:PROBLEM_EXAMPLES]:
            print(f"      {problem}")
        if len(problems) > PROBLEM_EXAMPLES:
            print(f"      ... and {len(problems) - PROBLEM_EXAMPLES} more")
    ok = not any(failures.values())
    print("PASS" if ok else "FAIL")
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=3.0, help="load time (default 3)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers (default 3)")
    parser.add_argument("--click-threads", type=int, default=4)
    parser.add_argument("--callback-threads", type=int, default=4)
    parser.add_argument("--drain-seconds", type=float, default=60.0)
    args = parser.parse_args()
    if not 0 < args.minutes <= 60:
        parser.error("--minutes must be above 0 and at most 60")

    with redis_server("--appendonly", "no") as redis_url:
        env = {
            "REDIS_URL": redis_url,
            "REDIRECTOR_ADMIN_TOKEN": ADMIN,
            "REDIRECTOR_SECRET_KEYS": KEYS,
            "REDIRECTOR_LOG_LEVEL": "warning",
        }
        log_dir = tempfile.mkdtemp(prefix="redirector-soak-")
        log_path = Path(log_dir) / "service.log"
        with serve(env, args.workers, log_path) as base:
            soak = Soak(base, redis_url, args)
            soak.setup()
            print(
                f"soak: {args.minutes:g} min on {base} (Redis {redis_url}), "
                f"{len(soak.links)} links, seed {args.seed}; service log {log_path}",
                flush=True,
            )
            measured_seconds = soak.run()
            failures = soak.verify(env, log_path)
        ok = report(soak, measured_seconds, failures)
    with suppress(OSError):
        if ok:
            log_path.unlink()
            os.rmdir(log_dir)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
