"""The simulated world: storefronts and their products, agencies and creators,
the posts creators publish and the tracking links in them, and the devices
that click those links.

The storefronts are Taobao, Youzan and Moku, each with its own hosts, click-id
parameter and app deep links (Youzan shops are H5 pages: no app link), and a
product library of each. Agencies (MCNs) and independent creators are on
Weibo, Douyin and Kuaishou, with heavy-tailed reach (lognormal, mean 1); about
a third of creators are independent. ``build_world`` makes all of it on the
service through its API, as a real integration would, with the run id as the
prefix of every slug, so several runs may share one service.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from ..money import Shares
from ..periods import period_of
from ..storefront_client import StorefrontClient
from .agents import BotRequest
from .options import SimulationError
from .shape import (
    CHANNELS,
    DECAY_HOURS,
    HOUR_MS,
    LOCAL_TZ,
    POST_LIFETIME_HOURS,
    REACH_SIGMA,
    at,
)
from .transport import Http

__all__ = [
    "STOREFRONT_SPECS",
    "Click",
    "Creator",
    "Device",
    "Link",
    "Post",
    "Product",
    "ProductSpec",
    "Program",
    "Storefront",
    "StorefrontSpec",
    "World",
    "build_world",
    "read_programs",
    "read_timezone",
]


@dataclass(frozen=True)
class ProductSpec:
    key: str
    title: str
    price: int  # fen
    rate_bps: int
    path: str  # web URL, its host one of the storefront's
    app: str | None  # app deep link, or None (web only)


@dataclass(frozen=True)
class StorefrontSpec:
    key: str
    name: str
    hosts: tuple[str, ...]
    click_param: str | None
    products: tuple[ProductSpec, ...]


def _taobao(
    key: str, title: str, price: int, bps: int, item: str, tmall: bool = False
) -> ProductSpec:
    host, app = ("detail.tmall.com", "tmall") if tmall else ("item.taobao.com", "taobao")
    path = f"{host}/item.htm?id={item}"
    return ProductSpec(key, title, price, bps, f"https://{path}", f"{app}://{path}")


def _youzan(key: str, title: str, price: int, bps: int, shop: int, goods: str) -> ProductSpec:
    # Youzan shops are H5 pages opened in WeChat and browsers: no app deep link.
    return ProductSpec(
        key, title, price, bps, f"https://shop{shop}.youzan.com/v2/goods/{goods}", None
    )


def _moku(key: str, title: str, price: int, bps: int, item: str, query: str = "") -> ProductSpec:
    web = f"https://www.moku.com/detail/{item}{query}"
    return ProductSpec(key, title, price, bps, web, f"moku://m.moku.com/detail/{item}")


STOREFRONT_SPECS = (
    StorefrontSpec(
        "taobao",
        "Taobao",
        ("item.taobao.com", "detail.tmall.com"),
        None,  # the service's default, rd_click
        (
            _taobao("longjing-tea", "West Lake Longjing tea 250g", 12800, 1500, "684512093341"),
            _taobao("silk-scarf", "Hangzhou silk scarf", 25900, 2000, "702231458812"),
            _taobao("phone-case", "MagSafe phone case", 3900, 3000, "659301277410&skuId=4871"),
            _taobao("rice-cooker", "IH rice cooker 3L", 39900, 800, "612093458210", tmall=True),
            _taobao("lipstick", "Velvet matte lipstick", 23000, 2500, "633381920015", tmall=True),
            _taobao("running-shoes", "Running shoes", 59900, 1000, "695512300871", tmall=True),
            _taobao("dried-mango", "Dried mango 500g", 2990, 2000, "671120045590"),
        ),
    ),
    StorefrontSpec(
        "youzan",
        "Youzan",
        ("*.youzan.com",),
        "yz_click",
        (
            _youzan("pour-over-set", "Pour-over coffee set", 16800, 1800, 104933, "2fy8x1mq5w3kp"),
            _youzan("yunnan-coffee", "Yunnan coffee beans 454g", 8800, 2200, 104933, "3nq0c7r2h9"),
            _youzan("linen-shirt", "Linen shirt", 19900, 1500, 118201, "1xk4m8p2v6bse?from=feed"),
            _youzan("face-serum", "Niacinamide face serum", 15900, 3000, 118201, "35ty9qw1n0lae"),
        ),
    ),
    StorefrontSpec(
        "moku",
        "Moku",
        ("m.moku.com", "www.moku.com"),
        "mk_ref",
        (
            _moku("tote-bag", "Canvas tote bag", 6900, 2500, "1m9x2k7", "?acm=3.ms.1_4_1m9x2k7"),
            _moku("knit-cardigan", "Knit cardigan", 21900, 2000, "1n2b8c4"),
            _moku("hair-clips", "Pearl hair clips (6)", 1990, 3500, "1p7q3z9"),
            _moku("sneakers", "Platform sneakers", 32900, 1200, "1r5t0w2"),
        ),
    ),
)

AGENCY_NAMES = (
    ("starlight", "Starlight MCN"),
    ("bamboo", "Bamboo Media"),
    ("redwave", "Red Wave Culture"),
)
CREATOR_HANDLES = (
    "tea-lin", "momo-beauty", "chef-wang", "xiaoyu-style", "runner-zhao", "coffee-ah",
    "dad-cooks", "qiqi-home", "lazy-mei", "gadget-hu", "yoyo-travel", "panda-snacks",
)  # fmt: skip


# -- what the service holds ------------------------------------------------------------


@dataclass(frozen=True)
class Program:
    shares: Shares
    window_days: int
    holding_days: int


@dataclass
class Storefront:
    id: str
    spec: StorefrontSpec
    client: StorefrontClient | None = None

    @property
    def param(self) -> str:
        return self.spec.click_param or "rd_click"


@dataclass
class Product:
    id: str
    storefront: Storefront
    spec: ProductSpec


@dataclass
class Creator:
    id: str
    name: str
    channel: str
    reach: float  # mean 1 over creators
    agency: str | None
    api_key: str = ""

    @property
    def account(self) -> str:
        return f"agency:{self.agency}" if self.agency else f"creator:{self.id}"


@dataclass
class Link:
    id: str
    url: str
    creator: Creator
    product: Product
    channel: str
    placement: str
    created_ms: int
    # what the simulator expects the link's stats to be
    clicks: int = 0
    unique_clicks: int = 0
    bot_clicks: int = 0
    orders: int = 0
    gmv: int = 0
    commission: int = 0


@dataclass
class Post:
    creator: Creator
    channel: str
    placement: str
    products: list[Product]
    published_ms: int
    virality: float
    live_until_ms: int = 0
    links: list[Link] = field(default_factory=list)

    def weight(self, now_ms: int) -> float:
        age_h = (now_ms - self.published_ms) / HOUR_MS
        if age_h < 0 or age_h > POST_LIFETIME_HOURS:
            return 0.0
        decay = math.exp(-age_h / DECAY_HOURS[self.placement])
        if self.placement == "live":
            decay *= 0.15  # the replay, once the stream is over
        return self.creator.reach * self.virality * decay


@dataclass
class Device:
    """One browser, one cookie jar: an in-app browser and a phone's Safari are two."""

    context: str
    user_agent: str
    address: str | None = None  # the source address it connects from (``network``)
    cookie: str | None = None
    clicks: list[Click] = field(default_factory=list)
    last_hour: int = -1
    unique_at: dict[str, int] = field(default_factory=dict)  # link id -> last unique click


