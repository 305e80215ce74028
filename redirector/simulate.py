"""A month of traffic and storefront orders, driven through the service's real HTTP API.

``redirector simulate`` builds a small world on a running service (or on one it
starts itself: ``redirector serve`` in a child process, embedded store, mock
clock) and plays it hour by hour on the mock clock:

- **storefronts** Taobao, Youzan and Moku, each with its own hosts, click-id
  parameter and app deep links (Youzan shops are H5 pages: no app link), and a
  product library of each;
- **agencies** (MCNs) and **independent creators** on Weibo, Douyin and
  Kuaishou, with heavy-tailed reach; they publish **posts** (video, article,
  image, live) that carry one tracking link per product, made with the
  creator's own API key;
- **clicks** follow a diurnal curve (Asia/Shanghai evenings, quiet nights,
  busier weekends, triple traffic on 11.11, 12.12 and 6.18) and decay with the
  post's age; **live** posts draw a burst of clicks while the stream is on, and
  those convert more, within minutes;
- **user agents** are those of real audiences: each channel's in-app browser
  on iOS and Android, WeChat (links shared on), mobile Safari/Chrome and the
  Huawei browser, desktop browsers; about 8% of requests are crawlers and
  link-preview fetchers (Googlebot, Baiduspider, Bytespider,
  Slackbot-LinkExpanding, TelegramBot, facebookexternalhit...), ``HEAD`` link
  checkers and ``Sec-Purpose: prefetch`` requests (a share of the traffic, and
  a fetch or two of every new post's links). A simulated device is one
  browser (one cookie jar): it sends back the ``rd_did`` cookie the service
  set, and returning devices come back on later hours;
- **orders** come only from human clicks, after a delay (minutes to two days),
  carrying the click id (most), or only the device id (some: attributed by the
  device's last click); a few are placed on another storefront than the one
  clicked, and a few are organic (no click at all): both mostly unattributed;
- each order is **confirmed** 1-7 days later, or **cancelled** before that
  (about 5%); about 8% are **refunded** after confirmation, partly (sometimes
  twice) or wholly; about 1% of events are delivered twice (same
  ``webhook-id``), as a storefront retrying would;
- every agency records **ad spend** for each period the run touches, and with
  ``--close`` (the default) each period is **closed** once it has ended, so
  later refunds of its orders become adjustment lines.

Storefront callbacks are signed by :class:`redirector.storefront_client.StorefrontClient`
with the secret the service gave each storefront: everything passes through
the doors a real integration uses.

**The window.** ``--days`` bounds the *traffic*: posts, clicks and the orders
they lead to. The lifecycle of those orders is then played to its end: after
the window the clock keeps moving (only the hours where something happens)
until the last confirmation, cancellation and refund is delivered, so every
order lands and the comparison covers all of them. Orders still ``paid`` at
the end would not be in any statement; with this choice there are none, and
the summary says so. At the end the clock is set past the last event.

**The comparison.** The simulator keeps its own books from what it sent and
what the service answered: clicks, unique clicks (per device and link, 24 h)
and bot clicks per link; which orders should be attributed (it predicts the
rule: click id, else the device's last human click on that storefront within
the window) and their commission (``money.commission_of`` on the product's
rate); the order lifecycle with refunds and cancellations; which period each
confirmation settles in (``confirmed_at + holding_days``, the first open one)
and where a refund after closing goes (an adjustment line); the split per line
and the ad rebate (``money.split_commission``, ``money.allocate_ad_rebate``).
It then reads the link stats and the statement of every period from the start
month to the month the clock ends in, and compares line by line. Only lines
of this run's accounts are compared, so several runs may share one service
(``--run-id`` prefixes every slug and order id); when a statement holds only
this run's lines, its totals must also be their sum. Any disagreement makes
the command exit 1. Redirect destinations are checked against docs/rules.md
too (app link for phones, web URL for desktops and bots); a departure is
listed as a *finding* and does not change the exit status.

**Determinism.** Every random draw comes from ``--seed`` (one stream per
concern), and draws never depend on the service's answers: the same seed sends
the same requests, apart from what the service makes (link tokens, click ids,
device cookies). Requests within one simulated hour may be sent concurrently
(``--concurrency``); they cannot affect one another: a device clicks at most
once an hour, every click of an hour is recorded at the same instant (the
hour's tick), an order is never placed on a tick and an hour's order events
are sent before its clicks, and an order's events go one after the other.

**Volume.** At the defaults (30 days, 12 creators, 40 orders a day) a run
makes 14,398 redirects and 1,159 orders, 18,070 requests, in 105-145 s against
a fresh embedded ``redirector serve`` on a 2-core machine.
"""

from __future__ import annotations

import heapq
import http.cookiejar
import math
import os
import random
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import requests
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from .money import Shares, allocate_ad_rebate, commission_of, split_commission
from .periods import Period, period_of
from .storefront_client import StorefrontClient

__all__ = [
    "Options",
    "Row",
    "SimulationError",
    "SimulationResult",
    "embedded_service",
    "render_summary",
    "run",
    "simulate",
]

LOCAL_TZ = ZoneInfo("Asia/Shanghai")  # the audience's zone: the diurnal curve
HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS
HTTP_TIMEOUT = 30
SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
CHANNELS = ("weibo", "douyin", "kuaishou")

# -- the shape of the traffic ---------------------------------------------------------

# Relative click intensity per local hour (0-23): quiet nights, a lunch bump,
# the evening peak of Chinese social apps.
DIURNAL = (
    0.9, 0.5, 0.3, 0.2, 0.15, 0.2, 0.4, 0.8, 1.2, 1.4, 1.5, 1.6,
    1.9, 1.7, 1.4, 1.4, 1.5, 1.6, 1.8, 2.2, 2.6, 2.8, 2.5, 1.6,
)  # fmt: skip
DIURNAL_SHARE = tuple(x / sum(DIURNAL) for x in DIURNAL)
POSTING_SHARE = sum(DIURNAL_SHARE[8:])  # posts follow the curve, within the posting hours
WEEKEND_FACTOR = 1.15
FESTIVALS = {(11, 11), (12, 12), (6, 18)}  # shopping festivals: Double 11, Double 12, 618
FESTIVAL_TRAFFIC = 3.0
FESTIVAL_CONVERSION = 1.3

BASE_CONVERSION = 0.06  # human click -> order, before the placement's factor
# By placement; a live post's replay converts like a video, its stream far better.
PLACEMENT_CONVERSION = {"video": 1.0, "article": 0.9, "image": 0.7, "live": 1.0}
LIVE_CONVERSION = 3.0
# Mean conversion of a click over the mix of placements and live bursts on an
# ordinary day, to turn --orders-per-day into a click volume (measured).
MIX_CONVERSION = 0.082
LIVE_SHARE = 0.2  # of human clicks, made during live streams
REACH_SIGMA = 0.9  # creators' reach: lognormal, a few big ones
VIRALITY_SIGMA = 0.6  # posts' luck: lognormal
MEAN_VIRALITY = math.exp(VIRALITY_SIGMA**2 / 2)
ORGANIC_SHARE = 0.04  # of orders: bought with no click at all
CROSS_STORE_SHARE = 0.03  # of converting clicks: bought on another storefront
BOT_SHARE = 0.06  # of requests on the redirect (previews of new posts come on top)
RETURNING_SHARE = 0.3  # of human clicks: a device seen before
CANCEL_SHARE = 0.05
REFUND_SHARE = 0.08
REPLAY_SHARE = 0.01

