"""Console figures that add up and read well, through Flask's test client: an
account's ad spend said once, a period's closing time written as a local time,
period menus that start at the first period with data, and the public pages'
defaults (the leaderboard's month, the showcase's images and title).

Layout (what fits the screen) is checked in a browser by
``test_console_fit_browser``.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from redirector.console import figures, formatting, i18n
from redirector.periods import Period
from tests import test_console
from tests.conftest import ADMIN_TOKEN, TEA_PRODUCT, Api
from tests.test_console import Month, sign_in

month = test_console.month  # March 2026 sold, Starlight's ad spend put; clock on 2 April


def cells(html: str, fig: str, scope: str) -> list[int]:
    """The raw values of every ``data-fig`` cell in the element ``id=scope``'s body."""
    body = html[html.index(f'id="{scope}"') :]
    body = body[: body.index("</tbody>")]
    return [int(v) for v in re.findall(rf'data-fig="{fig}" data-value="(-?\d+)"', body)]


def options(html: str, select: str) -> list[str]:
    menu = html[html.index(f'id="{select}"') :]
    menu = menu[: menu.index("</select>")]
    return re.findall(r'<option value="([^"]*)"', menu)


# -- pure pieces ----------------------------------------------------------------------------


def test_ad_spend_is_shown_on_each_accounts_first_line_only() -> None:
    lines = [
        {"account_type": "agency", "account_id": "moon", "ad_spend": 3000},
        {"account_type": "agency", "account_id": "moon", "ad_spend": 3000},
        {"account_type": "creator", "account_id": "frank", "ad_spend": 0},
        {"account_type": "creator", "account_id": "moon", "ad_spend": 500},  # another account
        {"account_type": "agency", "account_id": "moon", "ad_spend": 3000},  # an adjustment
    ]
    assert figures.once_per_account(lines) == [3000, None, 0, 500, None]


def test_periods_start_at_the_first_period_with_data() -> None:
    now = Period.parse("2026-04")
    assert figures.periods_since(None, now, 6) == [now]
    assert [str(p) for p in figures.periods_since(Period.parse("2026-03"), now, 6)] == [
        "2026-03",
        "2026-04",
    ]
    assert [str(p) for p in figures.periods_since(Period.parse("2020-01"), now, 3)] == [
        "2026-02",
        "2026-03",
        "2026-04",
    ]
    # ad spend put ahead for a period not begun: still the current one, at least
    assert figures.periods_since(Period.parse("2026-06"), now, 6) == [now]


# -- the statement page ---------------------------------------------------------------------


def test_the_statement_pages_ad_spend_column_adds_up_to_its_total(
    client: Any, api: Api, month: Month
) -> None:
    sign_in(client, ADMIN_TOKEN)
    html = client.get("/console/admin/statements/2026-03").get_data(as_text=True)
    doc = api.ok("GET", "/api/v1/settlements/2026-03")
    starlight = [x for x in doc["lines"] if x["account_id"] == "starlight"]
    assert len(starlight) == 2 and all(x["ad_spend"] == 1000 for x in starlight)  # per line
    shown = cells(html, "ad_spend", "statement")
    assert sum(shown) == doc["totals"]["ad_spend"] == 1000
    assert html.count('class="num same-account"') == 1
    # the other columns are the API's lines, as they were
    assert cells(html, "ad_rebate", "statement") == [x["ad_rebate"] for x in doc["lines"]]


@pytest.mark.parametrize(
    ("lang", "text"),
    [
        (i18n.EN, "it can be closed from 2026-05-01 00:00:00."),
        (i18n.ZH, "2026-05-01 00:00:00 起可关闭"),
    ],
)
def test_when_a_period_can_be_closed_is_a_local_time(
    client: Any, month: Month, lang: str, text: str
) -> None:
    sign_in(client, ADMIN_TOKEN)
    client.set_cookie(i18n.COOKIE, lang)
    html = client.get("/console/admin/statements/2026-04").get_data(as_text=True)
    assert text in html
    assert "T00:00:00" not in html and "+08:00" not in html


def test_period_menus_start_at_the_first_period_with_data(client: Any, month: Month) -> None:
    sign_in(client, ADMIN_TOKEN)
    html = client.get("/console/admin/statements/2026-03").get_data(as_text=True)
    assert options(html, "period") == ["2026-04", "2026-03"]
    # a period asked for by its address stays in the menu
    html = client.get("/console/admin/statements/2025-11").get_data(as_text=True)
    assert options(html, "period") == ["2026-04", "2026-03", "2025-11"]
    dashboard = client.get("/console/admin").get_data(as_text=True)
    assert re.findall(r'<tr data-key="(\d{4}-\d\d)"', dashboard) == ["2026-04", "2026-03"]


def test_a_creators_earnings_list_no_period_before_the_first_with_data(
    client: Any, month: Month, world: dict
) -> None:
    sign_in(client, world["alice"])
    html = client.get("/console/me/earnings").get_data(as_text=True)
    assert options(html, "period") == ["2026-04", "2026-03"]
    assert re.findall(r'<tr data-key="(\d{4}-\d\d)"', html) == ["2026-04", "2026-03"]
    # a period asked for by its address stays in the menu
    html = client.get("/console/me/earnings?period=2025-11").get_data(as_text=True)
    assert options(html, "period") == ["2026-04", "2026-03", "2025-11"]