@dataclass
class Click:
    link: Link
    device: Device | None  # None for a bot
    at_ms: int
    bot: BotRequest | None
    id: str | None = None  # the service's click id, once answered
    new_device: bool = False  # sent with no rd_did cookie: the device got one with it
    # Ground truth: "" (an ordinary click), "crowd" (a live stream's crowd), or
    # the fraud it is part of ("farm", "instant", "embed").
    kind: str = ""


@dataclass
class World:
    """Everything the run set up on the service, and the posts and links made since."""

    run_id: str
    programs: dict[str, Program] = field(default_factory=dict)
    tz: ZoneInfo = LOCAL_TZ  # the service's zone, read at set-up
    storefronts: dict[str, Storefront] = field(default_factory=dict)
    products: list[Product] = field(default_factory=list)
    agencies: list[str] = field(default_factory=list)
    creators: list[Creator] = field(default_factory=list)
    posts: list[Post] = field(default_factory=list)
    links: dict[str, Link] = field(default_factory=dict)

    @property
    def channels(self) -> list[str]:
        """The channels the service has a program for, in ``CHANNELS`` order."""
        return [c for c in CHANNELS if c in self.programs]


# -- setting it up ----------------------------------------------------------------------


def build_world(
    world: World, http: Http, rng: random.Random, creators: int, clock: Callable[[], datetime]
) -> None:
    """Make the storefronts, products, agencies and ``creators`` creators of the
    run on the service (its programs read first); ``clock`` dates the
    storefronts' events."""
    for spec in STOREFRONT_SPECS:
        add_storefront(world, http, spec, clock)
    add_agencies(world, http, min(len(AGENCY_NAMES), max(1, round(creators / 4))))
    add_creators(world, http, rng, creators)


