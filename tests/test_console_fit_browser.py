"""Every console and public page fits the screen and passes axe-core: Debian's
Chromium driven by Playwright against a real ``redirector serve``, on the
February of ``test_browser`` (closed on 5 March, so payouts exist), products
with images, then a simulated month (``redirector.simulate``: 30 days of
traffic, orders, refunds, closings, payouts and postbacks from 6 March).

Each page is visited at 1280 and 390 px, in English and in Chinese, and must:
be no wider than the viewport; have no table wider than its container unless
that container scrolls sideways; show no money cell cut short; keep the header
low on a phone; log no console error and no Content-Security-Policy violation;
and have no serious or critical axe-core violation (axe-core ships inside the
``axe-playwright-python`` test dependency, read from disk: nothing is fetched).
One browser, one context per viewer, pages reused. Screenshots and the axe
summary (``axe-summary.txt``, ``axe-summary.json``) go to ``/tmp/shots/console/``
(or the directory named by ``CONSOLE_SHOTS``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from redirector.simulate import Options, Simulation

from .conftest import ADMIN_TOKEN, SECRET_KEYS
from .servers import redis_for_server, service
from .test_browser import (
    BROWSER_UA,
    CHROMIUM,
    FEB,
    LAUNCH_ARGS,
    Market,
    expect,
    simulate_february,
    sync_api,
)

pytestmark = pytest.mark.server

SHOTS = Path(os.environ.get("CONSOLE_SHOTS") or "/tmp/shots/console")
WIDTHS = (1280, 390)
# axe runs once per page and language, on the phone's layout: the one with
# the most scrolling regions and the tightest text (both widths passed with
# no serious or critical violation when it was written; half the sweep's time).
AXE_WIDTH = 390
# The console header on a 390 px phone: brand and account on one row, the menu
# one row that scrolls sideways (it took six rows when it wrapped).
PHONE_HEADER_MAX = 110
# The simulated month: small enough to add well under a minute to the sweep.
SIM_START = date(2026, 3, 6)
SIM_MONTH = "2026-03"
SIM = Options(days=30, start=SIM_START, creators=6, orders_per_day=6, quiet=True)
AXE_JS = Path(pytest.importorskip("axe_playwright_python").__file__).with_name("axe.min.js")
# axe's impacts, worst last; the sweep fails on the last two.
IMPACTS = ("minor", "moderate", "serious", "critical")
FAILING = ("serious", "critical")
LANGUAGES = ("en", "zh-CN")
IMAGE_HOST = "item.taobao.com"
SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="200" height="200">'
    '<rect width="200" height="200" fill="#9ca3af"/></svg>'
)

# Runs in the page before its own scripts: CSP violations are events, not
# always console errors, so they are kept where the checks can read them.
RECORD_CSP = """
window.__csp = [];
document.addEventListener('securitypolicyviolation',
  e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));
"""

# What does not fit: the page wider than the viewport, a table wider than its
# container with no scrolling ancestor in between, a cell that is not as tall as
# its row (its borders off the row's), a money cell cut short, and
# on a desktop screen any table that has to scroll (its last columns, the
# money, out of sight).
MEASURE = """
desktop => {
  const scrolls = el => ['auto', 'scroll'].includes(getComputedStyle(el).overflowX);
  const name = el => el.id ? '#' + el.id : el.tagName.toLowerCase() + '.' + el.className;
  const problems = [];
  const width = document.documentElement.scrollWidth;
  if (width > window.innerWidth) {
    const wide = [...document.querySelectorAll('body *')]
      .filter(e => e.getBoundingClientRect().right > window.innerWidth + 0.5)
      .slice(0, 5).map(name);
    problems.push(`page ${width} px wide > ${window.innerWidth}: ${wide.join(', ')}`);
  }
  for (const table of document.querySelectorAll('table')) {
    const wide = table.getBoundingClientRect().width;
    let box = table.parentElement;
    while (box && box !== document.body && box.clientWidth >= wide - 0.5 && !scrolls(box)) {
      box = box.parentElement;
    }
    if (box && box !== document.body && !scrolls(box)) {
      problems.push(`${name(table)} ${Math.round(wide)} px in ${name(box)} ${box.clientWidth} px`);
    } else if (desktop && box && box !== document.body && box.scrollWidth > box.clientWidth) {
      problems.push(`${name(table)} scrolls at desktop: ${box.scrollWidth} > ${box.clientWidth}`);
    }
  }
  for (const row of document.querySelectorAll('tbody tr')) {
    const height = row.getBoundingClientRect().height;
    for (const cell of row.children) {
      if (Math.abs(cell.getBoundingClientRect().height - height) > 1) {
        problems.push(`${name(cell)} not as tall as its row in ${name(row.closest('table'))}`);
      }
    }
  }
  for (const cell of document.querySelectorAll('td.num, th.num, .tile-value')) {
    if (cell.scrollWidth > cell.clientWidth + 0.5) {
      problems.push(`cut: ${name(cell)} "${cell.textContent.trim()}"`);
    }
  }
  return problems.concat(window.__csp || []);
}
"""


def simulator_settings() -> dict[str, str]:
    """The simulator runs on the default fraud rules (its phones come from
    distinct loopback addresses); its postback receiver is on loopback."""
    return {"REDIRECTOR_WEBHOOK_ALLOW_PRIVATE": "1"}


@dataclass
class Month:
    """The simulated month: its busiest independent creator's id and API key."""

    creator_id: str
    key: str
    seconds: float


