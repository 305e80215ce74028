"""The webhook endpoint pages in a real browser: Debian's Chromium driven by
Playwright against a real ``redirector serve`` (mock clock, private targets
allowed so that a receiver on loopback can be registered).

The admin registers an endpoint with the form (URL, two event checkboxes, an
agency), sees the secret once, opens the endpoint, rotates its secret with a
grace and deletes it (the confirmation accepted), in Chinese and in English,
at desktop and phone widths: no console error (a CSP violation among them), no
request off the machine, nothing wider than the window. Screenshots go to
``test-artifacts/screenshots/webhooks/`` (git-ignored), or ``WEBHOOK_SHOTS``.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from . import test_payouts_browser
from .conftest import ADMIN_TOKEN, SECRET_KEYS
from .servers import redis_for_server, service
from .test_browser import SHOTS, Market, expect
from .test_payouts_browser import open_page, sign_in

pytestmark = pytest.mark.server
chromium = test_payouts_browser.chromium  # the fixture: one browser for the module

WEBHOOK_SHOTS = Path(os.environ.get("WEBHOOK_SHOTS") or SHOTS / "webhooks")
WIDTHS = {"desktop": 1280, "phone": 390}


@pytest.fixture(scope="module")
def market() -> Iterator[Market]:
    env = {
        "REDIRECTOR_ADMIN_TOKEN": ADMIN_TOKEN,
        "REDIRECTOR_SECRET_KEYS": SECRET_KEYS,
        "REDIRECTOR_CLOCK": "mock",
        "REDIRECTOR_PUBLIC_URL": "",
        "REDIRECTOR_WEBHOOK_ALLOW_PRIVATE": "1",
    }
    real = os.environ.get("REDIS_URL") or os.environ.get("REDIS_CLUSTER_URL")
    with (
        redis_for_server() if real else contextlib.nullcontext({"REDIS_URL": ""}) as store_env,
        service({**env, **store_env}) as base,
    ):
        market = Market(base)
        market.api("PUT", "/api/v1/agencies/starlight", {"name": "Starlight MCN"})
        market.api("PUT", "/api/v1/creators/alice", {"name": "Alice", "agency_id": "starlight"})
        yield market


def shot(page: Any, name: str) -> None:
    WEBHOOK_SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(WEBHOOK_SHOTS / f"{name}.png"), full_page=True)


def no_overflow(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    wide = page.evaluate(
        """w => [...document.querySelectorAll('body *')]
        .filter(e => e.getBoundingClientRect().right > w)
        .map(e => e.tagName + '#' + e.id + '.' + e.className).slice(0, 8)""",
        page.viewport_size["width"],
    )
    assert width <= page.viewport_size["width"], (width, wide)


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("size", list(WIDTHS))
def test_an_admin_registers_rotates_and_deletes_an_endpoint(
    chromium: Any, market: Market, lang: str, size: str
) -> None:
    page, problems = open_page(chromium, market, lang, WIDTHS[size])
    sign_in(page, market.base, ADMIN_TOKEN)
    page.goto(market.base + "/console/admin/webhooks")
    url = f"http://127.0.0.1:9/{lang}-{size}"  # never sent to: no event happens here
    page.fill("input[name=url]", url)
    page.check("input[name=events][value='order.attributed']")
    page.check("input[name=events][value='order.refunded']")
    page.select_option("select[name=agency_id]", "starlight")
    page.click("#register-webhook button[type=submit]")
    expect(page.locator("#new-secret")).to_be_visible()
    secret = page.input_value("#secret-value")
    assert re.fullmatch(r"whsec_[A-Za-z0-9+/=]+", secret)
    no_overflow(page)
    shot(page, f"registered-{lang}-{size}")
    hooks = market.api("GET", "/api/v1/webhooks")["webhooks"]
    (hook,) = [h for h in hooks if h["url"] == url]
    assert hook["events"] == ["order.attributed", "order.refunded"]
    assert hook["agency_id"] == "starlight"

    page.goto(market.base + "/console/admin/webhooks")
    expect(page.locator("#new-secret")).to_have_count(0)
    page.click(f"tr[data-endpoint='{hook['id']}'] a")
    page.select_option("select[name=grace_hours]", "1")
    page.click("#rotate-secret button[type=submit]")
    expect(page.locator("#previous-secret")).to_be_visible()
    assert page.input_value("#secret-value") not in ("", secret)
    no_overflow(page)
    shot(page, f"rotated-{lang}-{size}")

    page.click("#delete-webhook button[type=submit]")  # the confirmation is accepted
    expect(page).to_have_url(re.compile(r"/console/admin/webhooks$"))
    assert all(h["id"] != hook["id"] for h in market.api("GET", "/api/v1/webhooks")["webhooks"])
    assert problems == []
    page.context.close()
