"""The landing page in a real browser: Debian's Chromium, driven by Playwright,
dressed as WeChat on an iPhone (its user agent, a 390 px wide screen), against
a real ``redirector serve``, with the network off but for the service and the
product image's host (answered by the test).

The buyer presses the copy button and the share code is on the clipboard; with
no clipboard API, the code is left selected for the phone's own copy. No CSP
violation, no page error, and one click recorded. Screenshots in Chinese and
English go to ``/tmp/shots/landing/``.

Skipped when Playwright or /usr/bin/chromium is missing, as ``test_browser``.
"""

from __future__ import annotations

import os
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from .conftest import ADMIN_TOKEN, SECRET_KEYS
from .servers import redis_for_server, service
from .user_agents import IN_APP

sync_api = pytest.importorskip("playwright.sync_api")
CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    pytest.skip("Chromium is not installed at /usr/bin/chromium", allow_module_level=True)

pytestmark = pytest.mark.server

expect = sync_api.expect
SHOTS = Path("/tmp/shots/landing")
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]
WECHAT_IPHONE = IN_APP["wechat", "ios"]
IMAGE_HOST = "img.alicdn.com"
IMAGE = f"https://{IMAGE_HOST}/imgextra/longjing.png"
SHARE_CODE = "￥AbC123￥"
TEA = {
    "storefront_id": "taobao",
    "title": "西湖龙井 明前特级 250g",
    "price": 12800,
    "commission_rate_bps": 1500,
    "web_url": "https://item.taobao.com/item.htm?id=123",
    "app_url": "taobao://item.taobao.com/item.htm?id=123",
    "image_url": IMAGE,
    "share_code": SHARE_CODE,
}


def png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A plain one-colour PNG, for the product image the storefront would serve."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    row = b"\x00" + bytes(rgb) * width
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )


@dataclass
class Shop:
    """The service with a storefront, the tea, a creator and her link."""

    base: str
    link: dict[str, Any] = field(default_factory=dict)

    def api(self, method: str, path: str, body: Any = None, token: str = ADMIN_TOKEN) -> Any:
        response = requests.request(
            method,
            self.base + path,
            json=body,
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
        assert response.status_code in (200, 201), (path, response.status_code, response.text)
        return response.json()

    def stats(self) -> dict[str, int]:
        return self.api("GET", f"/api/v1/links/{self.link['id']}")["stats"]


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    env = {
        "REDIRECTOR_ADMIN_TOKEN": ADMIN_TOKEN,
        "REDIRECTOR_SECRET_KEYS": SECRET_KEYS,
        "REDIRECTOR_PUBLIC_URL": "",
        "REDIRECTOR_IMAGE_HOSTS": IMAGE_HOST,
    }
    if os.environ.get("REDIS_URL") or os.environ.get("REDIS_CLUSTER_URL"):
        with redis_for_server() as store_env, service({**env, **store_env}, workers=2) as base:
            yield base
    else:
        with service({**env, "REDIS_URL": ""}, workers=1) as base:
            yield base


@pytest.fixture(scope="module")
def creator_key(server: str) -> str:
    """The storefront, the tea and a creator, once; answers the creator's API key."""
    shop = Shop(server)
    shop.api(
        "PUT",
        "/api/v1/storefronts/taobao",
        {"name": "Taobao", "hosts": ["item.taobao.com"], "app_schemes": ["taobao"]},
    )
    shop.api("PUT", "/api/v1/products/tea", TEA)
    key: str = shop.api("PUT", "/api/v1/creators/alice", {"name": "Alice"})["api_key"]
    return key


@pytest.fixture
def shop(server: str, creator_key: str) -> Shop:
    """A fresh link for each test, so that each counts its own clicks."""
    shop = Shop(server)
    body = {"product_id": "tea", "channel": "weibo"}
    shop.link = shop.api("POST", "/api/v1/links", body, creator_key)
    return shop


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        yield chromium
        chromium.close()


@dataclass
class Phone:
    """WeChat on an iPhone: a browser context, what it asked for off-site, its errors."""

    context: Any
    page: Any = None
    off_site: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def phone(browser: Any, base: str, locale: str) -> Phone:
    context = browser.new_context(
        user_agent=WECHAT_IPHONE,
        locale=locale,
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
    )
    context.set_default_timeout(15_000)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
    p = Phone(context)
    image = png(600, 400, (46, 125, 50))

    def only_the_service(route: Any) -> None:
        url = route.request.url
        if url.startswith(base + "/"):
            route.continue_()
        elif url == IMAGE:
            route.fulfill(status=200, content_type="image/png", body=image)
        else:
            p.off_site.append(url)
            route.abort()

    context.route("**/*", only_the_service)
    page = context.new_page()
    page.on("console", lambda msg: p.errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: p.errors.append(str(exc)))
    p.page = page
    return p


@pytest.fixture
def wechat(browser: Any, server: str, request: pytest.FixtureRequest) -> Iterator[Phone]:
    p = phone(browser, server, getattr(request, "param", "zh-CN"))
    yield p
    p.context.close()
    assert p.errors == [], p.errors  # a CSP violation is reported as one
    assert p.off_site == [], p.off_site


def shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def open_landing(p: Phone, shop: Shop) -> Any:
    response = p.page.goto(shop.link["url"])
    assert response is not None and response.status == 200
    assert response.headers["cache-control"] == "no-store"
    expect(p.page.locator("#product-image")).to_be_visible()
    assert p.page.evaluate("document.getElementById('product-image').naturalWidth") == 600
    return response


@pytest.mark.parametrize(
    ("wechat", "copied", "title"),
    [("zh-CN", "已复制", "微信内无法直接打开商店"), ("en-US", "Copied", "WeChat does not open")],
    indirect=["wechat"],
    ids=["zh", "en"],
)
def test_the_buyer_copies_the_share_code_in_wechat(
    wechat: Phone, shop: Shop, copied: str, title: str
) -> None:
    page = wechat.page
    open_landing(wechat, shop)
    expect(page.locator("#open-hint")).to_contain_text(title)
    expect(page.locator("#product-price")).to_have_text("¥128.00")
    shot(page, f"landing-{'zh' if copied == '已复制' else 'en'}")

    button = page.locator("#copy-share-code")
    button.click()

    expect(button).to_have_text(copied)
    assert page.evaluate("navigator.clipboard.readText()") == SHARE_CODE
    destination = page.locator("#open-destination").get_attribute("href") or ""
    assert destination.startswith(TEA["app_url"] + "&rd_click=")
    click_id = parse_qs(urlsplit(destination).query)["rd_click"][0]
    assert click_id.startswith(shop.link["id"] + ".")
    # One click for the page, none for what it loaded or for copying.
    stats = shop.stats()
    assert (stats["clicks"], stats["unique_clicks"], stats["bot_clicks"]) == (1, 1, 0)


def test_without_the_clipboard_api_the_code_is_left_selected(wechat: Phone, shop: Shop) -> None:
    # An in-app browser with no clipboard API and a refused execCommand: the
    # page selects the code, so the phone's own copy menu takes it.
    wechat.context.add_init_script(
        "Object.defineProperty(navigator, 'clipboard', {value: undefined});"
        "document.execCommand = function () { return false; };"
    )
    page = wechat.page
    open_landing(wechat, shop)

    page.locator("#copy-share-code").click()

    selected = page.evaluate(
        "(() => { const f = document.getElementById('share-code');"
        " const chosen = f.value.slice(f.selectionStart, f.selectionEnd);"
        " return [document.activeElement === f, chosen]; })()"
    )
    assert selected == [True, SHARE_CODE]
    expect(page.locator("#copy-share-code")).to_have_text("复制口令")  # not "copied"
