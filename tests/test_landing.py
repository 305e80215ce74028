"""Landing rules and the landing page (docs/landing.md): where a phone's click
goes by the in-app browser it was made in, and the page WeChat and QQ get.

The rules are read from TOML files the tests write; the clicks are real user
agents (``tests/user_agents.py``). Each story checks what was recorded too.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import redis
from click.testing import CliRunner
from werkzeug.test import Client

import redirector.cli
from redirector import click_batches, clicks, create_app, registry
from redirector.config import Settings
from redirector.console import landing as landing_page
from redirector.console.views import CSP
from redirector.errors import ConfigError, StoreUnavailable
from redirector.extension import context_of
from redirector.in_app import APPS
from redirector.landing import PHONE_PLATFORMS, LandingRules, Route, load_landing_rules
from redirector.simulate.traffic import page_destination
from redirector.store import STORE_AWAY
from tests.conftest import DESKTOP_CHROME, TEA_APP, TEA_PRODUCT, TEA_WEB, Api
from tests.servers import wait_until
from tests.user_agents import IN_APP, WECHAT_HARMONYOS, WECHAT_WINDOWS

SHIPPED = Path(__file__).resolve().parent.parent / "config" / "landing.toml"
WECHAT_IOS = IN_APP["wechat", "ios"]
WECHAT_ANDROID = IN_APP["wechat", "android"]
QQ_ANDROID = IN_APP["qq", "android"]
WEIBO_IOS = IN_APP["weibo", "ios"]
CUP_WEB = "https://detail.tmall.com/item.htm?id=9#reviews"
ANDROID_CHROME = (
    "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Mobile Safari/537.36"
)
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
IMAGE = "https://img.alicdn.com/imgextra/tea.jpg"
SHARE_CODE = "￥AbC123￥"
# The shipped table, as docs/landing.md states it.
LANDING_APPS = {"wechat", "qq"}


# -- helpers ----------------------------------------------------------------------


def click(client: Any, link: dict[str, Any], ua: str, **kw: Any) -> Any:
    headers = {"User-Agent": ua, **kw.pop("headers", {})}
    return client.open(f"/r/{link['token']}", method=kw.pop("method", "GET"), headers=headers)


def click_id_of(url: str) -> str:
    return parse_qs(urlsplit(url).query)["rd_click"][-1]


def stats(api: Api, link: dict[str, Any]) -> tuple[int, int, int]:
    got = api.ok("GET", f"/api/v1/links/{link['id']}")["stats"]
    return got["clicks"], got["unique_clicks"], got["bot_clicks"]


def page_links(html: str) -> dict[str, str]:
    """The page's links by id, their ``&amp;`` undone."""
    found = re.findall(r'<a [^>]*id="([a-z-]+)" href="([^"]+)"', html)
    return {name: href.replace("&amp;", "&") for name, href in found}


def rules_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "landing.toml"
    path.write_text(text, encoding="utf-8")
    return path


def app_with_rules(env: dict[str, str], store: Any, path: Path) -> Any:
    settings = Settings.from_env({**env, "REDIRECTOR_LANDING": str(path)})
    return create_app(settings, store=store, test_config={"TESTING": True})


@pytest.fixture
def tea(api: Api, world: dict[str, Any]) -> dict[str, Any]:
    """Alice's link to the tea, which has an app deep link, an image and a share code."""
    api.ok("PUT", "/api/v1/products/tea", {**TEA_PRODUCT, "share_code": SHARE_CODE})
    return api.link(world["alice"], product_id="tea")


@pytest.fixture
def env_with_images(env: dict[str, str]) -> dict[str, str]:
    env["REDIRECTOR_IMAGE_HOSTS"] = "img.alicdn.com"
    return env


# -- the rules, read from the table ------------------------------------------------


def test_the_shipped_table_sends_wechat_and_qq_to_landing_and_other_phones_to_the_app() -> None:
    rules = load_landing_rules(SHIPPED)

    for app in (None, *APPS):
        for platform in PHONE_PLATFORMS:
            expected = "landing" if app in LANDING_APPS else "app"
            assert rules.route(app, platform) == Route(expected), (app, platform)
    assert Settings.from_env({}).landing == rules  # the shipped file is the default


