"""The product library page in a real browser (Debian's Chromium, Playwright), on
the app served in-process: a creator filters the library, sees the products'
images (which the page's CSP lets in from their hosts only), pages on, and
makes a link from a product in one click. Screenshots at 1280 and 390 px wide
go to ``$REDIRECTOR_SHOTS`` (default ``test-artifacts/screenshots/library``)."""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import fakeredis
import pytest
from werkzeug.serving import make_server

from redirector import create_app
from redirector.config import Settings

from .conftest import ADMIN_TOKEN, SECRET_KEYS

sync_api = pytest.importorskip("playwright.sync_api")
CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    pytest.skip("Chromium is not installed at /usr/bin/chromium", allow_module_level=True)

expect = sync_api.expect
SHOTS = Path(
    os.environ.get("REDIRECTOR_SHOTS")
    or Path(__file__).resolve().parent.parent / "test-artifacts" / "screenshots" / "library"
)
IMAGE_HOST = "img.tmall.com"
PRODUCTS = [
    ("longjing", "西湖龙井 明前特级 Longjing 250g", 12800, 1500, "tea", "#7aa65a"),
    ("puer", "云南普洱茶饼 357g 礼盒", 9900, 2000, "tea", "#8c5a3c"),
    ("oolong", "安溪铁观音 Tieguanyin Oolong", 6800, 1200, "tea", "#b9a44c"),
    ("cup", "龙泉青瓷 Celadon Cup 品茗杯", 5900, 2000, "teaware", "#6fa8a0"),
    ("pot", "宜兴紫砂壶 Yixing Teapot", 45800, 800, "teaware", "#9b4a32"),
    ("honey", "野生百花蜂蜜 Wildflower Honey", 3900, 3000, "food", "#e0a526"),
    ("tray", "竹制茶盘 Bamboo Tea Tray", 15900, 1800, "teaware", "#a58a5c"),
    ("gift", "新年茶礼 Tea Gift Box", 29900, 2500, "tea", "#c0392b"),
]


@pytest.fixture(scope="module")
def served() -> Iterator[dict[str, Any]]:
    """The app on a loopback port, with a storefront, a library and a creator."""
    settings = Settings.from_env(
        {
            "REDIRECTOR_ADMIN_TOKEN": ADMIN_TOKEN,
            "REDIRECTOR_SECRET_KEYS": SECRET_KEYS,
            "REDIRECTOR_CLOCK": "mock",
        }
    )
    app = create_app(settings, store=fakeredis.FakeRedis(decode_responses=True))
    client = app.test_client()
    auth = {"Authorization": f"Bearer {ADMIN_TOKEN}"}

    def put(path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = client.put(path, json=body, headers=auth)
        assert response.status_code in (200, 201), response.get_json()
        return response.get_json()

    put(
        "/api/v1/storefronts/tmall",
        {"name": "天猫 Tmall", "hosts": ["detail.tmall.com", IMAGE_HOST]},
    )
    for pid, title, price, rate, category, _ in PRODUCTS:
        put(
            f"/api/v1/products/{pid}",
            {
                "storefront_id": "tmall",
                "title": title,
                "price": price,
                "commission_rate_bps": rate,
                "web_url": f"https://detail.tmall.com/item.htm?id={pid}",
                "category": category,
                "image_url": f"https://{IMAGE_HOST}/{pid}.svg",
                "share_code": f"￥{pid.upper()}8a￥",
            },
        )
    for n in range(30):
        put(
            f"/api/v1/products/extra{n:02d}",
            {
                "storefront_id": "tmall",
                "title": f"茶叶 sample {n:02d}",
                "price": 1000 + n,
                "commission_rate_bps": 500,
                "web_url": f"https://detail.tmall.com/item.htm?id=x{n}",
                "category": "samples",
            },
        )
    gina = put("/api/v1/creators/gina", {"name": "Gina 小茶"})["api_key"]
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield {"base": f"http://127.0.0.1:{server.server_port}", "gina": gina}
    server.shutdown()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as p:
        launched = p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
            ],
        )
        yield launched
        launched.close()


def _svg(pid: str) -> str:
    colour = next(c for p, *_, c in PRODUCTS if p == pid)
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" width="400" height="400">'
        f'<rect width="400" height="400" fill="{colour}"/>'
        '<circle cx="200" cy="210" r="110" fill="#ffffff" opacity="0.25"/>'
        f'<text x="200" y="225" font-size="44" text-anchor="middle" fill="#fff">{pid}</text></svg>'
    )


@pytest.mark.parametrize("width", [1280, 390])
def test_a_creator_finds_a_product_and_makes_its_link(
    browser: Any, served: dict[str, Any], width: int
) -> None:
    base = served["base"]
    context = browser.new_context(
        locale="zh-CN", viewport={"width": width, "height": 900}, device_scale_factor=1
    )
    problems: list[str] = []
    off_site: list[str] = []

    def route(request_route: Any) -> None:
        url = request_route.request.url
        if url.startswith(base + "/"):
            request_route.continue_()
        elif url.startswith(f"https://{IMAGE_HOST}/"):
            # The storefront's image host, answered here: the network is off.
            pid = url.rsplit("/", 1)[1].removesuffix(".svg")
            request_route.fulfill(status=200, content_type="image/svg+xml", body=_svg(pid))
        else:
            off_site.append(url)
            request_route.abort()

    context.route("**/*", route)
    page = context.new_page()
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.goto(base + "/console/sign-in")
    page.fill("#credential", served["gina"])
    page.click("#sign-in-form button[type=submit]")
    page.goto(base + "/console/library?category=tea&sort=commission")
    expect(page.locator("#library .product")).to_have_count(4)
    images = page.locator("#library img")
    expect(images.first).to_be_visible()
    page.wait_for_function(
        "() => [...document.querySelectorAll('#library img')].every(i => i.naturalWidth > 0)"
    )
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"library-{width}.png"), full_page=True)

    card = page.locator("#product-gift")
    card.locator("select[name=channel]").select_option("weibo")
    card.locator("button[type=submit]").click()
    expect(page.locator("#made")).to_be_visible()
    expect(page.locator("#made-url")).to_have_value(re.compile(r"^http://127\.0\.0\.1:\d+/r/"))
    expect(page.locator("#made-share-code")).to_have_value("￥GIFT8a￥")
    expect(page.locator("#library .product")).to_have_count(4)  # the same search, kept
    page.screenshot(path=str(SHOTS / f"library-made-{width}.png"), full_page=True)

    page.goto(base + "/console/library?q=茶叶&sort=price")
    expect(page.locator("#library .product")).to_have_count(24)
    page.click("#next-page")
    expect(page.locator("#library .product")).to_have_count(6)
    context.close()
    assert problems == [] and off_site == [], (problems, off_site)
