"""The web console and the leaderboard API, through Flask's test client.

Each page is checked for who may see it (the right role sees it, nobody is
sent to sign in, the other role gets 403), for showing what the API says, and
for its protections: CSRF on every form, a strict CSP, signed sessions that a
key rotation ends. The pure pieces (money formatting, the leaderboard rule,
the catalogue) are tested directly.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest

from redirector.clock import MockClock
from redirector.console import formatting, i18n
from redirector.fraud import FraudRules
from redirector.leaderboard import leaderboard
from redirector.storefront_client import StorefrontClient
from tests.conftest import ADMIN_TOKEN, DESKTOP_CHROME, FIGURES, Api

TZ = ZoneInfo("Asia/Shanghai")
CONSOLE = Path(__file__).resolve().parent.parent / "redirector" / "console"
ADMIN_PAGES = [
    "/console/admin",
    "/console/admin/statements/2026-03",
    "/console/admin/orders",
    "/console/admin/creators",
    "/console/admin/links",
]
CREATOR_PAGES = ["/console/me", "/console/me/earnings"]
PUBLIC_PAGES = ["/leaderboard", "/s/alice", "/console/sign-in"]


# -- helpers ---------------------------------------------------------------------------------


def csrf_token(client: Any, path: str = "/console/sign-in") -> str:
    html = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def sign_in(client: Any, credential: str) -> Any:
    token = csrf_token(client)
    return client.post("/console/sign-in", data={"credential": credential, "csrf_token": token})


def figure(html: str, fig: str, scope: str | None = None) -> int:
    """The raw value of the first ``data-fig`` cell (inside the element ``id=scope``)."""
    if scope is not None:
        start = html.index(f'id="{scope}"')
        html = html[start:]
    match = re.search(rf'data-fig="{fig}" data-value="(-?\d+)"', html)
    assert match, f"no {fig} in {scope}"
    return int(match.group(1))


def shown(html: str, fig: str, scope: str) -> str:
    """The text shown in the first ``data-fig`` cell inside ``id=scope``."""
    html = html[html.index(f'id="{scope}"') :]
    match = re.search(rf'data-fig="{fig}" data-value="-?\d+">\s*(?:<[^>]+>\s*)*([^<]+)<', html)
    assert match, f"no {fig} in {scope}"
    return match.group(1).strip()


class Month:
    """Shoppers clicking the world's links and a storefront posting signed events,
    with the mock clock moved to each moment."""

    def __init__(self, api: Api, store: Any, world: dict[str, Any]) -> None:
        self.api = api
        self.clock = MockClock(store)
        self.shop = StorefrontClient(
            "taobao",
            world["shop"]["signing_secret"],
            post=lambda p, b, h: api.client.post(p, data=b, headers=h),
            clock=self.clock.now,
        )
        self.amounts: dict[str, int] = {}

    def at(self, moment: datetime) -> None:
        self.clock.set(moment)

    def click(self, link: dict[str, Any], user_agent: str = DESKTOP_CHROME) -> str:
        response = self.api.client.get(f"/r/{link['token']}", headers={"User-Agent": user_agent})
        assert response.status_code == 302
        return parse_qs(urlsplit(response.headers["Location"]).query)["rd_click"][0]

    def sale(self, order_id: str, link: dict[str, Any], amount: int, when: datetime) -> None:
        """A click, the order paid a minute later and confirmed a day later."""
        self.at(when)
        click_id = self.click(link)
        self.amounts[order_id] = amount
        self.send(order_id, "paid", when + timedelta(minutes=1), click_id=click_id)
        self.send(order_id, "confirmed", when + timedelta(days=1))

    def send(self, order_id: str, status: str, when: datetime, **extra: Any) -> dict[str, Any]:
        self.at(when)
        body = self.shop.event(order_id, status, self.amounts[order_id], when, **extra)
        response = self.shop.send(body)
        assert response.status_code == 200, response.get_json()
        return response.get_json()


@pytest.fixture
def month(api: Api, store: Any, world: dict[str, Any]) -> Month:
    """March 2026: Alice (agency Starlight) and Bob (independent) sell; a refund, a
    cancellation, ad spend; the clock ends on 2026-04-02, after March has ended."""
    m = Month(api, store, world)
    m.at(datetime(2026, 3, 1, 9, tzinfo=TZ))
    alice_weibo = api.link(world["alice"], "tea", "weibo", placement="video")
    alice_douyin = api.link(world["alice"], "cup", "douyin", placement="live")
    bob_weibo = api.link(world["bob"], "tea", "weibo", placement="article")
    m.sale("o1", alice_weibo, 12800, datetime(2026, 3, 2, 10, tzinfo=TZ))
    m.sale("o2", alice_weibo, 25600, datetime(2026, 3, 5, 10, tzinfo=TZ))
    m.sale("o3", alice_douyin, 5900, datetime(2026, 3, 6, 10, tzinfo=TZ))
    m.sale("o4", bob_weibo, 12800, datetime(2026, 3, 8, 10, tzinfo=TZ))
    m.sale("o5", bob_weibo, 12800, datetime(2026, 3, 9, 10, tzinfo=TZ))
    m.send("o2", "refunded", datetime(2026, 3, 12, 10, tzinfo=TZ), refunded_amount=5600)
    m.at(datetime(2026, 3, 14, 10, tzinfo=TZ))
    m.amounts["o6"] = 9900
    m.send("o6", "paid", datetime(2026, 3, 14, 10, tzinfo=TZ), click_id=m.click(bob_weibo))
    m.send("o6", "cancelled", datetime(2026, 3, 15, 10, tzinfo=TZ))
    m.click(alice_weibo, "curl/8.5.0")  # a bot
    api.ok("PUT", "/api/v1/ad-spend/2026-03/starlight", {"amount": 1000})
    m.at(datetime(2026, 4, 2, 10, tzinfo=TZ))
    return m


# -- pure pieces ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("minor", "text"),
    [
        (0, "¥0.00"),
        (5, "¥0.05"),
        (99, "¥0.99"),
        (100, "¥1.00"),
        (123456, "¥1,234.56"),
        (100000000, "¥1,000,000.00"),
        (-1, "-¥0.01"),
        (-123456, "-¥1,234.56"),
        (10**12, "¥10,000,000,000.00"),
    ],
)
def test_money_is_written_from_integer_fen(minor: int, text: str) -> None:
    assert formatting.money(minor) == text


def test_money_in_another_currency_names_it() -> None:
    assert formatting.money(-250, "USD") == "-USD 2.50"


@pytest.mark.parametrize(("bps", "text"), [(1500, "15%"), (1250, "12.5%"), (5, "0.05%"), (0, "0%")])
def test_rates_are_written_as_percentages(bps: int, text: str) -> None:
    assert formatting.percent_bps(bps) == text


def test_every_message_has_both_languages_and_every_key_used_exists() -> None:
    for key, (zh, en) in i18n.MESSAGES.items():
        assert zh.strip() and en.strip(), key
        assert set(re.findall(r"{(\w+)}", zh)) == set(re.findall(r"{(\w+)}", en)), key
    used = set()
    for path in [*(CONSOLE / "templates").glob("*.html"), *CONSOLE.glob("*.py")]:
        text = path.read_text(encoding="utf-8")
        used |= set(re.findall(r"""_\(['"]([a-z_]+\.[a-z_0-9.]+)['"]""", text))
        used |= set(re.findall(r"""translate\(['"]([a-z_]+\.[a-z_0-9.]+)['"]""", text))
    assert used, "the scan found no message keys"
    assert used <= set(i18n.MESSAGES), sorted(used - set(i18n.MESSAGES))
    for prefix, values in {
        "placement": ["video", "article", "image", "live"],
        "order": ["paid", "confirmed", "refunded", "cancelled"],
        "status": ["open", "closed"],
        "account": ["agency", "creator"],
    }.items():
        for value in values:
            assert f"{prefix}.{value}" in i18n.MESSAGES


