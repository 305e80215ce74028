"""The console in a real browser: Debian's Chromium driven by Playwright against a
real ``redirector serve`` (mock clock), with the network off but for the service.

A month is simulated first over HTTP, as shoppers and a storefront would: clicks
on creators' links, signed order events, a refund, a cancellation, ad spend.
Then the stories: a creator signs in, makes a link, copies it, clicks it and
sees its counts rise; the admin's dashboard and statement show the API's
figures, and the statement is downloaded and closed; the leaderboard orders
creators as the API does. Every page is saved as a screenshot under
``test-artifacts/screenshots/`` (git-ignored).

Skipped when Playwright or /usr/bin/chromium is missing (``.ci/run`` installs
both; ``playwright install`` cannot download browsers on these machines).
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
import requests

from redirector.console.formatting import count, money
from redirector.storefront_client import StorefrontClient

from .conftest import ADMIN_TOKEN, DESKTOP_CHROME, FIGURES, IPHONE_WEIBO, SECRET_KEYS
from .servers import redis_for_server, service

sync_api = pytest.importorskip("playwright.sync_api")
CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    pytest.skip("Chromium is not installed at /usr/bin/chromium", allow_module_level=True)

pytestmark = pytest.mark.server

expect = sync_api.expect
TZ = ZoneInfo("Asia/Shanghai")
SHOTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "screenshots"
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    # No name resolves but the service's address: nothing is looked up off this machine.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]
# Playwright's headless Chromium calls itself HeadlessChrome, a known crawler: the
# shopper's browser must look like a person's for its clicks to count as human.
BROWSER_UA = DESKTOP_CHROME
FEB, MAR = "2026-02", "2026-03"


def feb(day: int, hour: int = 10) -> datetime:
    return datetime(2026, 2, day, hour, tzinfo=TZ)


# -- the service and the month ---------------------------------------------------------------


@dataclass
class Market:
    """The service seen from outside: admin calls, the mock clock, shoppers, a storefront."""

    base: str
    now: datetime = field(default_factory=lambda: feb(1, 9))
    keys: dict[str, str] = field(default_factory=dict)
    links: dict[str, dict[str, Any]] = field(default_factory=dict)
    amounts: dict[str, int] = field(default_factory=dict)
    shop: StorefrontClient | None = None

    def api(
        self, method: str, path: str, body: Any = None, token: str = ADMIN_TOKEN
    ) -> dict[str, Any]:
        response = requests.request(
            method,
            self.base + path,
            json=body,
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
        assert response.status_code in (200, 201), (path, response.status_code, response.text)
        return response.json()

    def at(self, moment: datetime) -> None:
        self.now = moment
        self.api("PUT", "/api/v1/clock", {"now": moment.isoformat()})

    def click(
        self, name: str, user_agent: str = BROWSER_UA, device: str | None = None
    ) -> tuple[str, str]:
        """A shopper clicks link ``name``; answers (click id, device cookie)."""
        cookies = {"rd_did": device} if device else {}
        response = requests.get(
            self.links[name]["url"],
            headers={"User-Agent": user_agent},
            cookies=cookies,
            allow_redirects=False,
            timeout=10,
        )
        assert response.status_code == 302, response.text
        click_id = parse_qs(urlsplit(response.headers["Location"]).query)["rd_click"][0]
        return click_id, response.cookies.get("rd_did") or device or ""

    def event(self, order_id: str, status: str, when: datetime, **extra: Any) -> dict[str, Any]:
        assert self.shop is not None
        self.at(when)
        body = self.shop.event(order_id, status, self.amounts[order_id], when, **extra)
        response = self.shop.send(body)
        assert response.status_code == 200, response.text
        return response.json()

    def sale(self, order_id: str, link: str, amount: int, when: datetime, **how: Any) -> None:
        """A click on ``link``, the order paid ten minutes later, confirmed two days later."""
        self.at(when)
        click_id, device = self.click(link, how.pop("user_agent", BROWSER_UA))
        self.amounts[order_id] = amount
        by = {"device_id": device} if how.pop("by_device", False) else {"click_id": click_id}
        paid = self.event(order_id, "paid", when + timedelta(minutes=10), **by)
        assert paid["attributed"] is not None, paid
        self.event(order_id, "confirmed", when + timedelta(days=2))


def build_world(m: Market) -> None:
    shop = m.api(
        "PUT",
        "/api/v1/storefronts/taobao",
        {"name": "Taobao", "hosts": ["item.taobao.com"], "app_schemes": ["taobao"]},
    )
    m.shop = StorefrontClient.over_http(
        m.base, "taobao", shop["signing_secret"], clock=lambda: m.now
    )
    for product_id, title, price, rate in [
        ("tea", "西湖龙井 Longjing tea 250g", 12800, 1500),
        ("cup", "青瓷茶杯 Celadon cup", 5900, 2000),
        ("fan", "竹扇 Bamboo fan", 19900, 1000),
    ]:
        m.api(
            "PUT",
            f"/api/v1/products/{product_id}",
            {
                "storefront_id": "taobao",
                "title": title,
                "price": price,
                "commission_rate_bps": rate,
                "web_url": f"https://item.taobao.com/item.htm?id={product_id}",
                "app_url": f"taobao://item.taobao.com/item.htm?id={product_id}",
            },
        )
    m.api("PUT", "/api/v1/agencies/moon", {"name": "Moon MCN 月亮机构"})
    for creator_id, name, agency in [
        ("dan", "Dan 丹丹", "moon"),
        ("erin", "Erin 艾琳", "moon"),
        ("frank", "Frank 弗兰克", None),
        ("hank", "Hank 汉克", None),
        ("gina", "Gina 吉娜", None),
        ("ivy", "Ivy 艾薇", None),
    ]:
        body = {"name": name, **({"agency_id": agency} if agency else {})}
        m.keys[creator_id] = m.api("PUT", f"/api/v1/creators/{creator_id}", body)["api_key"]
    for name, creator, product, channel, placement in [
        ("dan-tea", "dan", "tea", "weibo", "video"),
        ("erin-cup", "erin", "cup", "douyin", "live"),
        ("erin-tea", "erin", "tea", "weibo", "image"),
        ("frank-fan", "frank", "fan", "kuaishou", "video"),
        ("hank-fan", "hank", "fan", "kuaishou", "article"),
    ]:
        m.links[name] = m.api(
            "POST",
            "/api/v1/links",
            {"product_id": product, "channel": channel, "placement": placement},
            token=m.keys[creator],
        )


def simulate_february(m: Market) -> None:
    """February 2026, settled: frank 39800 (2 orders), erin 36400 (5), dan 35600 (3),
    hank 35600 (2): dan and hank tie on GMV and dan has more orders."""
    m.at(feb(1, 9))
    build_world(m)
    for order_id, link, amount, day in [
        ("d1", "dan-tea", 12800, 3),
        ("e1", "erin-cup", 5900, 4),
        ("f1", "frank-fan", 19900, 5),
        ("h1", "hank-fan", 17800, 6),
        ("e2", "erin-cup", 5900, 8),
        ("d2", "dan-tea", 12800, 10),
        ("e3", "erin-cup", 5900, 12),
        ("f2", "frank-fan", 19900, 14),
        ("e4", "erin-cup", 5900, 16),
        ("d3", "dan-tea", 12800, 17),
        ("e5", "erin-tea", 12800, 18),
    ]:
        m.sale(order_id, link, amount, feb(day), user_agent=IPHONE_WEIBO if day % 2 else BROWSER_UA)
    m.sale("h2", "hank-fan", 17800, feb(22), by_device=True)
    m.event("d2", "refunded", feb(20), refunded_amount=2800)
    m.at(feb(20, 11))
    m.amounts["f3"] = 19900
    click_id, _ = m.click("frank-fan")
    m.event("f3", "paid", feb(20, 12), click_id=click_id)
    m.event("f3", "cancelled", feb(21))
    # Traffic that buys nothing: repeat clicks from one device, a crawler, a link preview.
    for day in (9, 15, 23, 26):
        m.at(feb(day, 20))
        _, device = m.click("dan-tea")
        m.click("dan-tea", device=device)
        m.click(
            "erin-cup", "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
        )
        m.click("frank-fan", "curl/8.5.0")
    m.api("PUT", f"/api/v1/ad-spend/{FEB}/moon", {"amount": 3000})
    # One order settles in March, the current period when the stories run.
    m.sale("e6", "erin-cup", 5900, datetime(2026, 3, 1, 10, tzinfo=TZ))
    m.at(datetime(2026, 3, 5, 10, tzinfo=TZ))


@pytest.fixture(scope="module")
def market() -> Iterator[Market]:
    env = {
        "REDIRECTOR_ADMIN_TOKEN": ADMIN_TOKEN,
        "REDIRECTOR_SECRET_KEYS": SECRET_KEYS,
        "REDIRECTOR_CLOCK": "mock",
        "REDIRECTOR_PUBLIC_URL": "",
    }
    if os.environ.get("REDIS_URL") or os.environ.get("REDIS_CLUSTER_URL"):
        with redis_for_server() as store_env, service({**env, **store_env}, workers=2) as base:
            m = Market(base)
            simulate_february(m)
            yield m
    else:
        with service({**env, "REDIS_URL": ""}, workers=1) as base:
            m = Market(base)
            simulate_february(m)
            yield m


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        yield chromium
        chromium.close()


@dataclass
class Visit:
    """A browser context on the service: what it asked for off-site, what went wrong."""

    context: Any
    page: Any
    off_site: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


@pytest.fixture
def visit(browser: Any, market: Market) -> Iterator[Visit]:
    """A fresh browser context (English, a desktop user agent) with the network off:
    any request to another host is refused and recorded. Console errors (a CSP
    violation among them) and page errors are recorded too; both must stay empty."""
    context = browser.new_context(
        user_agent=BROWSER_UA,
        locale="en-US",
        viewport={"width": 1366, "height": 900},
        accept_downloads=True,
    )
    context.set_default_timeout(15_000)
    origin = market.base
    v = Visit(context, None)

    def only_the_service(route: Any) -> None:
        url = route.request.url
        if url.startswith(origin + "/"):
            route.continue_()
        else:
            v.off_site.append(url)
            route.abort()

    context.route("**/*", only_the_service)
    page = context.new_page()
    page.on("console", lambda msg: v.errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: v.errors.append(str(exc)))
    v.page = page
    yield v
    context.close()
    assert v.errors == [], v.errors
    assert v.off_site == [], v.off_site


def shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def sign_in(page: Any, base: str, credential: str) -> None:
    page.goto(base + "/console/sign-in")
    page.fill("#credential", credential)
    page.click("#sign-in-form button[type=submit]")
    expect(page).not_to_have_url(re.compile(r"/sign-in"))


# Each chart's datasets as Chart.js holds them: (type, colour, drawing order).
DRAWN = """() => Object.fromEntries([...document.querySelectorAll('figure.chart-card')].map(
  f => [f.id, Chart.getChart(f.querySelector('canvas')).data.datasets.map(
    d => [d.type, d.borderColor, d.order])]))"""


def charts_drawn(page: Any, expected: int) -> None:
    expect(page.locator("canvas[data-drawn=true]")).to_have_count(expected)


def fig(scope: Any, name: str) -> Any:
    return scope.locator(f'[data-fig="{name}"]').first


# -- the stories ----------------------------------------------------------------------------


def test_a_creator_signs_in_makes_a_link_copies_it_clicks_it_and_sees_the_counts_rise(
    visit: Visit, market: Market
) -> None:
    page, base = visit.page, market.base
    visit.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)

    page.goto(base + "/console/")
    expect(page).to_have_url(re.compile(r"/console/sign-in"))
    shot(page, "01-sign-in")
    page.fill("#credential", market.keys["gina"])
    page.click("#sign-in-form button[type=submit]")
    expect(page).to_have_url(re.compile(r"/console/me$"))
    expect(page.locator("#my-links .empty")).to_be_visible()
    shot(page, "02-creator-no-links")

    page.select_option("#product_id", "fan")
    page.select_option("#channel", "weibo")
    page.select_option("#placement", "video")
    page.fill("#post_id", "5012345678")
    page.click("#make-link-form button[type=submit]")
    expect(page.locator(".flash")).to_contain_text("Your link is ready")
    link = market.api("GET", "/api/v1/links", token=market.keys["gina"])["links"][0]
    row = page.locator(f"#link-{link['id']}")
    expect(row).to_have_class(re.compile(r"\bnew\b"))
    for name in ("clicks", "unique_clicks", "bot_clicks"):
        expect(fig(row, name)).to_have_attribute("data-value", "0")

    copy = row.locator("button.copy")
    copy.click()
    expect(copy).to_have_text("Copied")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == link["url"]
    shot(page, "03-creator-link-made")

    # The shopper's click in a real tab. The storefront is not on this network (and
    # Playwright routes only the first request of a redirect chain), so the tab's
    # request is sent from the route, with the tab's headers and cookies, and the
    # storefront's page is stood in for: the redirect is checked, nothing leaves.
    redirects: list[Any] = []

    def click_through(route: Any) -> None:
        response = route.fetch(max_redirects=0)
        redirects.append(response)
        route.fulfill(status=200, content_type="text/html", body="<h1>storefront</h1>")

    shopper = visit.context.new_page()
    shopper.route(f"{base}/r/**", click_through)
    shopper.goto(copied)
    assert len(redirects) == 1 and redirects[0].status == 302
    landed = urlsplit(redirects[0].headers["location"])
    assert (landed.scheme, landed.hostname, landed.path) == (
        "https",
        "item.taobao.com",
        "/item.htm",
    )
    assert parse_qs(landed.query)["id"] == ["fan"] and parse_qs(landed.query)["rd_click"]
    assert any(c["name"] == "rd_did" for c in visit.context.cookies(base))
    shopper.close()
    # The same device again (a click, not unique), then a crawler (a bot click):
    # requests from the page's own context, not followed to the storefront.
    again = visit.context.request.get(copied, max_redirects=0)
    assert again.status == 302 and again.headers["location"].startswith("https://item.taobao.com/")
    bot = visit.context.request.get(copied, max_redirects=0, headers={"User-Agent": "curl/8.5.0"})
    assert bot.status == 302

    page.reload()
    row = page.locator(f"#link-{link['id']}")
    expect(fig(row, "clicks")).to_have_attribute("data-value", "2")
    expect(fig(row, "unique_clicks")).to_have_attribute("data-value", "1")
    expect(fig(row, "bot_clicks")).to_have_attribute("data-value", "1")
    stats = market.api("GET", f"/api/v1/links/{link['id']}", token=market.keys["gina"])["stats"]
    assert (stats["clicks"], stats["unique_clicks"], stats["bot_clicks"]) == (2, 1, 1)
    expect(fig(page.locator("#my-totals"), "clicks")).to_have_text("2")
    charts_drawn(page, 2)
    shot(page, "04-creator-counts-risen")

    page.click("#sign-out")
    expect(page).to_have_url(re.compile(r"/console/sign-in"))
    page.goto(base + "/console/me")
    expect(page).to_have_url(re.compile(r"/console/sign-in\?next="))


def test_the_admin_dashboard_shows_what_the_api_says(visit: Visit, market: Market) -> None:
    page, base = visit.page, market.base
    sign_in(page, base, ADMIN_TOKEN)
    expect(page).to_have_url(re.compile(r"/console/admin$"))
    charts_drawn(page, 5)
    # As Chart.js drew them: clicks are bars, the others lines over them, each
    # its own colour; channels and placements are bars only.
    drawn = page.evaluate(DRAWN)
    assert [d[0] for d in drawn["chart-clicks"]] == ["bar", "line", "line", "line"]
    assert len({d[1] for d in drawn["chart-clicks"]}) == 4
    assert all(d[2] == 0 for d in drawn["chart-clicks"][1:]) and drawn["chart-clicks"][0][2] == 1
    for name in ("chart-channels", "chart-placements"):
        assert [d[0] for d in drawn[name]] == ["bar", "bar"], name
    assert [d[0] for d in drawn["chart-money"]] == ["line", "line"]
    links = market.api("GET", "/api/v1/links?limit=1000")["links"]
    tiles = page.locator("#all-time")
    for name in ("clicks", "unique_clicks", "bot_clicks", "orders", "gmv", "commission"):
        total = sum(link["stats"][name] for link in links)
        expect(fig(tiles, name)).to_have_attribute("data-value", str(total))
        shown = money(total) if name in ("gmv", "commission") else count(total)
        expect(fig(tiles, name)).to_have_text(shown)
    march = market.api("GET", f"/api/v1/settlements/{MAR}")["totals"]
    february = market.api("GET", f"/api/v1/settlements/{FEB}")["totals"]
    for name in ("orders", "gmv", "commission", "guide_payable"):
        expect(fig(page.locator("#this-period"), name)).to_have_attribute(
            "data-value", str(march[name])
        )
        row = page.locator(f'#by-period tr[data-key="{FEB}"]')
        expect(fig(row, name)).to_have_attribute("data-value", str(february[name]))
    for channel in ("weibo", "douyin", "kuaishou"):
        row = page.locator(f'#by-channel tr[data-key="{channel}"]')
        gmv = sum(x["stats"]["gmv"] for x in links if x["channel"] == channel)
        expect(fig(row, "gmv")).to_have_text(money(gmv))
    shot(page, "05-admin-dashboard")

    page.click("a[data-lang=zh-CN]")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.locator("h1")).to_have_text("数据看板")
    charts_drawn(page, 5)
    shot(page, "06-admin-dashboard-zh")
    page.click("a[data-lang=en]")
    expect(page.locator("h1")).to_have_text("Dashboard")


def test_the_statement_shows_the_apis_totals_downloads_and_closes(
    visit: Visit, market: Market
) -> None:
    page, base = visit.page, market.base
    sign_in(page, base, ADMIN_TOKEN)
    page.goto(f"{base}/console/admin/statements/{FEB}")
    doc = market.api("GET", f"/api/v1/settlements/{FEB}")
    assert doc["totals"]["ad_rebate"] == 3000  # Moon's ad spend, rebated
    totals = page.locator("#statement-totals")
    for name in FIGURES:
        value = doc["totals"][name]
        expect(fig(totals, name)).to_have_attribute("data-value", str(value))
        expect(fig(totals, name)).to_have_text(count(value) if name == "orders" else money(value))
    expect(page.locator("#statement tbody tr.line")).to_have_count(len(doc["lines"]))
    expect(page.locator("#statement-status")).to_have_text("open")
    shot(page, "07-statement-open")

    with page.expect_download() as download:
        page.click("#csv")
    csv = Path(download.value.path()).read_bytes()
    api_csv = requests.get(
        f"{base}/api/v1/settlements/{FEB}?format=csv",
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        timeout=10,
    )
    assert csv == api_csv.content
    assert download.value.suggested_filename == f"statement-{FEB}.csv"

    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#close-period")
    expect(page.locator("#statement-status")).to_have_text("closed")
    expect(page.locator("#close-period")).to_have_count(0)
    closed = market.api("GET", f"/api/v1/settlements/{FEB}")
    assert closed["status"] == "closed" and closed["totals"] == doc["totals"]
    shot(page, "08-statement-closed")

    page.goto(f"{base}/console/admin/statements/{MAR}")
    expect(page.locator("#close-period")).to_have_count(0)  # March has not ended


def test_an_orders_history(visit: Visit, market: Market) -> None:
    page, base = visit.page, market.base
    sign_in(page, base, ADMIN_TOKEN)
    page.goto(base + "/console/admin/orders")
    expect(page.locator("#order-list tbody tr")).to_have_count(len(market.amounts))
    shot(page, "09-orders")
    page.click("a[href='/console/admin/orders/taobao/d2']")
    order = market.api("GET", "/api/v1/orders/taobao/d2")
    expect(page.locator("#order-status")).to_have_text("refunded")
    expect(page.locator("#history tbody tr")).to_have_count(len(order["history"]))
    expect(fig(page, "refunded_amount")).to_have_text(money(order["refunded_amount"]))
    expect(fig(page, "commission")).to_have_text(money(order["commission"]))
    shot(page, "10-order-history")


def test_creators_and_links(visit: Visit, market: Market) -> None:
    page, base = visit.page, market.base
    sign_in(page, base, ADMIN_TOKEN)
    page.goto(base + "/console/admin/creators")
    expect(page.locator("#creators tbody tr")).to_have_count(6)
    frank = market.api("GET", "/api/v1/links?creator_id=frank")["links"][0]["stats"]
    row = page.locator('#creators tr[data-key="frank"]')
    expect(fig(row, "gmv")).to_have_text(money(frank["gmv"]))
    shot(page, "11-creators")
    page.goto(base + "/console/admin/links")
    shot(page, "12-links")


def test_a_creator_sees_its_earnings_by_period(visit: Visit, market: Market) -> None:
    page, base = visit.page, market.base
    sign_in(page, base, market.keys["erin"])
    page.goto(f"{base}/console/me/earnings?period={FEB}")
    earnings = market.api(
        "GET", f"/api/v1/creators/erin/earnings?period={FEB}", token=market.keys["erin"]
    )
    for name in ("orders", "gmv", "commission"):
        expect(fig(page.locator("#earnings-totals"), name)).to_have_attribute(
            "data-value", str(earnings[name])
        )
    expect(page.locator("#earnings-lines tbody tr")).to_have_count(len(earnings["lines"]))
    shot(page, "13-creator-earnings")


def test_the_leaderboard_orders_creators_as_the_api_does(visit: Visit, market: Market) -> None:
    page, base = visit.page, market.base
    page.goto(f"{base}/leaderboard?period={FEB}")
    board = requests.get(f"{base}/api/v1/leaderboard?period={FEB}", timeout=10).json()
    expected = [e["creator_id"] for e in board["entries"]]
    assert expected == ["frank", "erin", "dan", "hank"]  # dan beats hank on orders
    rows = page.locator("#leaderboard tbody tr")
    expect(rows).to_have_count(4)
    assert [rows.nth(i).get_attribute("data-key") for i in range(4)] == expected
    for i, entry in enumerate(board["entries"]):
        expect(fig(rows.nth(i), "gmv")).to_have_text(money(entry["gmv"]))
    charts_drawn(page, 1)
    shot(page, "14-leaderboard")

    page.select_option("#channel", "kuaishou")  # the select submits its form
    expect(page).to_have_url(re.compile(r"channel=kuaishou"))
    kuaishou = requests.get(
        f"{base}/api/v1/leaderboard?period={FEB}&channel=kuaishou", timeout=10
    ).json()
    assert [e["creator_id"] for e in kuaishou["entries"]] == ["frank", "hank"]
    rows = page.locator("#leaderboard tbody tr")
    expect(rows).to_have_count(2)
    assert [rows.nth(i).get_attribute("data-key") for i in range(2)] == ["frank", "hank"]
    shot(page, "15-leaderboard-kuaishou")

    page.click("a[data-lang=zh-CN]")
    expect(page.locator("h1")).to_contain_text("达人销量榜")
    charts_drawn(page, 1)
    shot(page, "16-leaderboard-zh")
    page.click("a[data-lang=en]")


def test_showcases(visit: Visit, market: Market) -> None:
    page, base = visit.page, market.base
    page.goto(base + "/s/erin")
    products = page.locator("#showcase li.product")
    expect(products).to_have_count(2)
    buy = products.filter(has_text="Celadon cup").locator("a.buy")
    expect(buy).to_have_attribute("href", market.links["erin-cup"]["url"])
    expect(products.filter(has_text="Celadon cup")).to_contain_text(money(5900))
    shot(page, "17-showcase")
    page.goto(base + "/s/ivy")
    expect(page.locator("#showcase-empty")).to_be_visible()
    shot(page, "18-showcase-empty")


@pytest.mark.parametrize("width", [1280, 390])
def test_a_creator_shows_a_links_qr_code_that_reads_back_at_any_width(
    visit: Visit, market: Market, width: int
) -> None:
    zxingcpp = pytest.importorskip("zxingcpp")
    image = pytest.importorskip("PIL.Image")

    def decoded(png: bytes) -> list[str]:
        return [
            code.text
            for code in zxingcpp.read_barcodes(
                image.open(io.BytesIO(png)), formats=zxingcpp.BarcodeFormat.QRCode
            )
        ]

    page, base = visit.page, market.base
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, base, market.keys["hank"])
    link = market.links["hank-fan"]
    page.click(f"#link-{link['id']} a.details")
    expect(page).to_have_url(re.compile(rf"/console/me/links/{link['id']}$"))

    qr = page.locator("img.qr")
    expect(qr).to_be_visible()
    # Visible is not yet drawn: wait for the image itself (fails after 5 s).
    page.wait_for_function(
        "() => { const i = document.querySelector('img.qr');"
        " return i.complete && i.naturalWidth > 0 }",
        timeout=5000,
    )
    # The SVG as the browser draws it reads back as the link's URL, and the page
    # is no wider than the screen.
    assert decoded(qr.screenshot()) == [link["url"]]
    wider = f"[...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > {width}).map(e => e.tagName + '.' + e.className)"  # noqa: E501
    assert page.evaluate("document.documentElement.scrollWidth") <= width, page.evaluate(wider)
    shot(page, f"qr-link-page-{width}")

    with page.expect_download() as png:
        page.click("#qr-png")
    assert png.value.suggested_filename == f"link-{link['id']}-qr.png"
    assert decoded(Path(png.value.path()).read_bytes()) == [link["url"]]
    with page.expect_download() as svg:
        page.click("#qr-svg")
    assert svg.value.suggested_filename == f"link-{link['id']}-qr.svg"
    assert Path(svg.value.path()).read_bytes().startswith(b"<svg")