def simulate_month(base: str) -> Month:
    """Thirty days of the simulator against the sweep's service (its links,
    orders, closings of March and April, payouts and postbacks)."""
    started = time.monotonic()
    options = dataclasses.replace(SIM, url=base, admin_token=ADMIN_TOKEN)
    sim = Simulation(options, base, ADMIN_TOKEN)
    try:
        sim.setup()
        sim.run(lambda phase, done, total: None)
        result = sim.compare(started)
    finally:
        sim.pool.shutdown(wait=True)
    assert result.agrees, [r for r in result.rows if not r.agrees]
    paid: dict[str, int] = {}
    for _, account, amount in sim.books.payouts:
        paid[account] = paid.get(account, 0) + amount
    independent = [c for c in sim.world.creators if c.agency is None]
    best = max(independent, key=lambda c: (paid.get(c.account, 0), c.id))
    return Month(best.id, best.api_key, time.monotonic() - started)


@pytest.fixture(scope="module")
def market() -> Iterator[tuple[Market, Month]]:
    env = {
        "REDIRECTOR_ADMIN_TOKEN": ADMIN_TOKEN,
        "REDIRECTOR_SECRET_KEYS": SECRET_KEYS,
        "REDIRECTOR_CLOCK": "mock",
        "REDIRECTOR_PUBLIC_URL": "",
        "REDIRECTOR_MIN_PAYOUT": "2000",
    }
    real = os.environ.get("REDIS_URL") or os.environ.get("REDIS_CLUSTER_URL")
    with (
        redis_for_server() if real else contextlib.nullcontext({"REDIS_URL": ""}) as store_env,
        service({**env, **store_env, **simulator_settings()}, workers=2 if real else 1) as base,
    ):
        m = Market(base)
        simulate_february(m)
        for product_id, title, price, rate in [
            ("tea", "西湖龙井 Longjing tea 250g", 12800, 1500),
            ("cup", "青瓷茶杯 Celadon cup", 5900, 2000),
            ("fan", "竹扇 Bamboo fan", 19900, 1000),
        ]:
            m.api(  # test_browser's products, now with images
                "PUT",
                f"/api/v1/products/{product_id}",
                {
                    "storefront_id": "taobao",
                    "title": title,
                    "price": price,
                    "commission_rate_bps": rate,
                    "web_url": f"https://{IMAGE_HOST}/item.htm?id={product_id}",
                    "app_url": f"taobao://{IMAGE_HOST}/item.htm?id={product_id}",
                    "image_url": f"https://{IMAGE_HOST}/{product_id}.svg",
                },
            )
        m.api("POST", f"/api/v1/settlements/{FEB}/close")
        # An order paid two seconds after its click: held for review.
        m.amounts["x1"] = 5900
        click_id, _ = m.click("erin-cup")
        m.event("x1", "paid", m.now + timedelta(seconds=2), click_id=click_id)
        month = simulate_month(base)
        print(f"simulated month: {month.seconds:.1f} s")
        yield m, month


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        yield browser
        browser.close()