def test_before_any_data_only_the_current_period_is_listed(client: Any, world: dict) -> None:
    sign_in(client, ADMIN_TOKEN)
    html = client.get("/console/admin/statements", follow_redirects=True).get_data(as_text=True)
    assert len(options(html, "period")) == 1
    dashboard = client.get("/console/admin").get_data(as_text=True)
    assert len(re.findall(r'<tr data-key="(\d{4}-\d\d)"', dashboard)) == 1


# -- public pages ---------------------------------------------------------------------------


def _selected(html: str) -> str:
    match = re.search(r'<option value="([^"]+)" selected', html)
    assert match, "no period selected"
    return match.group(1)


def test_the_leaderboard_page_defaults_to_the_latest_closed_period(
    client: Any, api: Api, month: Month
) -> None:
    # April (the current period) has data, March has sales: nothing closed yet,
    # the latest period with data, up to now.
    api.ok("PUT", "/api/v1/ad-spend/2026-05/starlight", {"amount": 100})  # ahead: not shown
    assert _selected(client.get("/leaderboard").get_data(as_text=True)) == "2026-03"
    api.ok("PUT", "/api/v1/ad-spend/2026-04/starlight", {"amount": 100})
    assert _selected(client.get("/leaderboard").get_data(as_text=True)) == "2026-04"
    api.ok("POST", "/api/v1/settlements/2026-03/close")
    html = client.get("/leaderboard").get_data(as_text=True)
    assert _selected(html) == "2026-03" and 'data-key="alice"' in html
    # asked for, a period is shown as asked
    assert _selected(client.get("/leaderboard?period=2026-04").get_data(as_text=True)) == "2026-04"
    # the API keeps its own default, the current period
    assert api.ok("GET", "/api/v1/leaderboard")["period"] == "2026-04"


def test_before_any_sale_the_leaderboard_shows_the_current_period(client: Any, world: dict):
    html = client.get("/leaderboard").get_data(as_text=True)
    assert _selected(html) == "2026-11"  # T0's month
    assert len(options(html, "period")) == 1


def test_the_leaderboard_page_never_shows_a_negative_gmv(
    client: Any, api: Api, month: Month
) -> None:
    api.ok("POST", "/api/v1/settlements/2026-03/close")
    # o1 settled in closed March: its refund is an adjustment in April, alice's
    # only April figure, a negative GMV
    month.send("o1", "refunded", month.clock.now(), refunded_amount=12800)
    board = api.ok("GET", "/api/v1/leaderboard?period=2026-04")
    assert [(e["creator_id"], e["gmv"]) for e in board["entries"]] == [("alice", -12800)]
    html = client.get("/leaderboard?period=2026-04").get_data(as_text=True)
    assert 'data-key="alice"' not in html and "-¥" not in html
    assert 'id="leaderboard-empty"' in html


def test_a_showcase_shows_product_images_under_its_own_title_without_staff_notes(
    client: Any, api: Api, world: dict
) -> None:
    api.link(world["alice"], "tea", "weibo")
    image = "https://item.taobao.com/img/tea.jpg"
    api.ok("PUT", "/api/v1/products/tea", {**TEA_PRODUCT, "image_url": image})
    response = client.get("/s/alice")
    html = response.get_data(as_text=True)
    assert f'<img src="{image}"' in html
    policy = response.headers["Content-Security-Policy"]
    assert "img-src 'self' data: https://item.taobao.com;" in policy
    assert "<title>Alice's showcase</title>" in html or "<title>Alice 的橱窗</title>" in html
    assert i18n.translate("app.name", i18n.EN) not in html
    assert i18n.translate("app.name", i18n.ZH) not in html
    assert "minor units" not in html and "以分为单位" not in html
    board = client.get("/leaderboard").get_data(as_text=True)
    assert "minor units" not in board and "以分为单位" not in board


def test_every_money_figure_on_the_statement_page_is_the_apis(
    client: Any, month: Month, api: Api
) -> None:
    """Line by line, figure by figure: what the page shows is the API's value,
    written as the console writes money (ad spend once per account, — after)."""
    sign_in(client, ADMIN_TOKEN)
    html = client.get("/console/admin/statements/2026-03").get_data(as_text=True)
    doc = api.ok("GET", "/api/v1/settlements/2026-03")
    rows = re.findall(r'<tr class="line[^"]*">(.*?)</tr>', html, flags=re.S)
    assert len(rows) == len(doc["lines"]) >= 2
    seen_accounts: set[str] = set()
    for row, line in zip(rows, doc["lines"], strict=True):
        cells_ = dict(
            (fig, (int(value), text))
            for fig, value, text in re.findall(
                r'data-fig="(\w+)" data-value="(-?\d+)">([^<]*)<', row
            )
        )
        for fig in ("gmv", "commission", "network", "platform", "guide"):
            assert cells_[fig] == (line[fig], formatting.money(line[fig])), fig
        for fig in ("ad_rebate", "platform_net", "guide_payable"):
            assert cells_[fig] == (line[fig], formatting.money(line[fig])), fig
        assert cells_["orders"][0] == line["orders"]
        account = f"{line['account_type']}:{line['account_id']}"
        if account in seen_accounts:
            assert "ad_spend" not in cells_ and "same-account" in row
        else:
            assert cells_["ad_spend"] == (line["ad_spend"], formatting.money(line["ad_spend"]))
        seen_accounts.add(account)
