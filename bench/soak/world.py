"""The soak's world: the service it starts, the accounts it sets up on it, and
the links, devices and clicks it plays.

Storefronts, products, agencies, creators (four links each, on rotating
channels) and ad spend are made over the API; a few links are far busier
than others. Human devices keep their ``rd_did`` cookie, as a browser does;
bots (crawlers, link previews, a client with no user agent) send none.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import requests

from tests.servers import free_port, wait_until

__all__ = [
    "ADMIN",
    "BOT_AGENTS",
    "HTTP_TIMEOUT",
    "HUMAN_AGENTS",
    "KEYS",
    "STOREFRONTS",
    "TZ",
    "Api",
    "ClickSeen",
    "Device",
    "Link",
    "Setup",
    "now_ms",
    "period_of_ms",
    "serve",
    "set_up",
]

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


def now_ms() -> int:
    return round(time.time() * 1000)


def period_of_ms(ms: int, holding_days: int = 0) -> str:
    local = datetime.fromtimestamp(ms / 1000, TZ)
    return (local.date() + timedelta(days=holding_days)).strftime("%Y-%m")


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
    # what the soak saw; guarded by the soak's lock
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


# -- the service ------------------------------------------------------------------------


@contextmanager
def serve(env: dict[str, str], workers: int, log_path: Path) -> Iterator[str]:
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


# -- setting it up ----------------------------------------------------------------------


@dataclass
class Setup:
    """What ``set_up`` made on the service."""

    links: list[Link] = field(default_factory=list)
    link_weights: list[float] = field(default_factory=list)
    secrets: dict[str, str] = field(default_factory=dict)  # storefront -> signing secret
    programs: dict[str, dict[str, int]] = field(default_factory=dict)
    ad_spend: dict[tuple[str, str], int] = field(default_factory=dict)  # (period, account)
    periods: set[str] = field(default_factory=set)


def set_up(base: str, rng: random.Random) -> Setup:
    api = Api(base, ADMIN)
    made = Setup()
    for sf, (hosts, param) in STOREFRONTS.items():
        body: dict[str, Any] = {"name": sf.title(), "hosts": hosts}
        if param:
            body["click_param"] = param
        # The app schemes its products' deep links use, declared as a storefront must.
        body["app_schemes"] = sorted(
            {app.partition(":")[0] for (of, *_, app) in PRODUCTS.values() if of == sf and app}
        )
        made.secrets[sf] = api.call("PUT", f"/api/v1/storefronts/{sf}", body)["signing_secret"]
    for pid, (sf, price, bps, web, app) in PRODUCTS.items():
        body = {"storefront_id": sf, "title": pid.title(), "price": price}
        body.update(commission_rate_bps=bps, web_url=web)
        if app:
            body["app_url"] = app
        api.call("PUT", f"/api/v1/products/{pid}", body)
    for slug in AGENCIES:
        api.call("PUT", f"/api/v1/agencies/{slug}", {"name": slug.title()})
    for program in api.call("GET", "/api/v1/programs")["programs"]:
        made.programs[program["channel"]] = program
    for n, (creator, agency) in enumerate(CREATORS.items()):
        made.links += _creator_links(api, rng, n, creator, agency)
    # Some links are far busier than others.
    made.link_weights = [1 / (rank + 1) ** 0.8 for rank in range(len(made.links))]
    rng.shuffle(made.link_weights)
    period = period_of_ms(now_ms())
    made.periods.add(period)
    for account, amount in (("north", 50_000), ("c5", 1_200)):
        api.call("PUT", f"/api/v1/ad-spend/{period}/{account}", {"amount": amount})
        kind = "agency" if account in AGENCIES else "creator"
        made.ad_spend[(period, f"{kind}:{account}")] = amount
    return made


def _creator_links(
    api: Api, rng: random.Random, n: int, creator: str, agency: str | None
) -> list[Link]:
    """The ``n``-th creator, and its links on rotating channels."""
    body = {"name": creator.upper()}
    if agency:
        body["agency_id"] = agency
    key = api.call("PUT", f"/api/v1/creators/{creator}", body)["api_key"]
    links = []
    for i in range(LINKS_PER_CREATOR):
        product = rng.choice(sorted(PRODUCTS))
        channel = CHANNELS[(n + i) % len(CHANNELS)]
        placement = rng.choice(PLACEMENTS)
        body = {"product_id": product, "channel": channel, "placement": placement}
        link = api.call("POST", "/api/v1/links", {**body, "post_id": f"p{n}{i}"}, key)
        sf, _, bps, web, app = PRODUCTS[product]
        links.append(
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
    return links