PLACEMENTS_BY_CHANNEL = {
    "weibo": {"article": 0.3, "image": 0.3, "video": 0.3, "live": 0.1},
    "douyin": {"video": 0.7, "live": 0.3},
    "kuaishou": {"video": 0.6, "live": 0.4},
}
POSTS_PER_DAY = {"weibo": 0.6, "douyin": 0.45, "kuaishou": 0.45}
# How fast a post's traffic fades (hours, e-folding), by placement.
DECAY_HOURS = {"video": 20.0, "article": 40.0, "image": 12.0, "live": 8.0}
POST_LIFETIME_HOURS = 8 * 24
LIVE_HOURS = (2, 2, 3)  # how long a live stream lasts
LIVE_HOURS_MEAN = sum(LIVE_HOURS) / len(LIVE_HOURS)
POSTING_HOURS = range(8, 24)  # local hours creators publish in
STOREFRONT_WEIGHTS = {"taobao": 0.5, "youzan": 0.25, "moku": 0.25}


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

# -- user agents ---------------------------------------------------------------------

IOS_VERSIONS = ("16_6", "17_4", "17_5_1", "17_6", "18_0", "18_1")
IPHONES = ("iPhone13,2", "iPhone14,5", "iPhone15,2", "iPhone15,4", "iPhone16,1")
ANDROIDS = (
    ("13", "V2231A", "TP1A.220624.014"),
    ("12", "PFJM10", "SP1A.210812.016"),
    ("14", "23049RAD8C", "UKQ1.230804.001"),
    ("13", "22081212C", "TKQ1.220829.002"),
    ("14", "PJZ110", "UKQ1.231108.001"),
)
CHROMES = ("110.0.5481.153", "118.0.5993.80", "124.0.6367.179", "126.0.6478.122")


def _ios_ua(rng: random.Random, tail: str) -> str:
    ios = rng.choice(IOS_VERSIONS)
    return (
        f"Mozilla/5.0 (iPhone; CPU iPhone OS {ios} like Mac OS X) AppleWebKit/605.1.15 "
        f"(KHTML, like Gecko) Mobile/15E148 {tail}"
    ).replace("{ios}", ios.replace("_", "."))


def _android_ua(rng: random.Random, tail: str) -> str:
    version, model, build = rng.choice(ANDROIDS)
    return (
        f"Mozilla/5.0 (Linux; Android {version}; {model} Build/{build}; wv) "
        f"AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/{rng.choice(CHROMES)} "
        f"Mobile Safari/537.36 {tail}"
    ).replace("{model}", model)


def human_user_agent(rng: random.Random, context: str) -> str:
    """A user agent for a browsing context: ``<app>/<platform>`` as the service labels it."""
    app, _, platform = context.partition("/")
    if app == "weibo":
        if platform == "ios":
            return _ios_ua(rng, f"Weibo ({rng.choice(IPHONES)}__weibo__14.3.0__iphone__os{{ios}})")
        return _android_ua(rng, "Weibo ({model}__weibo__14.2.2__android__android13)")
    if app == "douyin":
        if platform == "ios":
            return _ios_ua(
                rng,
                "aweme_29.1.0 JsSdk/2.0 NetType/WIFI Channel/App Store ByteLocale/zh Region/CN "
                "AppTheme/light",
            )
        return _android_ua(
            rng,
            "aweme_290500 JsSdk/1.0 NetType/WIFI Channel/vivo_1128_64 AppName/aweme "
            "app_version/29.5.0 ByteLocale/zh-CN Region/CN AppSkin/white",
        )
    if app == "kuaishou":
        if platform == "ios":
            return _ios_ua(
                rng,
                "Kwai/11.8.20.6339 ISLP/0 StatusHT/47 KDT/PHONE ISDM/0 TitleHT/44 NetType/WIFI "
                "ICFO/0 locale/zh-Hans CT/0 Yoda/3.2.2.2 ISLB/0 CoIS/2 WebViewType/WK",
            )
        return _android_ua(
            rng,
            "Yoda/3.1.6-rc4 ksNebula/11.6.30.5658 OS_PRO_BIT/64 AZPREFIX/zw ICFO/0 "
            "StatusHT/29 TitleHT/44 NetType/WIFI ISLP/0 ISDM/0 locale/zh-cn CT/0",
        )
    if app == "wechat":
        if platform == "ios":
            return _ios_ua(rng, "MicroMessenger/8.0.47(0x18002f2c) NetType/WIFI Language/zh_CN")
        return _android_ua(
            rng,
            "XWEB/1110099 MMWEBSDK/20230805 MMWEBID/4312 MicroMessenger/8.0.42.2460(0x28002A3B) "
            "WeChat/arm64 Weixin NetType/WIFI Language/zh_CN ABI/arm64",
        )
    if platform == "ios":  # mobile Safari
        return (
            f"Mozilla/5.0 (iPhone; CPU iPhone OS {rng.choice(IOS_VERSIONS)} like Mac OS X) "
            "AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
        )
    if platform == "android":
        if rng.random() < 0.4:
            return (
                "Mozilla/5.0 (Linux; Android 12; HarmonyOS; NOH-AN00; HMSCore 6.13.0.302) "
                "AppleWebKit/537.36 (KHTML, like Gecko) Chrome/99.0.4844.88 "
                "HuaweiBrowser/14.0.5.302 Mobile Safari/537.36"
            )
        version, model, _ = rng.choice(ANDROIDS)
        return (
            f"Mozilla/5.0 (Linux; Android {version}; {model}) AppleWebKit/537.36 "
            f"(KHTML, like Gecko) Chrome/{rng.choice(CHROMES)} Mobile Safari/537.36"
        )
    return rng.choice(DESKTOP_USER_AGENTS)


DESKTOP_USER_AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36 Edg/126.0.2592.87",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.5 Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:127.0) Gecko/20100101 Firefox/127.0",
    "Mozilla/5.0 (Windows NT 10.0; WOW64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/70.0.3538.25 Safari/537.36 Core/1.70.3870.400 QQBrowser/10.8.4405.400",
)

# Where a channel's audience opens a link from, and on what.
CONTEXT_MIX = {
    "weibo": {
        "weibo/ios": 0.30, "weibo/android": 0.32, "wechat/ios": 0.05, "wechat/android": 0.05,
        "browser/ios": 0.04, "browser/android": 0.06, "browser/desktop": 0.18,
    },
    "douyin": {
        "douyin/ios": 0.36, "douyin/android": 0.44, "wechat/ios": 0.05, "wechat/android": 0.06,
        "browser/ios": 0.02, "browser/android": 0.03, "browser/desktop": 0.04,
    },
    "kuaishou": {
        "kuaishou/ios": 0.25, "kuaishou/android": 0.55, "wechat/ios": 0.04,
        "wechat/android": 0.08, "browser/ios": 0.02, "browser/android": 0.03,
        "browser/desktop": 0.03,
    },
}  # fmt: skip
REFERRERS = {
    "weibo": "https://m.weibo.cn/",
    "douyin": "https://www.douyin.com/",
    "kuaishou": "https://www.kuaishou.com/",
    "wechat": "https://servicewechat.com/",
}

CRAWLER_USER_AGENTS = (
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/124.0.6367.155 Mobile Safari/537.36 "
    "(compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (compatible; Baiduspider/2.0; +http://www.baidu.com/search/spider.html)",
    "Mozilla/5.0 (Linux; Android 5.0) AppleWebKit/537.36 (KHTML, like Gecko) Mobile "
    "Safari/537.36 (compatible; Bytespider; spider-feedback@bytedance.com)",
    "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
    "Sogou web spider/4.0(+http://www.sogou.com/docs/help/webmasters.htm#07)",
    "Mozilla/5.0 (compatible; YisouSpider; +http://www.yisou.com)",
    "Mozilla/5.0 (compatible; 360Spider; +http://webscan.360.cn)",
)
PREVIEW_USER_AGENTS = (
    "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
    "TelegramBot (like TwitterBot)",
    "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
    "Twitterbot/1.0",
    "WhatsApp/2.23.20.0 A",
    "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)",
)