def statement_of(parts: list[tuple[str, str, int, int]]) -> dict[str, Any]:
    """A statement with one line per (channel, creator, orders, gmv)."""
    return {
        "lines": [
            {"channel": channel, "creators": [{"creator_id": who, "orders": n, "gmv": gmv}]}
            for channel, who, n, gmv in parts
        ]
    }


def test_leaderboard_ranks_by_gmv_then_orders_then_id() -> None:
    doc = statement_of(
        [
            ("weibo", "dan", 3, 35600),
            ("weibo", "hank", 2, 20000),
            ("kuaishou", "hank", 0, 15600),  # an adjustment-like part: GMV without orders
            ("douyin", "erin", 5, 36400),
            ("kuaishou", "frank", 2, 39800),
            ("douyin", "amy", 3, 35600),  # ties dan on GMV and orders: by id
        ]
    )
    board = leaderboard(doc, names={"dan": "Dan"})
    assert [(e["rank"], e["creator_id"], e["orders"], e["gmv"]) for e in board] == [
        (1, "frank", 2, 39800),
        (2, "erin", 5, 36400),
        (3, "amy", 3, 35600),
        (4, "dan", 3, 35600),
        (5, "hank", 2, 35600),
    ]
    assert board[3]["name"] == "Dan" and board[0]["name"] == "frank"
    kuaishou = leaderboard(doc, channel="kuaishou")
    assert [(e["creator_id"], e["gmv"]) for e in kuaishou] == [("frank", 39800), ("hank", 15600)]
    assert [e["creator_id"] for e in leaderboard(doc, limit=2)] == ["frank", "erin"]
    assert leaderboard({"lines": []}) == []