def test_desktops_and_other_platforms_are_never_routed_by_the_table() -> None:
    rules = load_landing_rules(SHIPPED)

    assert rules.route("wechat", "desktop").action == "web"
    assert rules.route(None, "other").action == "web"


def test_a_storefront_row_beats_the_table_and_the_table_app_row_beats_a_storefront_default(
    tmp_path: Path,
) -> None:
    rules = load_landing_rules(
        rules_file(
            tmp_path,
            """
            [default]
            ios = "app"
            android = "app"
            [apps]
            wechat = { ios = "landing", android = "landing" }
            weibo = { android = "app" }
            [storefronts.youzan.apps]
            wechat = { ios = "web", android = "web" }
            [storefronts.youzan.default]
            android = "web"
            """,
        )
    )

    assert rules.action("wechat", "ios", "youzan") == "web"
    assert rules.action("wechat", "ios", "taobao") == "landing"
    assert rules.action("weibo", "android", "youzan") == "app"  # the app's row first
    assert rules.action("weibo", "ios", "youzan") == "app"  # no weibo ios: the defaults
    assert rules.action(None, "android", "youzan") == "web"
    assert rules.action(None, "android", "taobao") == "app"
    # Worked out once: the route names only the storefront that differs.
    assert rules.route("wechat", "android") == Route("landing", {"youzan": "web"})
    assert rules.route("wechat", "android").at("youzan") == "web"
    assert rules.route("kuaishou", "ios") == Route("app")


def test_harmonyos_reads_android_unless_a_row_names_it(tmp_path: Path) -> None:
    rules = load_landing_rules(
        rules_file(
            tmp_path,
            """
            [apps]
            wechat = { android = "landing" }
            qq = { android = "landing", harmonyos = "web" }
            """,
        )
    )

    assert rules.route("wechat", "harmonyos").action == "landing"
    assert rules.route("qq", "harmonyos").action == "web"
    assert rules.route("wechat", "ios").action == "app"  # no row names it: app


def test_no_file_sends_every_phone_to_the_app() -> None:
    rules = LandingRules()

    assert {rules.route(app, p).action for app in (None, *APPS) for p in PHONE_PLATFORMS} == {"app"}


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("[apps]\nwechatt = { ios = 'web' }\n", r"apps\.wechatt is not an in-app browser"),
        ("[apps]\nwechat = { windows = 'web' }\n", r"apps\.wechat\.windows: platforms are"),
        ("[apps]\nwechat = { ios = 'page' }\n", r"apps\.wechat\.ios = 'page': actions are"),
        ("[default]\nios = 1\n", r"default\.ios = 1: actions are"),
        ("[phones]\nios = 'app'\n", r"unknown table \[phones\]"),
        ("apps = 'wechat'\n", r"apps must be a table"),
        ("[storefronts.Tao_bao.apps]\nqq = { ios = 'web' }\n", r"Tao_bao is not a storefront"),
        ("[storefronts.taobao.apps]\nqqq = { ios = 'web' }\n", r"storefronts\.taobao\.apps\.qqq"),
        ("[storefronts.taobao]\nweb = 1\n", r"unknown table \[storefronts\.taobao\.web\]"),
        ("[apps\n", r"not valid TOML"),
    ],
)
def test_a_bad_table_stops_the_start_naming_the_file_and_the_entry(
    tmp_path: Path, text: str, complaint: str
) -> None:
    path = rules_file(tmp_path, text)

    with pytest.raises(ConfigError, match=rf"^REDIRECTOR_LANDING={re.escape(str(path))}: "):
        Settings.from_env({"REDIRECTOR_LANDING": str(path)})
    with pytest.raises(ConfigError, match=complaint):
        Settings.from_env({"REDIRECTOR_LANDING": str(path)})


