"""The payout pages in a real browser: Debian's Chromium driven by Playwright
against a real ``redirector serve`` (mock clock, minimum payout 2000 fen), on
the February of ``test_browser`` closed on 5 March.

The admin marks one payout paid and another failed with the page's forms (the
confirmation dialog accepted); the pages must say what the API says, in
Chinese and in English, at desktop and phone widths, with no console error
(a CSP violation among them) and no request off the machine. Each page is saved
as a screenshot under ``test-artifacts/screenshots/payouts/`` (git-ignored), or
the directory named by ``PAYOUT_SHOTS``.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import ADMIN_TOKEN, SECRET_KEYS
from .servers import redis_for_server, service
from .test_browser import (
    BROWSER_UA,
    CHROMIUM,
    FEB,
    SHOTS,
    Market,
    expect,
    simulate_february,
    sync_api,
)

pytestmark = pytest.mark.server

PAYOUT_SHOTS = Path(os.environ.get("PAYOUT_SHOTS") or SHOTS / "payouts")
MINIMUM = 2000
WIDTHS = {"desktop": 1280, "phone": 390}
LANGUAGES = {"zh": "zh-CN", "en": "en-US"}


@pytest.fixture(scope="module")
def closed() -> Iterator[Market]:
    """February sold (test_browser's month) and closed on 5 March."""
    env = {
        "REDIRECTOR_ADMIN_TOKEN": ADMIN_TOKEN,
        "REDIRECTOR_SECRET_KEYS": SECRET_KEYS,
        "REDIRECTOR_CLOCK": "mock",
        "REDIRECTOR_PUBLIC_URL": "",
        "REDIRECTOR_MIN_PAYOUT": str(MINIMUM),
    }
    real = os.environ.get("REDIS_URL") or os.environ.get("REDIS_CLUSTER_URL")
    with (
        redis_for_server() if real else contextlib.nullcontext({"REDIS_URL": ""}) as store_env,
        service({**env, **store_env}, workers=2 if real else 1) as base,
    ):
        market = Market(base)
        simulate_february(market)
        market.api("POST", f"/api/v1/settlements/{FEB}/close")
        yield market


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    from .test_browser import LAUNCH_ARGS

    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        yield browser
        browser.close()


def open_page(chromium: Any, market: Market, lang: str, width: int) -> tuple[Any, list[str]]:
    """A context in ``lang`` at ``width`` px that records console errors and
    refuses (and records) any request to another host."""
    context = chromium.new_context(
        user_agent=BROWSER_UA,
        locale=LANGUAGES[lang],
        extra_http_headers={"Accept-Language": LANGUAGES[lang]},
        viewport={"width": width, "height": 900},
    )
    context.set_default_timeout(15_000)
    problems: list[str] = []

    def only_the_service(route: Any) -> None:
        if route.request.url.startswith(market.base + "/"):
            route.continue_()
        else:
            problems.append("off site: " + route.request.url)
            route.abort()

    context.route("**/*", only_the_service)
    page = context.new_page()
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.on("dialog", lambda dialog: dialog.accept())
    return page, problems


def sign_in(page: Any, base: str, credential: str) -> None:
    page.goto(base + "/console/sign-in")
    page.fill("#credential", credential)
    page.click("#sign-in-form button[type=submit]")
    expect(page).not_to_have_url(re.compile(r"/sign-in"))


def shot(page: Any, name: str) -> None:
    PAYOUT_SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(PAYOUT_SHOTS / f"{name}.png"), full_page=True)


def test_the_admin_marks_payouts_paid_and_failed_in_the_browser(
    chromium: Any, closed: Market
) -> None:
    made = closed.api("GET", f"/api/v1/payouts?period={FEB}")["payouts"]
    by_account = {p["account_id"]: p for p in made}
    assert set(by_account) == {"moon", "frank", "hank"}  # gina and ivy sold nothing
    page, problems = open_page(chromium, closed, "en", WIDTHS["desktop"])
    sign_in(page, closed.base, ADMIN_TOKEN)
    page.goto(f"{closed.base}/console/admin/payouts?period={FEB}")
    for payout in made:
        row = page.locator(f"#payout-{payout['id']}")
        expect(row.locator('[data-fig="amount"]')).to_have_attribute(
            "data-value", str(payout["amount"])
        )

    frank = page.locator(f"#payout-{by_account['frank']['id']}")
    frank.locator('input[name="reference"]').fill("ICBC-20260305-0001")
    frank.locator('button[data-action="paid"]').click()
    expect(page.locator(".flash")).to_contain_text("is marked paid")
    hank = page.locator(f"#payout-{by_account['hank']['id']}")
    hank.locator('input[name="reason"]').fill("account name does not match")
    hank.locator('button[data-action="failed"]').click()  # its confirmation accepted
    expect(page.locator(".flash")).to_contain_text("is marked failed")

    assert closed.api("GET", f"/api/v1/payouts/{by_account['frank']['id']}")["status"] == "paid"
    assert closed.api("GET", f"/api/v1/payouts/{by_account['hank']['id']}")["status"] == "failed"
    hank_balance = closed.api("GET", "/api/v1/accounts/hank/balance")["balance"]
    assert hank_balance == by_account["hank"]["amount"]
    expect(
        page.locator('#balances [data-key="creator:hank"] [data-fig="balance"]')
    ).to_have_attribute("data-value", str(hank_balance))
    page.context.close()
    assert problems == []


@pytest.mark.parametrize("lang", sorted(LANGUAGES))
@pytest.mark.parametrize("width", sorted(WIDTHS))
def test_the_payout_pages_in_both_languages_and_widths(
    chromium: Any, closed: Market, lang: str, width: str
) -> None:
    page, problems = open_page(chromium, closed, lang, WIDTHS[width])
    sign_in(page, closed.base, ADMIN_TOKEN)
    page.goto(f"{closed.base}/console/admin/payouts?period={FEB}")
    expect(page.locator("html")).to_have_attribute("lang", LANGUAGES[lang].replace("en-US", "en"))
    shot(page, f"admin-payouts-{lang}-{width}")
    page.context.close()

    page, more = open_page(chromium, closed, lang, WIDTHS[width])
    sign_in(page, closed.base, closed.keys["frank"])
    page.goto(f"{closed.base}/console/me/payouts")
    balance = closed.api("GET", "/api/v1/accounts/frank/balance", token=closed.keys["frank"])
    expect(page.locator('#my-balance [data-fig="balance"]')).to_have_attribute(
        "data-value", str(balance["balance"])
    )
    shot(page, f"creator-payouts-{lang}-{width}")
    page.goto(f"{closed.base}/console/me/earnings?period={FEB}")
    earnings = closed.api(
        "GET", f"/api/v1/creators/frank/earnings?period={FEB}", token=closed.keys["frank"]
    )
    expect(page.locator('#earnings-totals [data-fig="guide_payable"]')).to_have_attribute(
        "data-value", str(earnings["guide_payable"])
    )
    shot(page, f"creator-earnings-{lang}-{width}")
    page.context.close()
    assert problems == [] and more == []