# -- who sees what ----------------------------------------------------------------------------


@pytest.mark.parametrize("path", ADMIN_PAGES + CREATOR_PAGES)
def test_signed_out_visitors_are_sent_to_sign_in(client: Any, world: dict, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert location.path == "/console/sign-in"
    assert parse_qs(location.query)["next"] == [path]


@pytest.mark.parametrize("path", ADMIN_PAGES)
def test_admin_pages_are_for_the_admin(client: Any, world: dict, api: Api, path: str) -> None:
    api.ok("PUT", "/api/v1/clock", {"now": "2026-03-10T10:00:00+08:00"})
    assert sign_in(client, world["alice"]).status_code == 302
    assert client.get(path).status_code == 403
    client.post("/console/sign-out", data={"csrf_token": csrf_token(client, "/console/me")})
    assert sign_in(client, ADMIN_TOKEN).headers["Location"] == "/console/admin"
    response = client.get(path)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert "text/html" in response.content_type


@pytest.mark.parametrize("path", CREATOR_PAGES)
def test_creator_pages_are_for_creators(client: Any, world: dict, path: str) -> None:
    sign_in(client, ADMIN_TOKEN)
    assert client.get(path).status_code == 403
    client.post("/console/sign-out", data={"csrf_token": csrf_token(client, "/console/admin")})
    assert sign_in(client, world["bob"]).headers["Location"] == "/console/me"
    assert client.get(path).status_code == 200


@pytest.mark.parametrize("path", PUBLIC_PAGES)
def test_public_pages_need_no_sign_in(client: Any, world: dict, path: str) -> None:
    assert client.get(path).status_code == 200


def test_a_bad_credential_is_refused_and_signing_out_ends_the_session(
    client: Any, world: dict
) -> None:
    response = sign_in(client, "rdk_not-a-key")
    assert response.status_code == 401
    assert "not a valid admin token or API key" in response.get_data(as_text=True) or (
        "令牌或密钥无效" in response.get_data(as_text=True)
    )
    assert client.get("/console/me").status_code == 302
    sign_in(client, world["alice"])
    assert client.get("/console/me").status_code == 200
    token = csrf_token(client, "/console/me")
    assert client.post("/console/sign-out", data={"csrf_token": token}).status_code == 302
    assert client.get("/console/me").status_code == 302


def test_sign_in_goes_back_to_the_page_asked_for_but_never_off_site(
    client: Any, world: dict
) -> None:
    token = csrf_token(client)
    form = {"credential": ADMIN_TOKEN, "csrf_token": token, "next": "/console/admin/links"}
    assert client.post("/console/sign-in", data=form).headers["Location"] == "/console/admin/links"
    for evil in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
        form.update(next=evil, csrf_token=csrf_token(client))  # a sign-in starts a new session
        assert client.post("/console/sign-in", data=form).headers["Location"] == "/console/admin"


def test_the_session_keeps_no_credential_and_a_key_rotation_signs_out(
    client: Any, world: dict, api: Api
) -> None:
    sign_in(client, world["alice"])
    cookie = client.get_cookie("rd_console")
    assert cookie is not None and cookie.http_only and cookie.same_site == "Lax"
    import base64
    import zlib

    payload = cookie.value.lstrip(".").split(".")[0]
    raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    if cookie.value.startswith("."):
        raw = zlib.decompress(raw)
    assert world["alice"].encode() not in raw and ADMIN_TOKEN.encode() not in raw
    assert client.get("/console/me").status_code == 200
    api.ok("POST", "/api/v1/creators/alice/api-key")
    assert client.get("/console/me").status_code == 302


def test_a_session_signed_with_another_key_is_refused(app: Any, client: Any, world: dict) -> None:
    sign_in(client, ADMIN_TOKEN)
    assert client.get("/console/admin").status_code == 200
    app.config["SECRET_KEY"] = "another-key-entirely-0123456789"
    app.config["SECRET_KEY_FALLBACKS"] = []
    assert client.get("/console/admin").status_code == 302


# -- CSRF and security headers ---------------------------------------------------------------


def test_forms_without_the_csrf_token_are_refused(client: Any, world: dict, api: Api) -> None:
    response = client.post("/console/sign-in", data={"credential": ADMIN_TOKEN})
    assert response.status_code == 400
    assert client.get("/console/admin").status_code == 302  # not signed in
    sign_in(client, world["bob"])
    response = client.post(
        "/console/me/links", data={"product_id": "tea", "channel": "weibo", "csrf_token": "x"}
    )
    assert response.status_code == 400
    assert api.ok("GET", "/api/v1/links", token=world["bob"])["links"] == []
    response = client.post("/console/sign-out")
    assert response.status_code == 400
    assert client.get("/console/me").status_code == 200  # still signed in


def test_the_json_api_and_callbacks_stay_exempt_from_csrf(
    client: Any, store: Any, world: dict, api: Api
) -> None:
    sign_in(client, world["bob"])  # a console session in the same client changes nothing
    assert api.link(world["bob"])["id"]
    month = Month(api, store, world)
    month.amounts["x1"] = 100
    assert month.send("x1", "paid", month.clock.now())["status"] == "paid"


def test_console_pages_carry_a_strict_csp_and_refuse_framing(client: Any, world: dict) -> None:
    sign_in(client, ADMIN_TOKEN)
    for path in [*ADMIN_PAGES, *PUBLIC_PAGES, "/console/static/console.css"]:
        response = client.get(path)
        csp = response.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp, path
        assert "frame-ancestors 'none'" in csp
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_pages_have_no_inline_script_and_load_nothing_from_another_host(
    client: Any, world: dict, api: Api
) -> None:
    api.link(world["alice"])
    sign_in(client, ADMIN_TOKEN)
    pages = [*ADMIN_PAGES, *PUBLIC_PAGES]
    creator = client.application.test_client()
    sign_in(creator, world["alice"])
    for who, path in [(client, p) for p in pages] + [(creator, p) for p in CREATOR_PAGES]:
        html = who.get(path).get_data(as_text=True)
        for tag in re.findall(r"<script\b[^>]*>", html):
            assert re.search(r'src="/console/static/[\w.]+\.js"', tag), (path, tag)
        assert not re.search(r"<script\b[^>]*>\s*[^<\s]", html), path
        assert not re.search(r"""src=["']?(https?:)?//""", html), path
        assert not re.search(r"""<link\b[^>]*href=["']?(https?:)?//""", html), path
        assert " on" + "click=" not in html and "style=" not in html, path


def test_chart_js_is_shipped_with_its_licence_and_version(client: Any) -> None:
    response = client.get("/console/static/chart.umd.js")
    assert response.status_code == 200
    head = response.get_data()[:200].decode()
    assert "Chart.js v4.6.1" in head and "MIT" in head
    assert (CONSOLE / "static" / "chart.js.LICENSE.md").is_file()
    assert "Chart.js 4.6.1" in (CONSOLE / "templates" / "macros.html").read_text()


# -- language ----------------------------------------------------------------------------------


def test_language_follows_accept_language_then_the_switch(client: Any, world: dict) -> None:
    assert "达人销量榜" in client.get("/leaderboard").get_data(as_text=True)
    english = {"Accept-Language": "en-US,en;q=0.9"}
    page = client.get("/leaderboard", headers=english).get_data(as_text=True)
    assert "Sales leaderboard" in page and '<html lang="en">' in page
    chinese = {"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"}
    assert '<html lang="zh-CN">' in client.get("/leaderboard", headers=chinese).get_data(
        as_text=True
    )

    response = client.get("/console/lang/zh-CN?next=/leaderboard%3Fchannel%3Dweibo")
    assert response.headers["Location"] == "/leaderboard?channel=weibo"
    set_cookie = response.headers["Set-Cookie"]
    assert "rd_lang=zh-CN" in set_cookie and "SameSite=Lax" in set_cookie
    assert "达人销量榜" in client.get("/leaderboard", headers=english).get_data(as_text=True)
    client.get("/console/lang/en")
    assert "Sales leaderboard" in client.get("/leaderboard").get_data(as_text=True)
    assert client.get("/console/lang/en?next=//evil.example").headers["Location"] == "/console/"
    client.get("/console/lang/fr")  # unknown: ignored
    assert client.get_cookie("rd_lang").value == "en"


# -- creators' pages -------------------------------------------------------------------------


def test_a_creator_makes_a_link_with_the_form_as_the_api_would(
    client: Any, world: dict, api: Api
) -> None:
    sign_in(client, world["alice"])
    token = csrf_token(client, "/console/me")
    form = {
        "csrf_token": token,
        "product_id": "cup",
        "channel": "douyin",
        "placement": "live",
        "post_id": "7301",
    }
    response = client.post("/console/me/links", data=form)
    assert response.status_code == 302
    made = api.ok("GET", "/api/v1/links", token=world["alice"])["links"]
    assert len(made) == 1
    link = made[0]
    assert (link["product_id"], link["channel"], link["placement"], link["post_id"]) == (
        "cup",
        "douyin",
        "live",
        "7301",
    )
    assert response.headers["Location"].endswith(f"new={link['id']}#link-{link['id']}")
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert link["url"] in html  # the same signed URL the API hands out, with its copy button
    assert f'data-copy="#url-{link["id"]}"' in html

    bad = client.post("/console/me/links", data={**form, "channel": "myspace"})
    html = client.get(bad.headers["Location"]).get_data(as_text=True)
    assert "unknown channel" in html
    bad = client.post("/console/me/links", data={**form, "post_id": "no spaces"})
    assert "帖子 ID: String should match pattern" in client.get(bad.headers["Location"]).get_data(
        as_text=True
    )
    assert len(api.ok("GET", "/api/v1/links", token=world["alice"])["links"]) == 1


def test_a_creator_sees_only_its_own_links_and_counts(client: Any, world: dict, api: Api) -> None:
    mine = api.link(world["alice"])
    theirs = api.link(world["bob"])
    for _ in range(3):
        client.get(f"/r/{mine['token']}", headers={"User-Agent": DESKTOP_CHROME})
    sign_in(client, world["alice"])
    html = client.get("/console/me").get_data(as_text=True)
    assert mine["id"] in html and theirs["id"] not in html
    stats = api.ok("GET", f"/api/v1/links/{mine['id']}", token=world["alice"])["stats"]
    assert stats["clicks"] == 3
    assert figure(html, "clicks", f"link-{mine['id']}") == 3
    assert figure(html, "unique_clicks", f"link-{mine['id']}") == stats["unique_clicks"]
    token = csrf_token(client, "/console/me")
    other = client.post(f"/console/me/links/{theirs['id']}/disable", data={"csrf_token": token})
    assert other.status_code == 404
    assert api.ok("GET", f"/api/v1/links/{theirs['id']}")["active"] is True
    client.post(f"/console/me/links/{mine['id']}/disable", data={"csrf_token": token})
    assert api.ok("GET", f"/api/v1/links/{mine['id']}")["active"] is False


def test_creator_earnings_show_the_apis_figures(client: Any, world: dict, api: Api, month: Month):
    sign_in(client, world["alice"])
    for period in ("2026-03", "2026-04"):
        html = client.get(f"/console/me/earnings?period={period}").get_data(as_text=True)
        expected = api.ok(
            "GET", f"/api/v1/creators/alice/earnings?period={period}", token=world["alice"]
        )
        for name in ("orders", "gmv", "commission"):
            assert figure(html, name, "earnings-totals") == expected[name]
        assert shown(html, "gmv", "earnings-totals") == formatting.money(expected["gmv"])
    assert client.get("/console/me/earnings?period=2026-13").status_code == 422


# -- admin pages -----------------------------------------------------------------------------


def test_the_dashboard_adds_up_what_the_api_says(client: Any, world: dict, api: Api, month: Month):
    sign_in(client, ADMIN_TOKEN)
    html = client.get("/console/admin?days=90").get_data(as_text=True)
    items = api.ok("GET", "/api/v1/links?limit=1000")["links"]
    for name in ("clicks", "unique_clicks", "bot_clicks", "orders", "gmv", "commission"):
        total = sum(link["stats"][name] for link in items)
        assert figure(html, name, "all-time") == total, name
    assert shown(html, "gmv", "all-time") == formatting.money(sum(x["stats"]["gmv"] for x in items))
    march = api.ok("GET", "/api/v1/settlements/2026-03")
    april = api.ok("GET", "/api/v1/settlements/2026-04")
    for name in ("orders", "gmv", "commission", "guide_payable"):
        assert figure(html, name, "this-period") == april["totals"][name]
    row = html[html.index('data-key="2026-03"') :]
    for name in ("orders", "gmv", "commission", "guide_payable"):
        assert figure(row, name) == march["totals"][name]
    weibo = [x for x in items if x["channel"] == "weibo"]
    row = html[html.index('id="by-channel"') :]
    row = row[row.index('data-key="weibo"') :]
    assert figure(row, "gmv") == sum(x["stats"]["gmv"] for x in weibo)
    assert html.count("<canvas") == 5 and html.count("data-chart=") == 5


def test_the_statement_page_is_the_apis_statement(client: Any, world: dict, api: Api, month):
    sign_in(client, ADMIN_TOKEN)
    html = client.get("/console/admin/statements/2026-03").get_data(as_text=True)
    doc = api.ok("GET", "/api/v1/settlements/2026-03")
    assert doc["totals"]["ad_rebate"] > 0  # the month has a rebate to show
    for name in FIGURES:
        assert figure(html, name, "statement-totals") == doc["totals"][name], name
        assert shown(html, name, "statement-totals") in (
            formatting.money(doc["totals"][name]),
            formatting.count(doc["totals"][name]),
        )
    assert html.count('class="line') == len(doc["lines"])

    csv = client.get("/console/admin/statements/2026-03/csv")
    api_csv = api.call("GET", "/api/v1/settlements/2026-03?format=csv")
    assert csv.data == api_csv.data
    assert csv.headers["Content-Disposition"] == api_csv.headers["Content-Disposition"]

    close = client.post(
        "/console/admin/statements/2026-03/close",
        data={"csrf_token": csrf_token(client, "/console/admin/statements/2026-03")},
    )
    assert close.status_code == 302
    assert api.ok("GET", "/api/v1/settlements/2026-03")["status"] == "closed"
    html = client.get("/console/admin/statements/2026-03").get_data(as_text=True)
    assert 'id="close-period"' not in html
    again = client.post(
        "/console/admin/statements/2026-03/close",
        data={"csrf_token": csrf_token(client, "/console/admin/statements/2026-04")},
    )
    assert again.status_code == 409  # already closed: the API's answer, as a page
    # April has not ended: no close button
    html = client.get("/console/admin/statements/2026-04").get_data(as_text=True)
    assert 'id="close-period"' not in html


def test_an_orders_history_is_shown(client: Any, world: dict, api: Api, month: Month) -> None:
    sign_in(client, ADMIN_TOKEN)
    listing = client.get("/console/admin/orders").get_data(as_text=True)
    assert "/console/admin/orders/taobao/o2" in listing
    lookup = client.get("/console/admin/orders?order_no=o2")  # the number alone
    assert lookup.headers["Location"] == "/console/admin/orders/taobao/o2"
    html = client.get("/console/admin/orders/taobao/o2").get_data(as_text=True)
    order = api.ok("GET", "/api/v1/orders/taobao/o2")
    assert html.count('<tr class="applied">') == len(order["history"]) == 3
    assert figure(html, "refunded_amount") == order["refunded_amount"] == 5600
    assert figure(html, "commission") == order["commission"]
    assert client.get("/console/admin/orders/taobao/nope").status_code == 404
    assert client.get("/console/admin/orders/taobao/bad%20id").status_code == 404


def test_creators_and_links_pages_list_the_registry(client: Any, world: dict, api: Api) -> None:
    link = api.link(world["bob"], "cup", "kuaishou")
    sign_in(client, ADMIN_TOKEN)
    html = client.get("/console/admin/creators").get_data(as_text=True)
    assert "Alice" in html and "Bob" in html and "Starlight MCN" in html
    html = client.get("/console/admin/links?creator_id=bob").get_data(as_text=True)
    assert link["id"] in html
    assert link["id"] not in client.get("/console/admin/links?creator_id=alice").get_data(
        as_text=True
    )


def test_suspicious_clicks_are_shown_beside_the_clicks_with_what_they_mean(
    app: Any, client: Any, world: dict, api: Api
) -> None:
    link = api.link(world["alice"])
    shopper = app.test_client()  # one device (its rd_did cookie) clicking too often
    for _ in range(FraudRules().max_clicks_per_device + 1):
        response = shopper.get(f"/r/{link['token']}", headers={"User-Agent": DESKTOP_CHROME})
        assert response.status_code == 302
    stats = api.ok("GET", f"/api/v1/links/{link['id']}")["stats"]
    assert (stats["clicks"], stats["suspicious_clicks"]) == (
        FraudRules().max_clicks_per_device + 1,
        1,
    )

    def row(html: str, key: str) -> str:
        return html[html.index(f'data-key="{key}"') :]

    sign_in(client, ADMIN_TOKEN)
    english = {"Accept-Language": "en-US,en;q=0.9"}
    for path, key in [("/console/admin/links", link["id"]), ("/console/admin/creators", "alice")]:
        html = client.get(path).get_data(as_text=True)
        assert figure(row(html, key), "suspicious_clicks") == 1, path
        assert figure(row(html, key), "clicks") == stats["clicks"], path
        assert "可疑点击" in html and "暂扣待审" in html, path
        html = client.get(path, headers=english).get_data(as_text=True)
        assert "Suspicious clicks" in html and "held for review" in html, path
    html = client.get("/console/admin").get_data(as_text=True)
    assert figure(html, "suspicious_clicks", "all-time") == 1

    creator = app.test_client()
    sign_in(creator, world["alice"])
    html = creator.get("/console/me").get_data(as_text=True)
    assert figure(html, "suspicious_clicks", f"link-{link['id']}") == 1
    assert figure(html, "suspicious_clicks", "my-totals") == 1
    assert "可疑点击" in html and "暂扣待审" in html


# -- public pages and the leaderboard API ------------------------------------------------------


def test_the_showcase_offers_each_active_product_once_through_a_tracking_link(
    client: Any, world: dict, api: Api
) -> None:
    assert 'id="showcase-empty"' in client.get("/s/alice").get_data(as_text=True)
    api.ok("PUT", "/api/v1/clock", {"now": "2026-03-10T10:00:00+08:00"})
    api.link(world["alice"], "tea", "weibo")
    api.ok("PUT", "/api/v1/clock", {"now": "2026-03-10T10:05:00+08:00"})
    newest_tea = api.link(world["alice"], "tea", "douyin")
    cup = api.link(world["alice"], "cup", "weibo")
    html = client.get("/s/alice").get_data(as_text=True)
    assert html.count('class="card product"') == 2
    assert newest_tea["url"] in html and cup["url"] in html
    api.ok("DELETE", f"/api/v1/links/{cup['id']}")
    html = client.get("/s/alice").get_data(as_text=True)
    assert html.count('class="card product"') == 1 and cup["url"] not in html
    assert client.get("/s/nobody").status_code == 404
    assert client.get("/s/NOT-A-SLUG").status_code == 404


def test_the_leaderboard_api_ranks_creators_by_settled_gmv(
    client: Any, world: dict, api: Api, month: Month
) -> None:
    board = client.get("/api/v1/leaderboard?period=2026-03").get_json()  # no credentials
    assert board["period"] == "2026-03" and board["channel"] is None
    # Alice: 12800 + (25600 - 5600) + 5900 = 38700 in 3 orders; Bob: 2 × 12800 (o6 cancelled).
    assert [
        (e["rank"], e["creator_id"], e["name"], e["orders"], e["gmv"]) for e in board["entries"]
    ] == [
        (1, "alice", "Alice", 3, 38700),
        (2, "bob", "Bob", 2, 25600),
    ]
    weibo = client.get("/api/v1/leaderboard?period=2026-03&channel=weibo").get_json()
    assert [(e["creator_id"], e["gmv"]) for e in weibo["entries"]] == [
        ("alice", 32800),
        ("bob", 25600),
    ]
    douyin = client.get("/api/v1/leaderboard?period=2026-03&channel=douyin").get_json()
    assert [(e["creator_id"], e["gmv"]) for e in douyin["entries"]] == [("alice", 5900)]
    limited = client.get("/api/v1/leaderboard?period=2026-03&limit=1").get_json()
    assert [e["creator_id"] for e in limited["entries"]] == ["alice"]
    current = client.get("/api/v1/leaderboard").get_json()
    assert current["period"] == "2026-04" and current["entries"] == []

    page = client.get("/leaderboard?period=2026-03").get_data(as_text=True)
    assert re.findall(r'<tr data-key="([a-z0-9_-]+)" class="rank-', page) == ["alice", "bob"]
    page = client.get("/leaderboard?period=2026-03&channel=douyin").get_data(as_text=True)
    assert re.findall(r'<tr data-key="([a-z0-9_-]+)" class="rank-', page) == ["alice"]


@pytest.mark.parametrize(
    "query",
    ["period=2026-13", "period=26-03", "period=2999-01", "channel=myspace", "limit=0", "limit=x"],
)
def test_the_leaderboard_api_refuses_bad_queries(client: Any, query: str) -> None:
    response = client.get(f"/api/v1/leaderboard?{query}")
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["error"]["code"]


def test_the_leaderboard_is_in_the_openapi_document(client: Any) -> None:
    doc = client.get("/openapi.json").get_json()
    operation = doc["paths"]["/api/v1/leaderboard"]["get"]
    assert {p["name"] for p in operation["parameters"]} >= {"period", "channel", "limit"}
    assert "200" in operation["responses"] and "422" in operation["responses"]
    assert not operation.get("security")