@dataclass(frozen=True)
class BotRequest:
    kind: str  # "crawler" | "preview" | "head" | "prefetch"
    method: str
    user_agent: str
    headers: tuple[tuple[str, str], ...] = ()


def bot_request(rng: random.Random) -> BotRequest:
    draw = rng.random()
    if draw < 0.45:
        return BotRequest("crawler", "GET", rng.choice(CRAWLER_USER_AGENTS))
    if draw < 0.8:
        return BotRequest("preview", "GET", rng.choice(PREVIEW_USER_AGENTS))
    if draw < 0.9:  # a link checker: HEAD with a browser's user agent
        context = rng.choice(("browser/desktop", "browser/desktop", "browser/ios"))
        return BotRequest("head", "HEAD", human_user_agent(rng, context))
    header = ("Sec-Purpose", "prefetch") if rng.random() < 0.7 else ("Purpose", "prefetch")
    context = rng.choice(("browser/desktop", "browser/android"))
    return BotRequest("prefetch", "GET", human_user_agent(rng, context), (header,))


# -- options and results -------------------------------------------------------------


class SimulationError(Exception):
    """The simulation cannot go on; the message is one line for the user."""


@dataclass(frozen=True)
class Options:
    url: str | None = None  # None: start an embedded service
    admin_token: str | None = None
    days: int = 30
    start: date | None = None  # None: first day of the current month in Asia/Shanghai
    seed: int = 1
    creators: int = 12
    orders_per_day: float = 40.0
    run_id: str | None = None  # None: derived from the seed
    close_periods: bool = True
    concurrency: int = 4
    quiet: bool = False

    @property
    def effective_run_id(self) -> str:
        return self.run_id or f"s{self.seed}"

    @property
    def effective_start(self) -> date:
        if self.start is not None:
            return self.start
        today = datetime.now(LOCAL_TZ).date()
        return today.replace(day=1)


@dataclass(frozen=True)
class Row:
    """One figure of the summary: the simulator's count and what the API reports."""

    label: str
    simulated: int
    reported: int | None  # None: the simulator's figure only
    money: bool = False
    section: str = ""

    @property
    def compared(self) -> bool:
        return self.reported is not None

    @property
    def agrees(self) -> bool:
        return self.reported is None or self.simulated == self.reported


@dataclass
class SimulationResult:
    base_url: str
    run_id: str
    start: date
    days: int
    rows: list[Row]
    mismatches: list[str]  # per period and line, per link: what disagrees
    findings: list[str]  # what the service did that its docs say it should not
    errors: list[str]  # refused requests (first few)
    periods: list[str]
    seconds: float
    requests: int
    final_clock: datetime

    @property
    def agrees(self) -> bool:
        return all(r.agrees for r in self.rows) and not self.mismatches and not self.errors

    def figures(self) -> dict[str, tuple[int, int | None]]:
        return {r.label: (r.simulated, r.reported) for r in self.rows}

    def value(self, label: str) -> int:
        return next(r.simulated for r in self.rows if r.label == label)


# -- small helpers ------------------------------------------------------------------


def poisson(rng: random.Random, lam: float) -> int:
    if lam <= 0:
        return 0
    if lam < 30:
        limit, k, p = math.exp(-lam), 0, 1.0
        while True:
            p *= rng.random()
            if p <= limit:
                return k
            k += 1
    return max(0, round(rng.gauss(lam, math.sqrt(lam))))


def day_factors(day: date) -> tuple[float, float]:
    """How much busier a day is than an ordinary weekday: (traffic, conversion)."""
    traffic = WEEKEND_FACTOR if day.weekday() >= 5 else 1.0
    if (day.month, day.day) in FESTIVALS:
        return traffic * FESTIVAL_TRAFFIC, FESTIVAL_CONVERSION
    return traffic, 1.0