def test_serve_stops_on_a_bad_table_with_one_line(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.toml"
    env = {"REDIRECTOR_LANDING": str(missing), "REDIS_URL": "", "REDIS_CLUSTER_URL": ""}

    result = CliRunner().invoke(redirector.cli.main, ["serve"], env=env)

    assert result.exit_code == 2
    assert result.output == (
        f"redirector: configuration error: REDIRECTOR_LANDING={missing}: cannot read "
        "(No such file or directory)\n"
    )


# -- where each app's click goes -----------------------------------------------------


@pytest.mark.parametrize(
    ("in_app", "platform", "ua"),
    [pytest.param(a, p, ua, id=f"{a}-{p}") for (a, p), ua in IN_APP.items()],
)
def test_each_app_on_each_platform_gets_the_shipped_action(
    client: Any, api: Api, tea: dict[str, Any], in_app: str, platform: str, ua: str
) -> None:
    response = click(client, tea, ua)

    if in_app in LANDING_APPS:
        assert response.status_code == 200
        assert "Location" not in response.headers
        assert f'data-app="{in_app}" data-platform="{platform}"' in response.text
    else:
        assert response.status_code == 302
        assert response.headers["Location"].startswith(TEA_APP + "&rd_click=")
    assert stats(api, tea) == (1, 1, 0)


def test_harmonyos_wechat_gets_the_landing_page(client: Any, tea: dict[str, Any]) -> None:
    response = click(client, tea, WECHAT_HARMONYOS)

    assert response.status_code == 200
    assert 'data-platform="harmonyos"' in response.text


def test_desktop_wechat_goes_to_the_web_url(client: Any, api: Api, tea: dict[str, Any]) -> None:
    response = click(client, tea, WECHAT_WINDOWS)

    assert response.status_code == 302
    assert response.headers["Location"].startswith(TEA_WEB + "&rd_click=")
    assert stats(api, tea) == (1, 1, 0)


def test_a_product_without_an_app_url_falls_back_to_the_web_url(
    client: Any, api: Api, world: dict[str, Any]
) -> None:
    cup = api.link(world["alice"], product_id="cup")

    response = click(client, cup, WEIBO_IOS)

    assert response.status_code == 302
    assert response.headers["Location"] == CUP_WEB.replace(
        "#", f"&rd_click={click_id_of(response.headers['Location'])}#"
    )


@pytest.mark.parametrize(
    ("ua", "headers", "method", "label"),
    [
        pytest.param(WECHAT_IOS, {}, "HEAD", "bot/head", id="head"),
        pytest.param(WECHAT_ANDROID, {"Sec-Purpose": "prefetch"}, "GET", "bot/prefetch", id="pf"),
        pytest.param(WECHAT_IOS, {"Sec-Fetch-Dest": "image"}, "GET", "bot/image", id="img"),
        pytest.param(GOOGLEBOT, {}, "GET", "bot/crawler", id="crawler"),
    ],
)
def test_bots_get_the_302_to_the_web_url_even_from_wechat(
    client: Any, api: Api, tea: dict[str, Any], ua: str, headers: dict, method: str, label: str
) -> None:
    response = click(client, tea, ua, headers=headers, method=method)

    assert response.status_code == 302
    assert response.headers["Location"].startswith(TEA_WEB + "&rd_click=")
    assert "Set-Cookie" not in response.headers
    assert stats(api, tea) == (0, 0, 1)
    recorded = clicks.get_click(api_store(api), click_id_of(response.headers["Location"]))
    assert recorded is not None and recorded.bot and recorded.user_agent == label


def api_store(api: Api) -> Any:
    return context_of(api.client.application).store


def test_a_disabled_link_answers_410_in_wechat_too(client: Any, api: Api, tea: dict) -> None:
    api.ok("DELETE", f"/api/v1/links/{tea['id']}")

    response = click(client, tea, WECHAT_IOS)

    assert response.status_code == 410
    assert 'id="open-hint"' not in response.text


def test_a_storefront_override_changes_only_its_products(
    env: dict[str, str], store: Any, clock: Any, tmp_path: Path
) -> None:
    path = rules_file(
        tmp_path,
        """
        [apps]
        wechat = { ios = "landing", android = "landing" }
        [storefronts.youzan.apps]
        wechat = { ios = "web", android = "web" }
        [storefronts.youzan.default]
        android = "web"
        """,
    )
    app = app_with_rules(env, store, path)
    api = Api(app.test_client())
    world = api.world()
    api.ok("PUT", "/api/v1/storefronts/youzan", {"name": "Youzan", "hosts": ["shop.youzan.com"]})
    scarf_web = "https://shop.youzan.com/v2/goods/scarf"
    api.ok(
        "PUT",
        "/api/v1/products/scarf",
        {
            "storefront_id": "youzan",
            "title": "Silk scarf",
            "price": 25900,
            "commission_rate_bps": 1200,
            "web_url": scarf_web,
        },
    )
    tea = api.link(world["alice"], product_id="tea")
    scarf = api.link(world["alice"], product_id="scarf")
    shopper = app.test_client()

    assert click(shopper, scarf, WECHAT_IOS).headers["Location"].startswith(scarf_web + "?rd_")
    assert click(shopper, tea, WECHAT_IOS).status_code == 200
    assert click(shopper, scarf, ANDROID_CHROME).headers["Location"].startswith(scarf_web)
    assert click(shopper, tea, ANDROID_CHROME).headers["Location"].startswith(TEA_APP)


# -- the landing page ----------------------------------------------------------------


def test_the_page_in_chinese_shows_the_product_the_code_and_how_to_leave_wechat(
    env_with_images: dict[str, str], client: Any, api: Api, tea: dict[str, Any]
) -> None:
    api.ok("PUT", "/api/v1/products/tea", {**TEA_PRODUCT, "share_code": SHARE_CODE,
                                          "image_url": IMAGE})  # fmt: skip

    response = click(client, tea, WECHAT_ANDROID, headers={"Accept-Language": "zh-CN,zh;q=0.9"})

    html = response.text
    assert response.status_code == 200 and response.mimetype == "text/html"
    assert '<html lang="zh-CN">' in html
    assert '<h1 id="product-title">Longjing tea 250g</h1>' in html
    assert '<p class="price" id="product-price">¥128.00</p>' in html
    assert f'<img class="product-image" id="product-image" src="{IMAGE}"' in html
    assert f'value="{SHARE_CODE}"' in html and 'data-copy="#share-code"' in html
    assert "复制口令" in html
    assert "微信内无法直接打开商店" in html
    assert "点击右上角的「···」" in html and "选择「在浏览器打开」" in html  # WeChat, Android
    assert "打开 App 购买" in html and "打开网页购买" in html


def test_the_page_in_english_worded_for_qq_on_android(client: Any, tea: dict[str, Any]) -> None:
    response = click(client, tea, QQ_ANDROID, headers={"Accept-Language": "en-US,en;q=0.8"})

    html = response.text
    assert '<html lang="en">' in html
    assert "QQ does not open the shop directly" in html
    assert "Tap ··· at the top right" in html and "Choose Open in browser" in html
    assert "Copy the code" in html and "Open in the app" in html
    assert "Longjing tea 250g" in html and "¥128.00" in html


def test_the_page_worded_for_wechat_on_ios(client: Any, tea: dict[str, Any]) -> None:
    zh = click(client, tea, WECHAT_IOS, headers={"Accept-Language": "zh-CN"}).text
    en = click(client, tea, WECHAT_IOS, headers={"Accept-Language": "en"}).text

    assert "选择「在Safari中打开」" in zh
    assert "Choose Open in Safari" in en


def test_the_page_links_go_straight_to_the_destination_with_the_recorded_click(
    client: Any, api: Api, tea: dict[str, Any]
) -> None:
    response = click(client, tea, WECHAT_IOS)

    links = page_links(response.text)
    click_id = click_id_of(links["open-destination"])
    assert links["open-destination"] == f"{TEA_APP}&rd_click={click_id}"
    assert links["open-web"] == f"{TEA_WEB}&rd_click={click_id}"
    recorded = clicks.get_click(api_store(api), click_id)
    assert recorded is not None
    assert (recorded.link_id, recorded.user_agent, recorded.bot, recorded.unique) == (
        tea["id"],
        "ios/wechat",
        False,
        True,
    )


def test_without_an_app_url_the_page_has_one_button_to_the_web_url(
    client: Any, api: Api, world: dict[str, Any]
) -> None:
    cup = api.link(world["alice"], product_id="cup")

    response = click(client, cup, WECHAT_IOS, headers={"Accept-Language": "en"})

    links = page_links(response.text)
    assert set(links) == {"open-destination"}
    click_id = click_id_of(links["open-destination"])
    assert links["open-destination"] == CUP_WEB.replace("#", f"&rd_click={click_id}#")
    assert "Open the web page" in response.text
    assert 'id="share"' not in response.text and "<img" not in response.text


def test_each_page_view_is_one_click_under_the_302_rules(
    client: Any, api: Api, tea: dict[str, Any]
) -> None:
    first = click(client, tea, WECHAT_IOS)
    assert stats(api, tea) == (1, 1, 0)
    # What the page itself loads records nothing.
    for asset in re.findall(r'(?:src|href)="(/console/static/[^"]+)"', first.text):
        assert client.get(asset).status_code == 200
    assert stats(api, tea) == (1, 1, 0)

    second = click(client, tea, WECHAT_IOS)  # a reload: the same device, within 24 h

    assert stats(api, tea) == (2, 1, 0)
    first_id = click_id_of(page_links(first.text)["open-destination"])
    second_id = click_id_of(page_links(second.text)["open-destination"])
    assert first_id != second_id
    # The device cookie, as a 302 sets it: on the first view only.
    assert first.headers["Set-Cookie"].startswith("rd_did=")
    assert "HttpOnly" in first.headers["Set-Cookie"]
    assert "Set-Cookie" not in second.headers


def test_the_page_is_not_cached_and_runs_no_inline_script(client: Any, tea: dict[str, Any]) -> None:
    response = click(client, tea, WECHAT_IOS)

    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Content-Security-Policy"] == CSP  # no image: the console's own
    assert "script-src 'self'" in CSP and "unsafe-inline" not in CSP
    html = response.text
    scripts = re.findall(r"<script\b[^>]*>(.*?)</script>", html, flags=re.S)
    assert scripts == [""] and '<script src="/console/static/console.js"' in html
    assert not re.search(r"\son[a-z]+=", html)  # no inline event handler
    assert "<style" not in html and " style=" not in html
    assert "javascript:" not in html


def test_the_policy_allows_the_product_image_from_its_own_origin_only(
    env_with_images: dict[str, str], client: Any, api: Api, tea: dict[str, Any]
) -> None:
    api.ok("PUT", "/api/v1/products/tea", {**TEA_PRODUCT, "image_url": IMAGE})

    response = click(client, tea, WECHAT_IOS)

    policy = response.headers["Content-Security-Policy"]
    assert "img-src 'self' data: https://img.alicdn.com;" in policy
    assert policy == CSP.replace(
        "img-src 'self' data:", "img-src 'self' data: https://img.alicdn.com"
    )


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("https://img.alicdn.com/a.jpg", "https://img.alicdn.com"),
        ("https://img.alicdn.com:8443/a.jpg?x=1", "https://img.alicdn.com:8443"),
        ("http://img.alicdn.com/a.jpg", None),
        ("https://img.alicdn.com;script-src/a.jpg", None),
        ("https://user@img.alicdn.com/a.jpg", None),
        ("", None),
        (None, None),
    ],
)
def test_only_a_plain_https_origin_goes_into_the_policy(
    url: str | None, origin: str | None
) -> None:
    assert landing_page.image_origin(url) == origin