def viewer_page(chromium: Any, market: Market, credential: str | None) -> tuple[Any, list[str]]:
    """A context signed in with ``credential`` (or not at all) that records
    console errors and answers the image host itself: nothing leaves the machine."""
    context = chromium.new_context(user_agent=BROWSER_UA, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    problems: list[str] = []

    def only_the_service(route: Any) -> None:
        url = route.request.url
        if url.startswith(market.base + "/"):
            route.continue_()
        elif url.startswith(f"https://{IMAGE_HOST}/") and url.endswith(".svg"):
            route.fulfill(status=200, content_type="image/svg+xml", body=SVG)
        else:
            problems.append("off site: " + url)
            route.abort()

    context.route("**/*", only_the_service)
    context.add_init_script(RECORD_CSP)
    page = context.new_page()
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    if credential:
        page.goto(market.base + "/console/sign-in")
        page.fill("#credential", credential)
        page.click("#sign-in-form button[type=submit]")
        expect(page).not_to_have_url(re.compile(r"/sign-in"))
    return page, problems


def pages(market: Market, month: Month) -> dict[str, tuple[str | None, list[str]]]:
    erin_link = market.links["erin-cup"]["id"]
    return {
        "admin": (
            ADMIN_TOKEN,
            [
                "/console/admin",
                "/console/admin/statements",
                f"/console/admin/statements/{FEB}",
                f"/console/admin/statements/{SIM_MONTH}",
                f"/console/admin/payouts?period={FEB}",
                f"/console/admin/payouts?period={SIM_MONTH}",
                "/console/admin/orders",
                "/console/admin/orders/taobao/d2",
                "/console/admin/held-orders",
                "/console/admin/creators",
                "/console/admin/links",
                "/console/admin/webhooks",
            ],
        ),
        "creator": (
            market.keys["erin"],
            [
                "/console/me",
                f"/console/me/links/{erin_link}",
                "/console/library",
                f"/console/me/earnings?period={FEB}",
                "/console/me/payouts",
                "/console/me/orders",
                "/console/me/webhooks",
            ],
        ),
        "simulated": (
            month.key,
            [
                "/console/me",
                f"/console/me/earnings?period={SIM_MONTH}",
                "/console/me/payouts",
                "/console/me/orders",
            ],
        ),
        "public": (
            None,
            ["/console/sign-in", "/leaderboard", "/s/erin", "/s/ivy", f"/s/{month.creator_id}"],
        ),
    }


def slug(path: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", path.lower()).strip("-")


def axe(page: Any, source: str) -> list[dict[str, Any]]:
    """axe-core's violations on the page as it stands (WCAG 2.x A and AA and
    best practices), each with its rule, impact and how many nodes."""
    page.evaluate(source)
    found = page.evaluate(
        """() => axe.run(document, {resultTypes: ['violations']}).then(r => r.violations.map(
             v => ({id: v.id, impact: v.impact, nodes: v.nodes.length,
                    where: v.nodes.slice(0, 3).map(n => n.target.join(' '))})))"""
    )
    return list(found)


def write_axe_summary(runs: dict[str, list[dict[str, Any]]]) -> None:
    """Pages by violations per impact, as text and as JSON, beside the screenshots."""
    (SHOTS / "axe-summary.json").write_text(json.dumps(runs, indent=1), encoding="utf-8")
    lines = [f"{'page':<70} " + " ".join(f"{i:>8}" for i in IMPACTS)]
    totals = dict.fromkeys(IMPACTS, 0)
    for where, violations in runs.items():
        counts = dict.fromkeys(IMPACTS, 0)
        for v in violations:
            counts[v["impact"] or "minor"] += 1
            totals[v["impact"] or "minor"] += 1
        lines.append(f"{where:<70} " + " ".join(f"{counts[i]:>8}" for i in IMPACTS))
    lines.append(f"{f'{len(runs)} page views':<70} " + " ".join(f"{totals[i]:>8}" for i in IMPACTS))
    rules = sorted({f"{v['impact']}: {v['id']}" for vs in runs.values() for v in vs})
    lines += ["", "rules seen:", *rules]
    (SHOTS / "axe-summary.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_every_page_fits_at_both_widths_and_passes_axe_in_both_languages(
    chromium: Any, market: tuple[Market, Month]
) -> None:
    m, month = market
    SHOTS.mkdir(parents=True, exist_ok=True)
    axe_source = AXE_JS.read_text(encoding="utf-8")
    found: list[str] = []
    runs: dict[str, list[dict[str, Any]]] = {}
    started = time.monotonic()
    for who, (credential, paths) in pages(m, month).items():
        page, problems = viewer_page(chromium, m, credential)
        for lang in LANGUAGES:
            page.goto(f"{m.base}/console/lang/{lang}?next=/console/sign-in")
            for width in WIDTHS:
                page.set_viewport_size({"width": width, "height": 900})
                for path in paths:
                    response = page.goto(m.base + path)
                    assert response is not None and response.status == 200, (path, response)
                    page.wait_for_load_state("load")
                    where = f"{who} {lang} {width} {path}"
                    found += [f"{where}: {p}" for p in page.evaluate(MEASURE, width >= 1280)]
                    found += [f"{where}: {p}" for p in problems]
                    problems.clear()
                    header = page.evaluate(
                        "() => document.querySelector('header.top').getBoundingClientRect().height"
                    )
                    if width < 1280 and header > PHONE_HEADER_MAX:
                        found.append(f"{where}: header {header:.0f} px > {PHONE_HEADER_MAX}")
                    if width == AXE_WIDTH:
                        runs[where] = axe(page, axe_source)
                        found += [
                            f"{where}: axe {v['impact']} {v['id']} at {v['where']}"
                            for v in runs[where]
                            if v["impact"] in FAILING
                        ]
                    page.screenshot(
                        path=str(SHOTS / f"{who}-{slug(path)}-{lang}-{width}.png"), full_page=True
                    )
        page.context.close()
    write_axe_summary(runs)
    print(f"{len(runs)} page views in {time.monotonic() - started:.1f} s; see {SHOTS}")
    assert found == [], "\n".join(found)