def weighted(rng: random.Random, weights: dict[str, float]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def ms_of(moment: datetime) -> int:
    return round(moment.timestamp() * 1000)


def at(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=LOCAL_TZ)


def fen(amount: int) -> str:
    sign = "-" if amount < 0 else ""
    return f"{sign}¥{abs(amount) / 100:,.2f}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _NoCookies(http.cookiejar.DefaultCookiePolicy):
    """Devices keep their own cookie: a session shared by many devices keeps none."""

    def set_ok(self, cookie: Any, request: Any) -> bool:
        return False

    def return_ok(self, cookie: Any, request: Any) -> bool:
        return False


class Http:
    """Keep-alive sessions, one per thread, with no cookie jar; counts requests."""

    def __init__(self, base_url: str, admin_token: str) -> None:
        self.base = base_url.rstrip("/")
        self.admin = {"Authorization": f"Bearer {admin_token}"}
        self._local = threading.local()
        self._lock = threading.Lock()
        self.count = 0

    def session(self) -> requests.Session:
        s = getattr(self._local, "session", None)
        if s is None:
            s = requests.Session()
            s.cookies.set_policy(_NoCookies())
            self._local.session = s
        return s

    def request(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        with self._lock:
            self.count += 1
        kwargs.setdefault("timeout", HTTP_TIMEOUT)
        try:
            return self.session().request(method, url, **kwargs)
        except requests.ConnectionError as exc:
            raise SimulationError(f"cannot reach the service at {self.base}: {exc}") from None
        except requests.Timeout:
            raise SimulationError(f"the service at {self.base} did not answer in time") from None

    def api(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        token: str | None = None,
        ok: tuple[int, ...] = (200, 201),
    ) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else self.admin
        answer = self.request(method, self.base + path, json=body, headers=headers)
        if answer.status_code not in ok:
            raise SimulationError(
                f"{method} {path} answered {answer.status_code}: {_error_text(answer)}"
            )
        return answer.status_code, answer.json() if answer.content else None

    def post_signed(self, path: str, body: bytes, headers: dict[str, str]) -> requests.Response:
        return self.request("POST", self.base + path, data=body, headers=headers)


def _error_text(answer: requests.Response) -> str:
    try:
        return str(answer.json()["error"]["message"])
    except (ValueError, KeyError, TypeError):
        return answer.text[:200]


# -- the world ----------------------------------------------------------------------


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


@dataclass(frozen=True)
class Program:
    shares: Shares
    window_days: int
    holding_days: int


LineKey = tuple[str, str, bool]  # (guide account, channel, adjustment)
LINK_FIGURES = ("clicks", "unique_clicks", "bot_clicks", "orders", "gmv", "commission")
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


# -- the simulation -----------------------------------------------------------------


class Simulation:
    def __init__(self, options: Options, base_url: str, admin_token: str) -> None:
        self.o = options
        self.run_id = options.effective_run_id
        if not SLUG.match(self.run_id) or len(self.run_id) > 24:
            raise SimulationError(
                f"--run-id {self.run_id!r} must be a lower-case slug of at most 24 characters"
            )
        if options.days < 1 or options.creators < 1 or options.orders_per_day <= 0:
            raise SimulationError("--days, --creators and --orders-per-day must be positive")
        self.http = Http(base_url, admin_token)
        seed = options.seed
        self.rng_world = random.Random(f"{seed}:world")
        self.rng_posts = random.Random(f"{seed}:posts")
        self.rng_traffic = random.Random(f"{seed}:traffic")
        self.rng_orders = random.Random(f"{seed}:orders")
        self.start_date = options.effective_start
        self.start_ms = ms_of(datetime.combine(self.start_date, datetime.min.time(), LOCAL_TZ))
        self.window_hours = options.days * 24
        self.now_ms = self.start_ms
        self.tz = LOCAL_TZ  # the service's zone, read at set-up
        self.programs: dict[str, Program] = {}
        self.storefronts: dict[str, Storefront] = {}
        self.products: list[Product] = []
        self.creators: list[Creator] = []
        self.agencies: list[str] = []
        self.posts: list[Post] = []
        self.links: dict[str, Link] = {}
        self.devices: dict[str, list[Device]] = defaultdict(list)
        self.orders: list[Order] = []
        self.queue: list[tuple[int, int, Order]] = []  # (due ms, seq, order): next event
        self.seq = 0  # of queue entries
        self.order_seq = 0  # of order ids
        self.closed: set[str] = set()
        self.ad_spend: dict[tuple[str, str], int] = {}
        self.lines: dict[tuple[str, str, str, bool], Line] = {}
        self.periods_seen: set[str] = set()
        self.counts: Counter[str] = Counter()
        self.errors: list[str] = []
        self.findings: Counter[str] = Counter()
        self.pool = ThreadPoolExecutor(max(1, options.concurrency))
        self.lock = threading.Lock()
        self.live_rate = 0.0
        self.last_event_ms = self.start_ms
        # Human clicks on an ordinary day, so that the window averages --orders-per-day
        # orders (weekends and festivals bring more).
        first = self.start_date
        mean_day = (
            sum(
                traffic * conversion
                for traffic, conversion in (
                    day_factors(first + timedelta(days=d)) for d in range(options.days)
                )
            )
            / options.days
        )
        self.clicks_per_day = (
            options.orders_per_day * (1 - ORGANIC_SHARE) / (MIX_CONVERSION * mean_day)
        )

    # -- set-up ------------------------------------------------------------------

    def check_service(self) -> None:
        answer = self.http.request("GET", self.http.base + "/api/v1/clock", headers=self.http.admin)
        if answer.status_code == 404:
            raise SimulationError(
                f"the service at {self.http.base} runs on the real clock: start it with "
                "REDIRECTOR_CLOCK=mock (the simulator moves the clock through the month)"
            )
        if answer.status_code in (401, 403):
            raise SimulationError(
                "the admin token was refused: pass --admin-token or set REDIRECTOR_ADMIN_TOKEN"
            )
        if answer.status_code != 200:
            raise SimulationError(f"GET /api/v1/clock answered {answer.status_code}")

    def set_clock(self, now_ms: int) -> None:
        self.now_ms = now_ms
        self.http.api("PUT", "/api/v1/clock", {"now": at(now_ms).isoformat()})

    def setup(self) -> None:
        self.check_service()
        self.set_clock(self.start_ms)
        _, doc = self.http.api("GET", "/api/v1/programs")
        for p in doc["programs"]:
            self.programs[p["channel"]] = Program(
                Shares(p["network_bps"], p["platform_bps"], p["guide_bps"]),
                p["window_days"],
                p["holding_days"],
            )
        channels = [c for c in CHANNELS if c in self.programs]
        if not channels:
            raise SimulationError(f"the service has no program for any of {', '.join(CHANNELS)}")
        start_period = period_of(at(self.start_ms), LOCAL_TZ)
        _, statement = self.http.api("GET", f"/api/v1/settlements/{start_period}")
        self.tz = ZoneInfo(statement["timezone"])
        run = self.run_id

        for spec in STOREFRONT_SPECS:
            sid = f"{run}-{spec.key}"
            body: dict[str, Any] = {"name": spec.name, "hosts": list(spec.hosts)}
            if spec.click_param:
                body["click_param"] = spec.click_param
            status, answer = self.http.api("PUT", f"/api/v1/storefronts/{sid}", body)
            if status != 201:
                raise SimulationError(
                    f"storefront {sid} already exists on this service: run id {run!r} was used "
                    "before; pass another --run-id (or --seed)"
                )
            storefront = Storefront(sid, spec)
            storefront.client = StorefrontClient(
                sid, answer["signing_secret"], self.http.post_signed, clock=lambda: at(self.now_ms)
            )
            self.storefronts[spec.key] = storefront
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
                self.http.api("PUT", f"/api/v1/products/{pid}", product_body)
                self.products.append(Product(pid, storefront, p))

        rng = self.rng_world
        n_agencies = min(len(AGENCY_NAMES), max(1, round(self.o.creators / 4)))
        for key, name in AGENCY_NAMES[:n_agencies]:
            aid = f"{run}-{key}"
            self.http.api("PUT", f"/api/v1/agencies/{aid}", {"name": name})
            self.agencies.append(aid)
        n = self.o.creators
        reach = [rng.lognormvariate(0, REACH_SIGMA) for _ in range(n)]
        mean_reach = sum(reach) / n
        # About a third are independent; with two or more creators, one of each at least.
        independent = [rng.random() < 0.33 for _ in range(n)]
        if n >= 2 and not any(independent):
            independent[-1] = True
        if n >= 2 and all(independent):
            independent[0] = False
        for i in range(n):
            handle = CREATOR_HANDLES[i % len(CREATOR_HANDLES)]
            suffix = f"-{i // len(CREATOR_HANDLES)}" if i >= len(CREATOR_HANDLES) else ""
            agency = None if independent[i] else self.agencies[i % len(self.agencies)]
            creator = Creator(
                f"{run}-{handle}{suffix}",
                handle.replace("-", " ").title(),
                channels[i % len(channels)],
                reach[i] / mean_reach,
                agency,
            )
            body = {"name": creator.name}
            if agency:
                body["agency_id"] = agency
            _, answer = self.http.api("PUT", f"/api/v1/creators/{creator.id}", body)
            creator.api_key = answer["api_key"]
            self.creators.append(creator)
        # Live hours a day, weighted by reach: turns LIVE_SHARE of the clicks into
        # a rate per live hour of a creator of reach 1.
        live_weight = sum(
            POSTS_PER_DAY[c.channel]
            * PLACEMENTS_BY_CHANNEL[c.channel].get("live", 0)
            * LIVE_HOURS_MEAN
            * c.reach
            * MEAN_VIRALITY
            for c in self.creators
        )
        self.live_rate = self.clicks_per_day * LIVE_SHARE / max(live_weight, 0.1)

    # -- the clock loop ----------------------------------------------------------

    def period(self, ms: int, holding_days: int = 0) -> Period:
        return period_of(at(ms), self.tz, holding_days)

    def first_open(self, period: Period) -> Period:
        while str(period) in self.closed:
            period = period.next()
        return period

    def run(self, progress: Callable[[str, int, int], None]) -> None:
        """Hour by hour: the window's traffic, then the lifecycle of its orders.
        ``progress(phase, done, total)`` is told the hours done."""
        hour = 0
        while True:
            tick = self.start_ms + hour * HOUR_MS
            in_window = hour < self.window_hours
            if not in_window and not self.queue:
                break
            month_turns = hour == 0 or str(self.period(tick)) != str(self.period(tick - HOUR_MS))
            due = bool(self.queue) and self.queue[0][0] <= tick
            if in_window or due or month_turns:
                self.set_clock(tick)
                self.deliver_due(tick)
                if month_turns:
                    self.turn_month(tick)
                if in_window:
                    self.publish(hour, tick)
                    self.traffic(hour, tick)
            hour += 1
            if in_window:
                progress("traffic", hour, self.window_hours)
            else:
                last = -(-(self.last_event_ms - self.start_ms) // HOUR_MS) + 1
                progress("lifecycle", hour - self.window_hours, last - self.window_hours)
        # Past the last event, and far enough that every settled period can be read.
        final = self.start_ms + hour * HOUR_MS
        latest = max((Period.parse(p) for p in self.periods_seen), default=self.period(final))
        if latest > self.period(final).next():
            final = ms_of(latest.previous().start(self.tz))
        self.set_clock(final)

    def turn_month(self, tick: int) -> None:
        """A new month: close the ones that ended, record this one's ad spend."""
        period = self.period(tick)
        if self.o.close_periods:
            for name in sorted(self.periods_seen - self.closed):
                if Period.parse(name) < period:
                    self.close(name)
        self.periods_seen.add(str(period))
        _, doc = self.http.api("GET", f"/api/v1/settlements/{period}")
        if doc["status"] == "closed":  # closed before this run, by someone else
            self.closed.add(str(period))
            return
        # Spend near the platform share the agency is likely to earn: some
        # accounts get all of it back, others part of it.
        days_here = sum(
            1
            for d in range(self.o.days)
            if str(self.period(self.start_ms + d * DAY_MS + 12 * HOUR_MS)) == str(period)
        )
        days_here = max(days_here, 5)
        products = self.products
        mean_commission = sum(p.spec.price * p.spec.rate_bps // 10_000 for p in products) / len(
            products
        )
        total_reach = sum(c.reach for c in self.creators)
        for agency in self.agencies:
            share = sum(c.reach for c in self.creators if c.agency == agency) / total_reach
            platform = self.o.orders_per_day * days_here * mean_commission * 0.3 * share
            amount = int(platform * self.rng_world.uniform(0.3, 1.4)) // 100 * 100
            self.http.api("PUT", f"/api/v1/ad-spend/{period}/{agency}", {"amount": amount})
            self.ad_spend[(str(period), f"agency:{agency}")] = amount

    def close(self, name: str) -> None:
        status, doc = self.http.api("POST", f"/api/v1/settlements/{name}/close", ok=(200, 409))
        if status == 409 and "already closed" not in str(doc):
            raise SimulationError(f"closing {name} was refused: {doc}")
        self.closed.add(name)

    # -- posts and links ---------------------------------------------------------

    def publish(self, hour: int, tick: int) -> None:
        """Posts of this hour: each creator posts a few times a week; everyone's
        first post comes on the first morning."""
        rng = self.rng_posts
        local_hour = at(tick).hour
        made: list[Post] = []
        for creator in self.creators:
            if hour < 24:
                first = hour == (sum(map(ord, creator.id)) % 10)
                if first and not any(p.creator is creator for p in self.posts):
                    made.append(self.new_post(creator, tick))
                    continue
            chance = POSTS_PER_DAY[creator.channel] * DIURNAL_SHARE[local_hour] / POSTING_SHARE
            if local_hour in POSTING_HOURS and rng.random() < chance:
                made.append(self.new_post(creator, tick))
        if not made:
            return
        jobs = [(post, product) for post in made for product in post.products]
        answers = list(self.pool.map(lambda job: self.make_link(*job), jobs))
        for (post, product), (link_id, token) in zip(jobs, answers, strict=True):
            link = Link(
                link_id,
                f"{self.http.base}/r/{token}",
                post.creator,
                product,
                post.channel,
                post.placement,
                tick,
            )
            self.links[link_id] = link
            post.links.append(link)
        self.posts.extend(made)
        # The channel's crawler and a preview or two fetch a new post's links.
        bots = []
        for post in made:
            for link in post.links:
                for _ in range(rng.choice((0, 1, 1, 2))):
                    bots.append(Click(link, None, tick, bot_request(rng)))
        self.send_clicks(bots)

    def new_post(self, creator: Creator, tick: int) -> Post:
        rng = self.rng_posts
        channels = [c for c in CHANNELS if c in self.programs]
        channel = creator.channel if rng.random() < 0.8 else rng.choice(channels)
        placement = weighted(rng, PLACEMENTS_BY_CHANNEL[channel])
        count = rng.choice((3, 4, 5)) if placement == "live" else rng.choice((1, 1, 1, 2, 3))
        by_store = [self.storefronts[weighted(rng, STOREFRONT_WEIGHTS)] for _ in range(count)]
        products = []
        for storefront in by_store:
            choices = [p for p in self.products if p.storefront is storefront]
            product = rng.choice(choices)
            if product not in products:
                products.append(product)
        post = Post(
            creator, channel, placement, products, tick, rng.lognormvariate(0, VIRALITY_SIGMA)
        )
        if placement == "live":
            post.live_until_ms = tick + rng.choice(LIVE_HOURS) * HOUR_MS
        return post

    def make_link(self, post: Post, product: Product) -> tuple[str, str]:
        body = {
            "product_id": product.id,
            "channel": post.channel,
            "post_id": f"{post.channel}-{post.published_ms // 1000}-{post.creator.id[-12:]}",
            "placement": post.placement,
        }
        _, answer = self.http.api("POST", "/api/v1/links", body, token=post.creator.api_key)
        return answer["id"], answer["token"]

    # -- traffic -----------------------------------------------------------------

    def traffic(self, hour: int, tick: int) -> None:
        rng = self.rng_traffic
        local = at(tick)
        factor, conversion_factor = day_factors(local.date())
        per_hour = self.clicks_per_day * DIURNAL_SHARE[local.hour] * factor

        active: list[tuple[Link, float]] = []
        live_links: list[tuple[Link, float]] = []
        for post in self.posts:
            if post.live_until_ms > tick >= post.published_ms:
                w = post.creator.reach * post.virality / len(post.links)
                live_links.extend((link, w) for link in post.links)
            weight = post.weight(tick)
            if weight > 0.001:
                active.extend((link, weight / len(post.links)) for link in post.links)

        humans: list[tuple[Link, bool]] = []  # (link, live burst)
        if active:
            n = poisson(rng, per_hour * (1 - LIVE_SHARE))
            picks = rng.choices([a[0] for a in active], weights=[a[1] for a in active], k=n)
            humans.extend((link, False) for link in picks)
        if live_links:
            # A stream draws its audience at once, whatever the hour.
            rate = self.live_rate * factor
            n = poisson(rng, rate * sum(w for _, w in live_links))
            picks = rng.choices([a[0] for a in live_links], weights=[a[1] for a in live_links], k=n)
            humans.extend((link, True) for link in picks)

        clicks: list[Click] = []
        conversions: list[tuple[Click, bool]] = []
        for link, live in humans:
            device = self.pick_device(rng, link.channel, hour)
            click = Click(link, device, tick, None)
            clicks.append(click)
            p = BASE_CONVERSION * PLACEMENT_CONVERSION[link.placement] * conversion_factor
            if live:
                p = BASE_CONVERSION * LIVE_CONVERSION * conversion_factor
            if rng.random() < p:
                conversions.append((click, live))
        n_bots = poisson(rng, len(humans) * BOT_SHARE / (1 - BOT_SHARE))
        if active and n_bots:
            picks = rng.choices([a[0] for a in active], weights=[a[1] for a in active], k=n_bots)
            clicks.extend(Click(link, None, tick, bot_request(rng)) for link in picks)
        self.send_clicks(clicks)
        for click, live in conversions:
            if click.id is not None:
                self.plan_order(click, live)
        for _ in range(poisson(self.rng_orders, self.o.orders_per_day * ORGANIC_SHARE / 24)):
            self.plan_organic(tick)

    def pick_device(self, rng: random.Random, channel: str, hour: int) -> Device:
        context = weighted(rng, CONTEXT_MIX[channel])
        pool = self.devices[context]
        if pool and rng.random() < RETURNING_SHARE:
            for _ in range(3):
                device = rng.choice(pool)
                if device.last_hour != hour:
                    device.last_hour = hour
                    return device
        device = Device(context, human_user_agent(rng, context), last_hour=hour)
        pool.append(device)
        return device

    def send_clicks(self, clicks: list[Click]) -> None:
        if not clicks:
            return
        answers = list(self.pool.map(self.send_click, clicks))
        for click, answer in zip(clicks, answers, strict=True):
            self.record_click(click, answer)

    def send_click(self, click: Click) -> requests.Response:
        headers = {"Accept-Language": "zh-CN,zh;q=0.9"}
        method = "GET"
        if click.bot is not None:
            method = click.bot.method
            headers["User-Agent"] = click.bot.user_agent
            headers.update(click.bot.headers)
        else:
            assert click.device is not None
            headers["User-Agent"] = click.device.user_agent
            app = click.device.context.partition("/")[0]
            if app in REFERRERS:
                headers["Referer"] = REFERRERS[app]
            if click.device.cookie:
                headers["Cookie"] = f"rd_did={click.device.cookie}"
        return self.http.request(method, click.link.url, headers=headers, allow_redirects=False)

    def record_click(self, click: Click, answer: requests.Response) -> None:
        link = click.link
        if answer.status_code != 302:
            self.error(f"click on {link.id} answered {answer.status_code}")
            return
        location = answer.headers.get("Location", "")
        param = link.product.storefront.param
        query = parse_qs(urlsplit(location).query)
        if not query.get(param):
            self.error(f"redirect of {link.id} carries no {param}: {location}")
            return
        click.id = query[param][-1]
        spec = link.product.spec
        if click.bot is not None:
            link.bot_clicks += 1
            self.counts["bot_clicks"] += 1
            self.counts[f"bots_{click.bot.kind}"] += 1
            expected = spec.path  # rules.md: bots go to the web URL
            if not location.startswith(expected) and spec.app and location.startswith(spec.app):
                self.findings[
                    "bots whose user agent names a phone (crawlers, HEAD, prefetch) were sent "
                    "to the app deep link; docs/rules.md says bots go to the web URL"
                ] += 1
            elif not location.startswith(expected):
                self.findings[f"bot redirect to an unexpected place: {location}"] += 1
            return
        device = click.device
        assert device is not None
        link.clicks += 1
        self.counts["clicks"] += 1
        mobile = not device.context.endswith("/desktop")
        expected = spec.app if mobile and spec.app else spec.path
        if not location.startswith(expected):
            self.findings[f"human redirect to an unexpected place ({device.context})"] += 1
        cookie = re.search(r"rd_did=([^;]+)", answer.headers.get("Set-Cookie", ""))
        if cookie:
            if device.cookie is not None:
                self.findings["a device's own rd_did cookie was replaced"] += 1
            device.cookie = cookie.group(1)
        elif device.cookie is None:
            self.error(f"first click of a device on {link.id} set no rd_did cookie")
        last = device.unique_at.get(link.id)
        if last is None or click.at_ms - last >= DAY_MS:
            device.unique_at[link.id] = click.at_ms
            link.unique_clicks += 1
        device.clicks.append(click)

    # -- orders ------------------------------------------------------------------

    def new_order_id(self, storefront: Storefront) -> str:
        self.order_seq += 1
        prefix = {"taobao": "TB", "youzan": "E", "moku": "MK"}[storefront.spec.key]
        return f"{self.run_id}-{prefix}{self.order_seq:07d}"

    def plan_order(self, click: Click, live: bool) -> None:
        rng = self.rng_orders
        if live:
            delay = rng.uniform(60, 1200)
        else:
            delay = min(max(rng.lognormvariate(math.log(2700), 1.3), 300), 2 * 86400)
        paid_ms = click.at_ms + int(delay) * 1000
        product = click.link.product
        storefront = product.storefront
        draw = rng.random()
        send_click_id, send_device_id = (True, False) if draw < 0.7 else (True, True)
        if draw >= 0.8:
            send_click_id, send_device_id = False, True
        if rng.random() < CROSS_STORE_SHARE:  # bought something else, elsewhere
            others = [p for p in self.products if p.storefront is not storefront]
            product = rng.choice(others)
            storefront = product.storefront
            send_click_id, send_device_id = False, True
        self.add_order(
            rng, storefront, product, paid_ms, click, click.device, send_click_id, send_device_id
        )

    def plan_organic(self, tick: int) -> None:
        rng = self.rng_orders
        product = rng.choice(self.products)
        paid_ms = tick + rng.randrange(60, 3600) * 1000
        self.add_order(rng, product.storefront, product, paid_ms, None, None, False, False)

    def add_order(
        self,
        rng: random.Random,
        storefront: Storefront,
        product: Product,
        paid_ms: int,
        click: Click | None,
        device: Device | None,
        send_click_id: bool,
        send_device_id: bool,
    ) -> None:
        if paid_ms % HOUR_MS == 0:  # never on a tick: a tick's clicks come after its events
            paid_ms += 1000
        quantity = rng.choices((1, 2, 3), weights=(80, 15, 5))[0]
        amount = product.spec.price * quantity
        if rng.random() < 0.1:
            amount = max(100, amount - rng.choice((500, 1000, 2000)))
        events = [Event("paid", paid_ms)]
        if rng.random() < CANCEL_SHARE:
            events.append(Event("cancelled", paid_ms + int(rng.uniform(0.5, 48) * HOUR_MS)))
        else:
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
        order = Order(
            self.new_order_id(storefront),
            storefront,
            product,
            amount,
            click,
            device,
            send_click_id,
            send_device_id,
            events,
        )
        self.orders.append(order)
        self.last_event_ms = max(self.last_event_ms, events[-1].at_ms)
        self.push(order)

    def push(self, order: Order) -> None:
        if order.delivered < len(order.events) and not order.failed:
            self.seq += 1
            heapq.heappush(self.queue, (order.events[order.delivered].at_ms, self.seq, order))

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
            self.error(
                f"{event.status} of order {order.id} answered {answer.status_code}: "
                f"{_error_text(answer)}"
            )
            return
        doc = answer.json()
        if self.rng_for_replay(order.id, index) < REPLAY_SHARE:
            again = storefront.client.send(body, msg_id=msg_id)
            self.count("replays")
            if (
                again.status_code == 200
                and again.json() == doc
                and again.headers.get("Webhook-Replayed") == "true"
            ):
                self.count("replays_identical")
        self.apply(order, event, doc)

    @staticmethod
    def rng_for_replay(order_id: str, index: int) -> float:
        # A draw of its own, so that replays do not depend on the delivery order.
        return random.Random(f"replay:{order_id}:{index}").random()

    def count(self, name: str, n: int = 1) -> None:
        with self.lock:
            self.counts[name] += n

    def error(self, text: str) -> None:
        with self.lock:
            self.counts["errors"] += 1
            if len(self.errors) < 20:
                self.errors.append(text)

    def predict(self, order: Order, paid_ms: int) -> set[str]:
        """Click ids the order may be attributed to (empty: none). Ties in a
        device's last click cannot happen: a device clicks once an hour at most."""
        click = order.click
        if (
            order.send_click_id
            and click is not None
            and click.id is not None
            and click.link.product.storefront is order.storefront
            and self.eligible(click, paid_ms)
        ):
            return {click.id}
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
            return {c.id for c in best if c.id}
        return set()

    def eligible(self, click: Click, order_ms: int) -> bool:
        window = self.programs[click.link.channel].window_days * DAY_MS
        return click.at_ms <= order_ms and order_ms - click.at_ms <= window

    def apply(self, order: Order, event: Event, doc: dict[str, Any]) -> None:
        """Move the simulator's books by an accepted event; check the answer."""
        with self.lock:
            self._apply(order, event, doc)

    def _apply(self, order: Order, event: Event, doc: dict[str, Any]) -> None:
        counts = self.counts
        counts["events"] += 1
        surprise = False  # the answer is not what the rules make of what was sent
        if event.status == "paid":
            counts["orders"] += 1
            predicted = self.predict(order, event.at_ms)
            attributed = doc.get("attributed")
            counts["predicted_attributed"] += bool(predicted)
            surprise = bool(predicted) != bool(attributed)
            if attributed:
                counts["attributed"] += 1
                link = self.links.get(attributed["link_id"])
                surprise = link is None or attributed["click_id"] not in predicted
                if link is not None:
                    order.link = link
                    order.rate_bps = link.product.spec.rate_bps
                    order.commission = commission_of(order.amount, 0, order.rate_bps)
                    counts["paid_commission"] += order.commission
                    link.orders += 1
                    link.gmv += order.amount
                    link.commission += order.commission
            counts["answered_commission"] += int(doc.get("commission", 0))
        elif event.status == "confirmed" and order.link is not None:
            link = order.link
            program = self.programs[link.channel]
            period = self.first_open(self.period(event.at_ms, program.holding_days))
            order.settled_period = str(period)
            self.periods_seen.add(str(period))
            self.line(str(period), link, False).add(
                link.creator.id, 1, order.amount - order.refunded, order.commission
            )
        elif event.status == "cancelled" and order.link is not None:
            link = order.link
            link.orders -= 1
            link.gmv -= order.amount - order.refunded
            link.commission -= order.commission
            order.commission = 0
        elif event.status == "refunded":
            assert event.refunded is not None
            d_gmv = -(event.refunded - order.refunded)
            order.refunded = event.refunded
            if order.link is not None:
                link = order.link
                commission = commission_of(order.amount, order.refunded, order.rate_bps)
                d_commission = commission - order.commission
                order.commission = commission
                link.gmv += d_gmv
                link.commission += d_commission
                assert order.settled_period is not None
                if order.settled_period not in self.closed:
                    self.line(order.settled_period, link, False).add(
                        link.creator.id, 0, d_gmv, d_commission
                    )
                else:
                    target = str(self.first_open(self.period(event.at_ms)))
                    self.periods_seen.add(target)
                    line = self.line(target, link, True)
                    line.add(link.creator.id, 0, d_gmv, d_commission)
                    line.order_refs.add(f"{order.storefront.id}:{order.id}")
                    counts["adjustments"] += 1
        order.status = event.status
        expected = {
            "order_id": order.id,
            "status": event.status,
            "commission": order.commission,
        }
        if surprise or any(doc.get(k) != v for k, v in expected.items()):
            counts["surprises"] += 1

    def line(self, period: str, link: Link, adjustment: bool) -> Line:
        key = (period, link.creator.account, link.channel, adjustment)
        return self.lines.setdefault(key, Line())

    # -- the comparison ----------------------------------------------------------

    def expected_statement(self, period: str) -> dict[LineKey, dict[str, Any]]:
        """This run's lines of a period, split and rebated as docs/domain.md says."""
        out: dict[LineKey, dict[str, Any]] = {}
        by_account: dict[str, list[LineKey]] = defaultdict(list)
        for (p, account, channel, adjustment), line in sorted(self.lines.items()):
            if p != period:
                continue
            split = split_commission(line.commission, self.programs[channel].shares)
            key = (account, channel, adjustment)
            out[key] = {
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

    def read_links(self) -> dict[str, dict[str, int]]:
        """Every link's stats, read per creator."""
        stats: dict[str, dict[str, int]] = {}
        for creator in self.creators:
            offset: int | None = 0
            while offset is not None:
                _, doc = self.http.api(
                    "GET", f"/api/v1/links?creator_id={creator.id}&limit=1000&offset={offset}"
                )
                stats.update((item["id"], item["stats"]) for item in doc["links"])
                offset = doc["next_offset"]
        return stats

    def read_statement(self, period: str) -> tuple[dict[LineKey, dict[str, Any]], list[str]]:
        """This run's lines of a period's statement, and what is wrong with its totals."""
        _, doc = self.http.api("GET", f"/api/v1/settlements/{period}")
        mine = {c.account for c in self.creators}
        lines: dict[LineKey, dict[str, Any]] = {}
        foreign = False
        for line in doc["lines"]:
            account = f"{line['account_type']}:{line['account_id']}"
            if account not in mine:
                foreign = True
                continue
            lines[(account, line["channel"], bool(line.get("adjustment")))] = {
                **{name: line[name] for name in STATEMENT_NAMES},
                "creators": {
                    c["creator_id"]: (c["orders"], c["gmv"], c["commission"])
                    for c in line["creators"]
                },
                "order_ids": sorted(line.get("order_ids") or []),
            }
        problems = []
        if not foreign:  # only this run on the service: the totals are the lines' sum
            for name, total in _totals(lines).items():
                if doc["totals"][name] != total:
                    problems.append(
                        f"{period} totals {name}: {doc['totals'][name]}, lines sum to {total}"
                    )
        return lines, problems

    def compare(self, started: float) -> SimulationResult:
        mismatches: list[str] = []

        reported_links = self.read_links()
        sim_links = dict.fromkeys(LINK_FIGURES, 0)
        api_links = dict.fromkeys(LINK_FIGURES, 0)
        for link in self.links.values():
            stats = reported_links.get(link.id, {})
            for name in LINK_FIGURES:
                want, got = getattr(link, name), stats.get(name, 0)
                sim_links[name] += want
                api_links[name] += got
                if want != got:
                    mismatches.append(f"link {link.id} {name}: simulator {want}, API {got}")

        # Every month the clock went through, and any period an order settled in.
        period = self.period(self.start_ms)
        last = max([self.period(self.now_ms), *(Period.parse(p) for p in self.periods_seen)])
        periods = []
        while period <= last:
            periods.append(str(period))
            period = period.next()
        sim_totals = dict.fromkeys(STATEMENT_NAMES, 0)
        api_totals = dict.fromkeys(STATEMENT_NAMES, 0)
        for name in periods:
            expected = self.expected_statement(name)
            reported, problems = self.read_statement(name)
            mismatches.extend(problems)
            for key in sorted(set(expected) | set(reported)):
                ours, theirs = expected.get(key, EMPTY_LINE), reported.get(key, EMPTY_LINE)
                for field_name in (*STATEMENT_NAMES, "creators", "order_ids"):
                    if ours[field_name] != theirs[field_name]:
                        kind = "adjustment line" if key[2] else "line"
                        mismatches.append(
                            f"{name} {kind} {key[0]} {key[1]} {field_name}: "
                            f"simulator {ours[field_name]}, statement {theirs[field_name]}"
                        )
            for totals, lines in ((sim_totals, expected), (api_totals, reported)):
                for figure, value in _totals(lines).items():
                    totals[figure] += value

        c = self.counts
        sent = [o for o in self.orders if o.status != "none"]
        by_status = Counter(o.status for o in sent)
        rows = [
            Row("clicks (human)", sim_links["clicks"], api_links["clicks"], section="traffic"),
            Row("unique clicks", sim_links["unique_clicks"], api_links["unique_clicks"]),
            Row("bot clicks", sim_links["bot_clicks"], api_links["bot_clicks"]),
            Row("orders paid", len(sent), None, section="orders"),
            Row("attributed", c["predicted_attributed"], c["attributed"]),
            Row("unattributed", len(sent) - c["attributed"], None),
            Row("cancelled", by_status["cancelled"], None),
            Row("refunded", by_status["refunded"], None),
            Row("refunds after closing", c["adjustments"], None),
            Row("still paid (unsettled)", by_status["paid"], None),
            Row("commission at paid", c["paid_commission"], c["answered_commission"], True),
            Row("events answered as expected", c["events"], c["events"] - c["surprises"]),
            Row("replays answered as first", c["replays"], c["replays_identical"]),
            Row(
                "orders (not cancelled)", sim_links["orders"], api_links["orders"], section="links"
            ),
            Row("GMV", sim_links["gmv"], api_links["gmv"], True),
            Row("commission", sim_links["commission"], api_links["commission"], True),
        ]
        for i, (name, label, money) in enumerate(STATEMENT_FIGURES):
            section = "statements" if i == 0 else ""
            rows.append(Row(label, sim_totals[name], api_totals[name], money, section))
        more = c["errors"] - len(self.errors)
        return SimulationResult(
            base_url=self.http.base,
            run_id=self.run_id,
            start=self.start_date,
            days=self.o.days,
            rows=rows,
            mismatches=mismatches,
            findings=[f"{text}: {n}" for text, n in sorted(self.findings.items())],
            errors=[*self.errors, *([f"... and {more} more"] if more > 0 else [])],
            periods=periods,
            seconds=time.monotonic() - started,
            requests=self.http.count,
            final_clock=at(self.now_ms),
        )


def _totals(lines: dict[LineKey, dict[str, Any]]) -> dict[str, int]:
    """A statement's totals from its lines: ad spend counts each account once."""
    totals = {name: sum(line[name] for line in lines.values()) for name in STATEMENT_NAMES}
    totals["ad_spend"] = sum({key[0]: line["ad_spend"] for key, line in lines.items()}.values())
    return totals


# -- running it ---------------------------------------------------------------------

# The simulator's books do not model the review of click fraud (``fraud``):
# every simulated device clicks from this machine's one address, and an hour's
# clicks share the mock clock's instant, so a busy link would pass for a flood
# and its orders would be held. The service the simulator starts runs with
# thresholds no simulated traffic reaches; give a service of your own such a
# file too (``REDIRECTOR_FRAUD``).
FRAUD_OFF = """\
[flood]
window_seconds = 1
max_clicks_per_ip = 1000000000
max_clicks_per_device = 1000000000

[instant_conversion]
min_seconds = 0
"""


def write_fraud_off(directory: str) -> str:
    """A fraud thresholds file that flags and holds nothing; answers its path."""
    path = os.path.join(directory, "fraud-off.toml")
    with open(path, "w", encoding="utf-8") as out:
        out.write(FRAUD_OFF)
    return path


@contextmanager
def embedded_service(startup_timeout: float = 60.0) -> Iterator[tuple[str, str, subprocess.Popen]]:
    """``redirector serve`` in a child process on a free loopback port: embedded
    store, mock clock, a fresh admin token. Yields (base URL, admin token, process)."""
    token = secrets.token_urlsafe(24)
    port = free_port()
    env = {**os.environ, "REDIRECTOR_CLOCK": "mock", "REDIRECTOR_ADMIN_TOKEN": token}
    for name in ("REDIS_URL", "REDIS_CLUSTER_URL", "REDIRECTOR_PUBLIC_URL"):
        env.pop(name, None)
    settings_dir = tempfile.TemporaryDirectory()
    env["REDIRECTOR_FRAUD"] = write_fraud_off(settings_dir.name)
    log = tempfile.TemporaryFile()  # noqa: SIM115 - the child writes to it until the end
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "redirector.cli",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # Ctrl-C reaches us only: we stop it once the run is over
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + startup_timeout
        while True:
            if proc.poll() is not None:
                log.seek(0)
                tail = log.read().decode(errors="replace").strip().splitlines()[-3:]
                raise SimulationError("redirector serve stopped at start: " + " | ".join(tail))
            try:
                if requests.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise SimulationError(f"redirector serve did not answer on {base} in time")
            time.sleep(0.1)
        yield base, token, proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        log.close()
        settings_dir.cleanup()


def simulate(
    options: Options, base_url: str, admin_token: str, console: Console | None = None
) -> SimulationResult:
    """Run the simulation against a service and compare; nothing is printed
    but the progress bar (unless ``options.quiet``)."""
    started = time.monotonic()
    sim = Simulation(options, base_url, admin_token)
    show = not options.quiet
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("hours · {task.fields[clicks]} clicks · {task.fields[orders]} orders"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console or Console(stderr=True),
        disable=not show,
        transient=False,
    )
    tasks: dict[str, Any] = {}

    def advance(phase: str, done: int, total: int) -> None:
        if phase not in tasks:
            tasks[phase] = progress.add_task(phase, total=total, clicks=0, orders=0)
        label = f"day {min(done // 24 + 1, options.days)}" if phase == "traffic" else phase
        progress.update(
            tasks[phase],
            description=f"{label:>9}",
            completed=done,
            total=max(total, done),
            clicks=sim.counts["clicks"] + sim.counts["bot_clicks"],
            orders=sim.counts["orders"],
        )

    try:
        with progress:
            sim.setup()
            sim.run(advance)
            return sim.compare(started)
    finally:
        sim.pool.shutdown(wait=True)


def render_summary(result: SimulationResult, console: Console) -> None:
    table = Table(
        title=(
            f"redirector simulate · run {result.run_id} · {result.days} days from "
            f"{result.start.isoformat()} · periods {', '.join(result.periods)}"
        ),
        title_justify="left",
    )
    table.add_column("")
    table.add_column("figure")
    table.add_column("simulator", justify="right")
    table.add_column("API", justify="right")
    table.add_column("", justify="center")
    for row in result.rows:
        show = fen if row.money else (lambda n: f"{n:,}")
        table.add_row(
            row.section,
            row.label,
            show(row.simulated),
            show(row.reported) if row.reported is not None else "",
            ("[green]✓[/]" if row.agrees else "[red]✗[/]") if row.compared else "",
        )
    console.print(table)
    for text in result.mismatches[:30]:
        console.print(f"[red]mismatch[/] {text}")
    if len(result.mismatches) > 30:
        console.print(f"[red]... and {len(result.mismatches) - 30} more mismatches[/]")
    for text in result.errors:
        console.print(f"[red]refused[/] {text}")
    for text in result.findings:
        console.print(f"[yellow]finding[/] {text}")
    clicks = result.value("clicks (human)") + result.value("bot clicks")
    verdict = (
        "[green]the simulator's books equal the link stats and the statements[/]"
        if result.agrees
        else "[red]the simulator's books and the API disagree[/]"
    )
    console.print(
        f"{verdict}: {clicks:,} clicks and {result.value('orders paid'):,} orders in "
        f"{result.seconds:.1f} s ({result.requests:,} requests); clock now "
        f"{result.final_clock.isoformat()}",
        soft_wrap=True,
    )


def run(
    options: Options, *, keep_serving: bool = False, console: Console | None = None
) -> SimulationResult:
    """The whole command: start a service if no URL was given, simulate, print
    the summary, and (``keep_serving``) leave the service up until Ctrl-C."""
    out = console or Console()
    if options.url:
        token = options.admin_token or os.environ.get("REDIRECTOR_ADMIN_TOKEN", "")
        if not token:
            raise SimulationError(
                "an admin token is needed: pass --admin-token or set REDIRECTOR_ADMIN_TOKEN"
            )
        result = simulate(options, options.url, token)
        render_summary(result, out)
        return result
    with interruptible(), embedded_service() as (base, token, proc):
        result = simulate(options, base, token)
        render_summary(result, out)
        if keep_serving:
            out.print(f"serving at {base} (admin token: {token}); Ctrl-C to stop", soft_wrap=True)
            with suppress(KeyboardInterrupt):
                proc.wait()
        return result


@contextmanager
def interruptible() -> Iterator[None]:
    """Ctrl-C and SIGTERM raise KeyboardInterrupt, so the embedded service is always
    stopped (even where the shell started us ignoring SIGINT)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