def test_the_share_code_is_shown_as_text(client: Any, api: Api, world: dict[str, Any]) -> None:
    api.ok("PUT", "/api/v1/products/tea", {**TEA_PRODUCT, "share_code": '"><b>₳12</b>'})
    link = api.link(world["alice"], product_id="tea")

    html = click(client, link, WECHAT_IOS).text

    assert "<b>" not in html
    assert 'value="&#34;&gt;&lt;b&gt;₳12&lt;/b&gt;"' in html


def test_the_page_reads_the_product_as_it_is_now(
    client: Any, api: Api, tea: dict[str, Any]
) -> None:
    api.ok("PUT", "/api/v1/products/tea", {**TEA_PRODUCT, "title": "Longjing tea 500g",
                                          "price": 23800})  # fmt: skip

    html = click(client, tea, WECHAT_IOS).text

    assert "Longjing tea 500g" in html and "¥238.00" in html
    assert 'id="share"' not in html  # the share code was removed with the update


def test_when_the_registry_cannot_be_read_the_page_still_leads_to_the_shop(
    client: Any, api: Api, tea: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    def away(*_: Any) -> Any:
        raise StoreUnavailable("the store is away")

    monkeypatch.setattr(registry, "product", away)

    response = click(client, tea, WECHAT_IOS, headers={"Accept-Language": "en"})

    assert response.status_code == 200
    assert 'id="product-unavailable"' in response.text
    assert page_links(response.text)["open-destination"].startswith(TEA_APP + "&rd_click=")
    assert stats(api, tea) == (1, 1, 0)


def test_only_the_redirect_reaches_the_page(app: Any, tea: dict[str, Any]) -> None:
    # The Flask app beneath the redirect, asked directly: no click, no page.
    flask_only = Client(app.wsgi_app.app)

    response = flask_only.get(f"/r/{tea['token']}", headers={"User-Agent": WECHAT_IOS})

    assert response.status_code == 404
    assert 'id="open-hint"' not in response.get_data(as_text=True)


def test_a_desktop_click_is_unchanged_by_the_landing_rules(
    client: Any, api: Api, tea: dict[str, Any]
) -> None:
    response = click(client, tea, DESKTOP_CHROME)

    assert response.status_code == 302 and response.data == b""
    assert response.headers["Location"].startswith(TEA_WEB + "&rd_click=")


def test_the_simulated_shopper_goes_on_by_the_page_button(client: Any, tea: dict[str, Any]) -> None:
    html = click(client, tea, WECHAT_IOS).text

    assert page_destination(html) == page_links(html)["open-destination"]
    assert page_destination("<p>no page</p>") is None


def test_in_an_outage_a_recent_link_still_gets_its_page_and_the_click_is_spooled(
    api: Api, store: Any, env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A deployment on Redis (so the outage fallback is on), here on the test's store.
    env = {**env, "REDIS_URL": "redis://127.0.0.1:1/0", "REDIRECTOR_SPOOL_DIR": str(tmp_path)}
    app = create_app(Settings.from_env(env), store=store, test_config={"TESTING": True})
    phone = app.test_client()
    tea = api.link(api.world()["alice"])
    assert click(phone, tea, WECHAT_IOS).status_code == 200  # seen: this worker keeps a copy

    def away(*_: Any, **__: Any) -> Any:
        raise StoreUnavailable(STORE_AWAY) from redis.exceptions.ConnectionError("Redis is away")

    monkeypatch.setattr(clicks, "record_click", away)  # a click alone
    monkeypatch.setattr(click_batches, "run_script_batch", away)  # with group commit
    monkeypatch.setattr(registry, "product", away)
    response = click(phone, tea, WECHAT_IOS, headers={"Accept-Language": "en"})

    assert response.status_code == 200
    assert 'id="product-unavailable"' in response.text
    spooled = click_id_of(page_links(response.text)["open-destination"])
    assert page_links(response.text)["open-destination"] == f"{TEA_APP}&rd_click={spooled}"
    # The spooled click reaches the store (here at once: only the redirect fails).
    wait_until(lambda: clicks.get_click(store, spooled) is not None, timeout=10, what="replay")
    assert stats(api, tea) == (2, 1, 0)