def read_programs(world: World, http: Http) -> None:
    _, doc = http.api("GET", "/api/v1/programs")
    for p in doc["programs"]:
        world.programs[p["channel"]] = Program(
            Shares(p["network_bps"], p["platform_bps"], p["guide_bps"]),
            p["window_days"],
            p["holding_days"],
        )
    if not world.channels:
        raise SimulationError(f"the service has no program for any of {', '.join(CHANNELS)}")


def read_timezone(world: World, http: Http, start_ms: int) -> None:
    """The service's zone, in which its periods are months, from the first statement."""
    start_period = period_of(at(start_ms), LOCAL_TZ)
    _, statement = http.api("GET", f"/api/v1/settlements/{start_period}")
    world.tz = ZoneInfo(statement["timezone"])


def add_storefront(
    world: World, http: Http, spec: StorefrontSpec, clock: Callable[[], datetime]
) -> None:
    """A storefront of the run, with its signing client, and its products."""
    run = world.run_id
    sid = f"{run}-{spec.key}"
    body: dict[str, Any] = {"name": spec.name, "hosts": list(spec.hosts)}
    if spec.click_param:
        body["click_param"] = spec.click_param
    # The app schemes its products' deep links use, declared as a storefront must.
    body["app_schemes"] = sorted({p.app.partition(":")[0] for p in spec.products if p.app})
    status, answer = http.api("PUT", f"/api/v1/storefronts/{sid}", body)
    if status != 201:
        raise SimulationError(
            f"storefront {sid} already exists on this service: run id {run!r} was used "
            "before; pass another --run-id (or --seed)"
        )
    storefront = Storefront(sid, spec)
    storefront.client = StorefrontClient(
        sid, answer["signing_secret"], http.post_signed, clock=clock
    )
    world.storefronts[spec.key] = storefront
    for p in spec.products:
        pid = f"{run}-{p.key}"
        product_body: dict[str, Any] = {
            "storefront_id": sid,
            "title": p.title,
            "price": p.price,
            "commission_rate_bps": p.rate_bps,
            "web_url": p.path,
        }
        if p.app:
            product_body["app_url"] = p.app
        http.api("PUT", f"/api/v1/products/{pid}", product_body)
        world.products.append(Product(pid, storefront, p))


def add_agencies(world: World, http: Http, count: int) -> None:
    for key, name in AGENCY_NAMES[:count]:
        aid = f"{world.run_id}-{key}"
        http.api("PUT", f"/api/v1/agencies/{aid}", {"name": name})
        world.agencies.append(aid)


def add_creators(world: World, http: Http, rng: random.Random, n: int) -> None:
    """``n`` creators, their reach drawn first, then who is independent."""
    reach = [rng.lognormvariate(0, REACH_SIGMA) for _ in range(n)]
    mean_reach = sum(reach) / n
    independent = _independents(rng, n)
    channels = world.channels
    for i in range(n):
        handle = CREATOR_HANDLES[i % len(CREATOR_HANDLES)]
        suffix = f"-{i // len(CREATOR_HANDLES)}" if i >= len(CREATOR_HANDLES) else ""
        agency = None if independent[i] else world.agencies[i % len(world.agencies)]
        creator = Creator(
            f"{world.run_id}-{handle}{suffix}",
            handle.replace("-", " ").title(),
            channels[i % len(channels)],
            reach[i] / mean_reach,
            agency,
        )
        body = {"name": creator.name}
        if agency:
            body["agency_id"] = agency
        _, answer = http.api("PUT", f"/api/v1/creators/{creator.id}", body)
        creator.api_key = answer["api_key"]
        world.creators.append(creator)


def _independents(rng: random.Random, n: int) -> list[bool]:
    # About a third are independent; with two or more creators, one of each at least.
    independent = [rng.random() < 0.33 for _ in range(n)]
    if n >= 2 and not any(independent):
        independent[-1] = True
    if n >= 2 and all(independent):
        independent[0] = False
    return independent
