"""The redirect, ``GET``/``HEAD /r/<token>`` (docs/domain.md: Links, Redirect).

Each test is one click story: where the click goes, what it records, and what
it refuses to do.
"""

from __future__ import annotations

import re
import socket
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import redis
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from itsdangerous import Signer
from redis.backoff import NoBackoff
from redis.retry import Retry

from redirector import clicks, create_app, keys
from redirector.clock import MockClock
from redirector.config import DEVICE_COOKIE_MAX_AGE, Settings
from redirector.devices import DEVICE_SALT, DeviceIds, IpHasher
from redirector.links import LINK_SALT, LinkSigner
from redirector.redirect import with_click_id
from tests.conftest import (
    ANDROID_DOUYIN,
    DESKTOP_CHROME,
    IPHONE_WEIBO,
    SECRET_KEYS,
    TEA_APP,
    TEA_PRODUCT,
    TEA_WEB,
    Api,
    real_store,
)

NEWEST_KEY, OLDER_KEY = SECRET_KEYS.split(",")
UNKNOWN_KEY = "a-key-this-service-never-had-0123456789"
CUP_WEB = "https://detail.tmall.com/item.htm?id=9#reviews"
ODD_WEB = "https://item.taobao.com/item.htm?id=1&x=%20a&&empty=&q=a+b"
IPHONE_SAFARI = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4.1 Mobile/15E148 Safari/604.1"
)
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
SLACKBOT = "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)"
TELEGRAMBOT = "TelegramBot (like TwitterBot)"
FACEBOOK_PREVIEW = "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)"
T0 = datetime(2025, 3, 1, 23, 0, tzinfo=UTC)  # 2025-03-02 07:00 in Asia/Shanghai


# -- helpers ----------------------------------------------------------------------


def click(client: Any, token: str, ua: str = DESKTOP_CHROME, **kw: Any) -> Any:
    """One click on ``/r/<token>``: GET unless ``method`` says otherwise."""
    headers = {"User-Agent": ua, **kw.pop("headers", {})}
    return client.open(f"/r/{token}", method=kw.pop("method", "GET"), headers=headers, **kw)


def click_id_in(response: Any, param: str = "rd_click") -> str:
    """The click id the Location carries in ``param`` (the last one, ours)."""
    assert response.status_code == 302, response.status_code
    return parse_qs(urlsplit(response.headers["Location"]).query)[param][-1]


def admin_link(api: Api, link_id: str) -> dict[str, Any]:
    return api.ok("GET", f"/api/v1/links/{link_id}")


def put_product(api: Api, product_id: str, web_url: str, **fields: Any) -> Any:
    body = {
        "storefront_id": "taobao",
        "title": product_id.title(),
        "price": 1000,
        "commission_rate_bps": 1000,
        "web_url": web_url,
        **fields,
    }
    return api.ok("PUT", f"/api/v1/products/{product_id}", body)


def set_cookie_header(response: Any) -> str | None:
    values = response.headers.getlist("Set-Cookie")
    assert len(values) <= 1, values
    return values[0] if values else None


def cookie_value(header: str) -> str:
    name, _, rest = header.partition("=")
    assert name == "rd_did"
    return rest.split(";", 1)[0]


def assert_not_found_page(response: Any) -> None:
    assert response.status_code == 404
    assert "Location" not in response.headers
    assert response.mimetype == "text/html"
    assert b"<html" in response.data and b"Link not found" in response.data


def every_string_in(store: Any) -> list[str]:
    """Every key, member, field and value the store holds."""
    found: list[str] = []
    for key in store.scan_iter("*"):
        found.append(key)
        kind = store.type(key)
        if kind == "string":
            found.append(store.get(key))
        elif kind == "hash":
            for field, value in store.hgetall(key).items():
                found += [field, value]
        elif kind == "zset":
            found += store.zrange(key, 0, -1)
        elif kind == "set":
            found += list(store.smembers(key))
        elif kind == "list":
            found += store.lrange(key, 0, -1)
        else:
            raise AssertionError(f"{key} is a {kind}: teach this test to read it")
    return found


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# -- fixtures ---------------------------------------------------------------------


@pytest.fixture
def tea(api: Api, world: dict[str, Any]) -> dict[str, Any]:
    """Alice's link to the tea (web URL and app deep link)."""
    return api.link(world["alice"], product_id="tea")


# -- 1. where a click goes -----------------------------------------------------------


@pytest.mark.parametrize(
    ("ua", "product_id", "destination"),
    [
        pytest.param(IPHONE_WEIBO, "tea", TEA_APP, id="ios-weibo-in-app-to-deep-link"),
        pytest.param(ANDROID_DOUYIN, "tea", TEA_APP, id="android-douyin-in-app-to-deep-link"),
        pytest.param(IPHONE_SAFARI, "tea", TEA_APP, id="ios-safari-to-deep-link"),
        pytest.param(DESKTOP_CHROME, "tea", TEA_WEB, id="desktop-to-web-url"),
        pytest.param(IPHONE_WEIBO, "cup", CUP_WEB, id="mobile-without-app-url-to-web-url"),
    ],
)
def test_click_is_redirected_by_platform(
    client: Any, api: Api, world: dict[str, Any], ua: str, product_id: str, destination: str
) -> None:
    link = api.link(world["alice"], product_id=product_id)

    response = click(client, link["token"], ua)

    assert response.status_code == 302
    assert response.data == b""
    # A cached redirect would skip the click record next time.
    assert response.headers["Cache-Control"] == "no-store"
    base, _, fragment = destination.partition("#")
    click_id = click_id_in(response)
    assert response.headers["Location"] == with_click_id(destination, "rd_click", click_id)
    assert response.headers["Location"].startswith(base + "&rd_click=")
    assert response.headers["Location"].endswith(f"#{fragment}" if fragment else click_id)


def test_public_url_of_a_link_is_the_redirect(
    client: Any, tea: dict[str, Any], settings: Settings
) -> None:
    assert tea["url"] == f"{settings.public_url}/r/{tea['token']}"

    response = client.get(urlsplit(tea["url"]).path, headers={"User-Agent": DESKTOP_CHROME})

    assert response.status_code == 302
    assert response.headers["Location"].startswith(TEA_WEB + "&rd_click=")


# -- 2. the click id in the destination ----------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        pytest.param(ODD_WEB, ODD_WEB + "&rd_click=C1", id="odd-query-kept-byte-for-byte"),
        pytest.param("https://h.test/p", "https://h.test/p?rd_click=C1", id="no-query"),
        pytest.param("https://h.test/p?", "https://h.test/p?rd_click=C1", id="ends-with-?"),
        pytest.param("https://h.test/p?a=1&", "https://h.test/p?a=1&rd_click=C1", id="ends-&"),
        pytest.param(
            "https://h.test/p?id=9#reviews",
            "https://h.test/p?id=9&rd_click=C1#reviews",
            id="query-and-fragment",
        ),
        pytest.param(
            "https://h.test/p#top?x=1", "https://h.test/p?rd_click=C1#top?x=1", id="?-in-fragment"
        ),
        pytest.param(
            "https://h.test/p?id=9#", "https://h.test/p?id=9&rd_click=C1#", id="empty-fragment"
        ),
        pytest.param(
            "taobao://item.taobao.com/item.htm?id=123",
            "taobao://item.taobao.com/item.htm?id=123&rd_click=C1",
            id="app-deep-link",
        ),
        pytest.param(
            "https://h.test/p?rd_click=theirs",
            "https://h.test/p?rd_click=theirs&rd_click=C1",
            id="existing-param-kept",
        ),
    ],
)
def test_with_click_id_appends_after_the_query_before_the_fragment(url: str, expected: str) -> None:
    assert with_click_id(url, "rd_click", "C1") == expected


def test_with_click_id_quotes_the_click_id() -> None:
    assert with_click_id("https://h.test/p?a=1", "cid", "x y&z=#") == (
        "https://h.test/p?a=1&cid=x%20y%26z%3D%23"
    )


@pytest.mark.parametrize(
    "web_url",
    [
        pytest.param(ODD_WEB, id="odd-query"),
        pytest.param("https://item.taobao.com/item.htm", id="no-query"),
        pytest.param("https://item.taobao.com/item.htm?", id="ends-with-?"),
        pytest.param("https://item.taobao.com/item.htm?id=7&q=%E8%8C%B6#sku=2", id="fragment"),
    ],
)
def test_redirect_keeps_the_product_url_byte_for_byte(
    client: Any, api: Api, world: dict[str, Any], web_url: str
) -> None:
    put_product(api, "pot", web_url)
    link = api.link(world["bob"], product_id="pot")

    response = click(client, link["token"])

    location = response.headers["Location"]
    click_id = click_id_in(response)
    base, hash_mark, fragment = web_url.partition("#")
    joiner = "" if base.endswith("?") else "&" if "?" in base else "?"
    assert location == f"{base}{joiner}rd_click={click_id}{hash_mark}{fragment}"


def test_storefront_with_its_own_click_param(
    client: Any, store: Any, api: Api, world: dict[str, Any]
) -> None:
    api.ok(
        "PUT",
        "/api/v1/storefronts/youzan",
        {"name": "Youzan", "hosts": ["shop.youzan.com"], "click_param": "yz_ref"},
    )
    api.ok(
        "PUT",
        "/api/v1/products/scarf",
        {
            "storefront_id": "youzan",
            "title": "Silk scarf",
            "price": 8800,
            "commission_rate_bps": 1000,
            "web_url": "https://shop.youzan.com/v2/goods/3ex?alias=3ex",
        },
    )
    link = api.link(world["alice"], product_id="scarf")

    response = click(client, link["token"])

    click_id = click_id_in(response, "yz_ref")
    assert response.headers["Location"] == (
        f"https://shop.youzan.com/v2/goods/3ex?alias=3ex&yz_ref={click_id}"
    )
    assert clicks.get_click(store, click_id) is not None


def test_changing_click_param_changes_existing_links_next_redirect(
    client: Any, api: Api, tea: dict[str, Any]
) -> None:
    before = click(client, tea["token"])
    assert "rd_click=" in before.headers["Location"]

    api.ok(
        "PUT",
        "/api/v1/storefronts/taobao",
        {"name": "Taobao", "hosts": ["item.taobao.com", "*.tmall.com"], "click_param": "ali_cid"},
    )
    after = click(client, tea["token"])

    click_id = click_id_in(after, "ali_cid")
    assert after.headers["Location"] == f"{TEA_WEB}&ali_cid={click_id}"


# -- 3. every redirect is a recorded click ------------------------------------------


@pytest.mark.parametrize(
    ("ua", "method", "bot", "label"),
    [
        pytest.param(DESKTOP_CHROME, "GET", False, "desktop", id="human"),
        pytest.param(ANDROID_DOUYIN, "GET", False, "android/douyin", id="in-app"),
        pytest.param(GOOGLEBOT, "GET", True, "bot/crawler", id="crawler"),
        pytest.param(DESKTOP_CHROME, "HEAD", True, "bot/head", id="head"),
    ],
)
def test_click_id_in_location_names_the_recorded_click(
    client: Any,
    store: Any,
    tea: dict[str, Any],
    clock: MockClock,
    ua: str,
    method: str,
    bot: bool,
    label: str,
) -> None:
    response = click(
        client,
        tea["token"],
        ua,
        method=method,
        headers={"Referer": "https://weibo.com/u/123?from=feed"},
    )

    record = clicks.get_click(store, click_id_in(response))
    assert record is not None, "the click must be stored before the answer is sent"
    assert record.link_id == tea["id"]
    assert record.at_ms == clock.now_ms()
    assert record.bot is bot
    assert record.unique is not bot
    assert record.user_agent == label
    assert record.referrer == "weibo.com"


def test_each_click_gets_its_own_record(client: Any, store: Any, tea: dict[str, Any]) -> None:
    ids = [click_id_in(click(client, tea["token"])) for _ in range(3)]

    assert len(set(ids)) == 3
    assert all(clicks.get_click(store, i) is not None for i in ids)


def device_index(store: Any, click: clicks.Click) -> list[str]:
    """What the device index lists for the click's device, around its time."""
    return clicks.device_click_ids(store, click.device, click.at_ms - 86_400_000, click.at_ms)


def test_click_is_recorded_after_redis_forgot_the_click_script(
    client: Any, store: Any, tea: dict[str, Any]
) -> None:
    store.script_flush()  # what a restarted Redis looks like to a running worker

    response = click(client, tea["token"])

    record = clicks.get_click(store, click_id_in(response))
    assert record is not None
    # The device index is written beside the script and must not be doubled.
    assert device_index(store, record) == [record.id]


def test_a_click_counts_once_when_redis_had_only_the_click_script(
    api: Api, client: Any, store: Any, tea: dict[str, Any]
) -> None:
    # Another worker loaded the click script since Redis forgot both: the click
    # script runs, the device script answers NOSCRIPT and is sent again alone.
    store.script_flush()
    store.script_load(clicks.CLICK.source)

    response = click(client, tea["token"])

    record = clicks.get_click(store, click_id_in(response))
    assert record is not None
    assert device_index(store, record) == [record.id]
    stats = admin_link(api, tea["id"])["stats"]
    assert (stats["clicks"], stats["unique_clicks"]) == (1, 1)


# -- 4. the device cookie -------------------------------------------------------------


def test_first_click_sets_a_signed_device_cookie_for_a_year(
    client: Any, store: Any, tea: dict[str, Any], settings: Settings
) -> None:
    response = click(client, tea["token"])

    header = set_cookie_header(response)
    assert header is not None
    attributes = [part.strip() for part in header.split(";")[1:]]
    assert f"Max-Age={DEVICE_COOKIE_MAX_AGE}" in attributes
    assert DEVICE_COOKIE_MAX_AGE == 31_536_000
    assert "HttpOnly" in attributes
    assert "SameSite=Lax" in attributes
    assert "Path=/" in attributes
    assert "Secure" in attributes  # the public URL is https
    device = DeviceIds(settings.secret_keys).verify(cookie_value(header))
    assert device is not None
    assert clicks.get_click(store, click_id_in(response)).device == device


def test_returning_device_keeps_its_cookie(client: Any, store: Any, tea: dict[str, Any]) -> None:
    first = click(client, tea["token"])
    assert set_cookie_header(first) is not None

    second = click(client, tea["token"])  # the test client sends the cookie back

    assert set_cookie_header(second) is None
    first_click = clicks.get_click(store, click_id_in(first))
    second_click = clicks.get_click(store, click_id_in(second))
    assert first_click.device == second_click.device


@pytest.mark.parametrize(
    "forged",
    [
        pytest.param("abc", id="unsigned"),
        pytest.param(Signer(UNKNOWN_KEY, salt=DEVICE_SALT).sign("A" * 16).decode(), id="other-key"),
        pytest.param(Signer(NEWEST_KEY, salt="other").sign("A" * 16).decode(), id="other-salt"),
        pytest.param(Signer(NEWEST_KEY, salt=LINK_SALT).sign("A" * 16).decode(), id="link-salt"),
        pytest.param(Signer(NEWEST_KEY, salt=DEVICE_SALT).sign("A" * 5).decode(), id="short-id"),
    ],
)
def test_cookie_we_did_not_issue_is_replaced(
    client: Any, store: Any, tea: dict[str, Any], settings: Settings, forged: str
) -> None:
    client.set_cookie("rd_did", forged)

    response = click(client, tea["token"])

    header = set_cookie_header(response)
    assert header is not None
    issued = cookie_value(header)
    assert issued != forged
    device = DeviceIds(settings.secret_keys).verify(issued)
    assert device is not None
    assert clicks.get_click(store, click_id_in(response)).device == device


def test_device_cookie_signed_with_the_older_key_is_kept(
    client: Any, store: Any, tea: dict[str, Any]
) -> None:
    older = DeviceIds([OLDER_KEY])
    device, cookie = older.issue()
    client.set_cookie("rd_did", cookie)

    response = click(client, tea["token"])

    assert set_cookie_header(response) is None
    assert clicks.get_click(store, click_id_in(response)).device == device


@pytest.mark.parametrize(
    "others",
    [
        pytest.param("_ga=GA1.2.3", id="plain"),
        pytest.param('prefs={"lang":"zh","dark":true}', id="json-value"),
        pytest.param("consent=all of them", id="space-in-value"),
        pytest.param("nick=茶".encode().decode("latin-1"), id="utf-8-value"),
        pytest.param('quote="unterminated', id="unterminated-quote"),
    ],
)
def test_device_cookie_is_read_beside_other_site_cookies(
    app: Any, store: Any, tea: dict[str, Any], others: str
) -> None:
    first = click(app.test_client(), tea["token"])
    cookie = cookie_value(set_cookie_header(first))
    device = clicks.get_click(store, click_id_in(first)).device
    browser = app.test_client(use_cookies=False)

    response = click(
        browser, tea["token"], headers={"Cookie": f"{others}; rd_did={cookie}; theme=dark"}
    )

    assert set_cookie_header(response) is None
    again = clicks.get_click(store, click_id_in(response))
    assert again.device == device
    assert again.unique is False


# -- 5. unique clicks and the daily series --------------------------------------------


def test_device_is_unique_again_24_hours_after_its_unique_click(
    client: Any, store: Any, api: Api, tea: dict[str, Any], clock: MockClock
) -> None:
    def unique_at(moment: datetime) -> bool:
        clock.set(moment)
        return clicks.get_click(store, click_id_in(click(client, tea["token"]))).unique

    assert unique_at(T0) is True
    # Across UTC midnight: the earlier unique click sits in yesterday's bucket.
    assert unique_at(T0 + timedelta(hours=2)) is False
    assert unique_at(T0 + timedelta(hours=24) - timedelta(seconds=1)) is False
    # 24 h counts from the last *unique* click, not from the last click.
    assert unique_at(T0 + timedelta(hours=24, seconds=1)) is True
    assert unique_at(T0 + timedelta(hours=25)) is False

    stats = admin_link(api, tea["id"])["stats"]
    assert stats["clicks"] == 5
    assert stats["unique_clicks"] == 2
    assert stats["bot_clicks"] == 0


def test_a_click_exactly_24_hours_after_the_unique_click_is_unique_again(
    client: Any, store: Any, tea: dict[str, Any], clock: MockClock
) -> None:
    # The window is the 24 hours before the click, its first instant left out:
    # to the millisecond, a unique click 24 h ago no longer counts.
    def unique_at(moment: datetime) -> bool:
        clock.set(moment)
        return clicks.get_click(store, click_id_in(click(client, tea["token"]))).unique

    assert unique_at(T0) is True
    assert unique_at(T0 + timedelta(hours=24) - timedelta(milliseconds=1)) is False
    assert unique_at(T0 + timedelta(hours=24)) is True


def test_another_device_is_unique(
    app: Any, client: Any, store: Any, api: Api, tea: dict[str, Any], clock: MockClock
) -> None:
    other_phone = app.test_client()

    mine = [click(client, tea["token"]) for _ in range(2)]
    theirs = click(other_phone, tea["token"], IPHONE_WEIBO)

    assert [clicks.get_click(store, click_id_in(r)).unique for r in mine] == [True, False]
    assert clicks.get_click(store, click_id_in(theirs)).unique is True
    stats = admin_link(api, tea["id"])["stats"]
    assert (stats["clicks"], stats["unique_clicks"]) == (3, 2)


def test_unique_is_per_link(
    client: Any, store: Any, api: Api, world: dict[str, Any], tea: dict[str, Any]
) -> None:
    cup = api.link(world["alice"], product_id="cup")

    click(client, tea["token"])
    response = click(client, cup["token"])

    assert clicks.get_click(store, click_id_in(response)).unique is True


def test_daily_series_counts_per_local_day(
    app: Any, client: Any, api: Api, tea: dict[str, Any], clock: MockClock
) -> None:
    # Asia/Shanghai is UTC+8: these two moments share a UTC day but not a local one.
    clock.set(datetime(2025, 3, 1, 15, 30, tzinfo=UTC))  # 2025-03-01 23:30 local
    click(client, tea["token"])
    click(client, tea["token"])
    clock.set(datetime(2025, 3, 1, 16, 30, tzinfo=UTC))  # 2025-03-02 00:30 local
    click(app.test_client(), tea["token"], IPHONE_WEIBO)
    click(client, tea["token"], GOOGLEBOT)

    answer = admin_link(api, tea["id"])

    assert answer["daily"] == [
        {
            "date": "2025-03-01",
            "clicks": 2,
            "unique_clicks": 1,
            "bot_clicks": 0,
            "suspicious_clicks": 0,
        },
        {
            "date": "2025-03-02",
            "clicks": 1,
            "unique_clicks": 1,
            "bot_clicks": 1,
            "suspicious_clicks": 0,
        },
    ]
    assert answer["stats"]["clicks"] == 3
    assert answer["stats"]["unique_clicks"] == 2
    assert answer["stats"]["bot_clicks"] == 1


# -- 6. bots ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ua", "headers", "method"),
    [
        pytest.param(GOOGLEBOT, {}, "GET", id="googlebot"),
        pytest.param(SLACKBOT, {}, "GET", id="slackbot-link-expanding"),
        pytest.param(TELEGRAMBOT, {}, "GET", id="telegrambot"),
        pytest.param(FACEBOOK_PREVIEW, {}, "GET", id="facebookexternalhit"),
        pytest.param(DESKTOP_CHROME, {"Purpose": "prefetch"}, "GET", id="purpose-prefetch"),
        pytest.param(
            IPHONE_WEIBO, {"Sec-Purpose": "prefetch;prerender"}, "GET", id="sec-purpose-prerender"
        ),
        pytest.param(DESKTOP_CHROME, {}, "HEAD", id="head"),
    ],
)
def test_bot_is_redirected_but_counted_apart(
    client: Any,
    store: Any,
    api: Api,
    tea: dict[str, Any],
    ua: str,
    headers: dict[str, str],
    method: str,
) -> None:
    human = click(client, tea["token"])
    human_click = clicks.get_click(store, click_id_in(human))

    # Same device (the client sends its cookie back), now as a bot.
    response = click(client, tea["token"], ua, headers=headers, method=method)

    assert response.status_code == 302
    assert response.headers["Location"].startswith(("https://item.taobao.com/", "taobao://"))
    assert response.data == b""
    bot_click = clicks.get_click(store, click_id_in(response))
    assert bot_click.bot is True
    assert bot_click.unique is False
    assert bot_click.device == human_click.device
    stats = admin_link(api, tea["id"])["stats"]
    assert (stats["clicks"], stats["unique_clicks"], stats["bot_clicks"]) == (1, 1, 1)
    # Only the human click can ever be attributed by device.
    assert device_index(store, human_click) == [human_click.id]


def test_bot_before_any_human_does_not_take_the_unique_click(
    client: Any, store: Any, tea: dict[str, Any]
) -> None:
    click(client, tea["token"], headers={"Sec-Purpose": "prefetch"})

    response = click(client, tea["token"])

    assert clicks.get_click(store, click_id_in(response)).unique is True


def test_head_has_an_empty_body_whatever_the_answer(
    client: Any, api: Api, world: dict[str, Any], tea: dict[str, Any]
) -> None:
    assert click(client, tea["token"], method="HEAD").data == b""
    not_found = click(client, "nope", method="HEAD")
    assert not_found.status_code == 404
    assert not_found.data == b""
    api.ok("DELETE", f"/api/v1/links/{tea['id']}", token=world["alice"])
    gone = click(client, tea["token"], method="HEAD")
    assert gone.status_code == 410
    assert gone.data == b""


# Requests a page makes, and previews (issue 14, item 7): an <img src=/r/...> on
# any page was a human, unique click that planted the device cookie.
PAGE_FETCHES = [
    pytest.param({"Sec-Fetch-Dest": "image"}, "bot/image", id="sec-fetch-dest-image"),
    pytest.param({"Sec-Fetch-Dest": "script"}, "bot/script", id="sec-fetch-dest-script"),
    pytest.param({"Sec-Fetch-Dest": "iframe"}, "bot/iframe", id="sec-fetch-dest-iframe"),
    pytest.param({"Sec-Fetch-Dest": "frame"}, "bot/frame", id="sec-fetch-dest-frame"),
    pytest.param({"Sec-Fetch-Dest": "style"}, "bot/style", id="sec-fetch-dest-style"),
    pytest.param({"Sec-Fetch-Dest": "empty"}, "bot/fetch", id="sec-fetch-dest-empty"),
    pytest.param({"Sec-Fetch-Dest": "x-new"}, "bot/subresource", id="sec-fetch-dest-unknown"),
    pytest.param({"X-Moz": "prefetch"}, "bot/prefetch", id="x-moz-prefetch"),
    pytest.param({"X-Purpose": "preview"}, "bot/preview", id="x-purpose-preview"),
]
NAVIGATION = {
    "Sec-Fetch-Dest": "document",
    "Sec-Fetch-Mode": "navigate",
    "Sec-Fetch-Site": "cross-site",
    "Sec-Fetch-User": "?1",
}


@pytest.mark.parametrize(("headers", "label"), PAGE_FETCHES)
def test_a_request_a_page_makes_is_a_bot_click_without_a_cookie(
    client: Any,
    store: Any,
    api: Api,
    shop: Any,
    tea: dict[str, Any],
    headers: dict[str, str],
    label: str,
) -> None:
    response = click(client, tea["token"], IPHONE_SAFARI, headers=headers)

    # Redirected as bots are: to the web URL, even for a phone.
    assert response.headers["Location"].startswith(TEA_WEB + "&rd_click=")
    assert set_cookie_header(response) is None  # nothing planted
    record = clicks.get_click(store, click_id_in(response))
    assert (record.bot, record.unique, record.user_agent) == (True, False, label)
    stats = admin_link(api, tea["id"])["stats"]
    assert (stats["clicks"], stats["unique_clicks"], stats["bot_clicks"]) == (0, 0, 1)
    assert device_index(store, record) == []
    answer = shop.ok("o-1", "paid", 12800, click_id=record.id)
    assert answer["attributed"] is None and answer["commission"] == 0


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param(NAVIGATION, id="sec-fetch-dest-document"),
        pytest.param({}, id="no-fetch-metadata"),
        pytest.param({"Sec-Fetch-Dest": ""}, id="sec-fetch-dest-blank"),
    ],
)
def test_a_navigation_stays_a_human_click(
    client: Any,
    store: Any,
    api: Api,
    shop: Any,
    tea: dict[str, Any],
    headers: dict[str, str],
) -> None:
    response = click(client, tea["token"], IPHONE_SAFARI, headers=headers)

    assert response.headers["Location"].startswith(TEA_APP + "&rd_click=")
    assert set_cookie_header(response) is not None
    record = clicks.get_click(store, click_id_in(response))
    assert (record.bot, record.unique, record.user_agent) == (False, True, "ios")
    stats = admin_link(api, tea["id"])["stats"]
    assert (stats["clicks"], stats["unique_clicks"], stats["bot_clicks"]) == (1, 1, 0)
    answer = shop.ok("o-1", "paid", 12800, click_id=record.id)
    assert answer["attributed"]["click_id"] == record.id


@pytest.mark.parametrize(
    ("ua", "headers", "method"),
    [
        pytest.param(GOOGLEBOT, {}, "GET", id="googlebot"),
        pytest.param(SLACKBOT, {}, "GET", id="slackbot"),
        pytest.param(DESKTOP_CHROME, {}, "HEAD", id="head"),
        pytest.param(DESKTOP_CHROME, {"Sec-Purpose": "prefetch"}, "GET", id="sec-purpose"),
        pytest.param(DESKTOP_CHROME, {"Sec-Fetch-Dest": "image"}, "GET", id="image"),
    ],
)
def test_no_bot_click_plants_the_device_cookie(
    client: Any, store: Any, tea: dict[str, Any], ua: str, headers: dict[str, str], method: str
) -> None:
    response = click(client, tea["token"], ua, headers=headers, method=method)

    assert response.status_code == 302
    assert set_cookie_header(response) is None
    assert clicks.get_click(store, click_id_in(response)).bot is True
    # The next human click is the device's first, so it gets one.
    assert set_cookie_header(click(client, tea["token"], headers=NAVIGATION)) is not None


# -- 7. tokens that do not verify -------------------------------------------------------


def _changed(text: str, index: int) -> str:
    swap = "b" if text[index] == "a" else "a"
    return text[:index] + swap + text[index + 1 :]


@pytest.mark.parametrize(
    "make_path",
    [
        pytest.param(lambda t, i: "/r/Zx8kQ2mN4p.q3Vt0yJbS1lXcW9eRk2aH7uDfGo", id="random"),
        pytest.param(lambda t, i: "/r/" + _changed(t, 0), id="link-id-char-changed"),
        pytest.param(lambda t, i: "/r/" + _changed(t, len(i) + 5), id="signature-char-changed"),
        pytest.param(lambda t, i: "/r/" + t[:-1], id="signature-cut"),
        pytest.param(lambda t, i: "/r/" + i, id="unsigned-link-id"),
        pytest.param(
            lambda t, i: "/r/" + Signer(UNKNOWN_KEY, salt=LINK_SALT).sign(i).decode(),
            id="key-not-configured",
        ),
        pytest.param(
            lambda t, i: "/r/" + Signer(NEWEST_KEY, salt="other").sign(i).decode(),
            id="other-salt",
        ),
        pytest.param(
            lambda t, i: "/r/" + Signer(NEWEST_KEY, salt=DEVICE_SALT).sign(i).decode(),
            id="device-cookie-salt",
        ),
        pytest.param(
            lambda t, i: "/r/" + LinkSigner([NEWEST_KEY]).sign("Zx8kQ2mN4p"), id="no-such-link"
        ),
        pytest.param(lambda t, i: "/r/", id="empty"),
        pytest.param(lambda t, i: "/r/a/b", id="a/b"),
        pytest.param(lambda t, i: f"/r/{t}/extra", id="valid-token/extra"),
    ],
)
def test_token_that_does_not_verify_is_404_without_location(
    client: Any, api: Api, tea: dict[str, Any], make_path: Any
) -> None:
    path = make_path(tea["token"], tea["id"])

    response = client.get(path, headers={"User-Agent": DESKTOP_CHROME})

    assert_not_found_page(response)
    assert admin_link(api, tea["id"])["stats"]["clicks"] == 0


def test_tokens_are_signed_with_the_newest_key_and_the_older_still_redirects(
    client: Any, store: Any, tea: dict[str, Any]
) -> None:
    assert LinkSigner([NEWEST_KEY]).link_id_for(tea["token"]) == tea["id"]
    assert LinkSigner([OLDER_KEY]).link_id_for(tea["token"]) is None
    old_token = LinkSigner([OLDER_KEY]).sign(tea["id"])
    assert old_token != tea["token"]

    response = click(client, old_token)

    assert response.headers["Location"].startswith(TEA_WEB + "&rd_click=")
    assert clicks.get_click(store, click_id_in(response)).link_id == tea["id"]


def test_link_made_before_rotation_still_redirects(
    store: Any, env: dict[str, str], tea: dict[str, Any]
) -> None:
    # The service was running with only the older key when the link was made...
    before = create_app(
        Settings.from_env({**env, "REDIRECTOR_SECRET_KEYS": OLDER_KEY}), store=store
    )
    old_token = before.extensions["redirector"].link_signer.sign(tea["id"])
    # ...and is now running with a newer key in front of it.
    after = create_app(Settings.from_env(env), store=store).test_client()

    response = click(after, old_token)

    assert response.status_code == 302
    assert clicks.get_click(store, click_id_in(response)).link_id == tea["id"]


# -- 8. disabled links and inactive products -------------------------------------------


def test_link_disabled_by_its_creator_is_gone_from_the_next_click(
    client: Any, api: Api, world: dict[str, Any], tea: dict[str, Any]
) -> None:
    assert click(client, tea["token"]).status_code == 302

    api.ok("DELETE", f"/api/v1/links/{tea['id']}", token=world["alice"])
    response = click(client, tea["token"])

    assert response.status_code == 410
    assert "Location" not in response.headers
    assert b"<html" in response.data
    stats = admin_link(api, tea["id"])["stats"]
    assert (stats["clicks"], stats["bot_clicks"]) == (1, 0)


def test_inactive_product_is_gone_until_reactivated(
    client: Any, api: Api, world: dict[str, Any], tea: dict[str, Any]
) -> None:
    disabled = api.link(world["bob"], product_id="tea")
    api.ok("DELETE", f"/api/v1/links/{disabled['id']}", token=world["bob"])
    api.ok("PUT", "/api/v1/products/tea", {**TEA_PRODUCT, "active": False})
    off = click(client, tea["token"])
    assert off.status_code == 410
    assert "Location" not in off.headers

    api.ok("PUT", "/api/v1/products/tea", {**TEA_PRODUCT, "active": True})
    assert click(client, tea["token"]).status_code == 302
    assert click(client, disabled["token"]).status_code == 410


def test_inactive_product_is_gone_from_the_next_click_on_every_worker(
    client: Any, store: Any, api: Api, settings: Settings, tea: dict[str, Any]
) -> None:
    other_worker = create_app(settings, store=store).test_client()
    assert click(other_worker, tea["token"]).status_code == 302  # it has seen the link

    api.ok("PUT", "/api/v1/products/tea", {**TEA_PRODUCT, "active": False})  # through this worker

    assert click(other_worker, tea["token"]).status_code == 410


def test_existing_link_follows_a_product_url_change(
    client: Any, api: Api, world: dict[str, Any], tea: dict[str, Any]
) -> None:
    put_product(api, "tea", "https://detail.tmall.com/tea.htm?id=123")

    response = click(client, tea["token"])

    assert response.headers["Location"].startswith("https://detail.tmall.com/tea.htm?id=123&")


# -- 9. never an unregistered host ------------------------------------------------------

LATIN1 = st.characters(min_codepoint=0, max_codepoint=0xFF)
ANY_TEXT = st.text(max_size=40)
HEADER_NAMES = ("User-Agent", "Cookie", "Referer", "Host", "X-Forwarded-Host", "Purpose")


@pytest.fixture
def destinations(api: Api, world: dict[str, Any]) -> dict[str, Any]:
    """Links to every product, and every product URL an admin registered."""
    put_product(api, "odd", ODD_WEB)
    tokens = [api.link(world["alice"], product_id=p)["token"] for p in ("tea", "cup", "odd")]
    return {"tokens": tokens, "urls": [TEA_WEB, TEA_APP, CUP_WEB, ODD_WEB]}


@hypothesis_settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    token=st.one_of(st.integers(0, 2), ANY_TEXT),
    extra=st.one_of(st.just(""), ANY_TEXT),
    query=ANY_TEXT,
    headers=st.dictionaries(st.sampled_from(HEADER_NAMES), st.text(LATIN1, max_size=60)),
    method=st.sampled_from(["GET", "GET", "HEAD"]),
)
def test_redirect_never_goes_to_an_unregistered_url(
    client: Any,
    destinations: dict[str, Any],
    token: int | str,
    extra: str,
    query: str,
    headers: dict[str, str],
    method: str,
) -> None:
    valid = isinstance(token, int)
    text = destinations["tokens"][token] if isinstance(token, int) else token
    # WSGI carries the raw bytes of the path and headers as latin-1 text.
    wsgi = {
        "REQUEST_METHOD": method,
        "PATH_INFO": ("/r/" + text + extra).encode().decode("latin-1"),
        "QUERY_STRING": query.encode().decode("latin-1"),
    }
    for name, value in headers.items():
        wsgi["HTTP_" + name.upper().replace("-", "_")] = value

    response = client.open("/r/x", environ_overrides=wsgi)

    location = response.headers.get("Location")
    if valid and not extra:
        assert response.status_code == 302
    if location is None:
        assert response.status_code in (404, 410)
        return
    assert response.status_code == 302
    hosts = {urlsplit(url).hostname for url in destinations["urls"]}
    assert urlsplit(location).hostname in hosts
    assert any(
        location.startswith(url.partition("#")[0])
        and location.endswith(url.partition("#")[1] + url.partition("#")[2])
        for url in destinations["urls"]
    ), location


# -- 10. IPs are kept only as a keyed hash ----------------------------------------------


def test_ip_is_stored_only_as_a_keyed_hash(
    app: Any, store: Any, tea: dict[str, Any], settings: Settings
) -> None:
    ip, other_ip = "203.0.113.7", "198.51.100.23"
    from_ip, from_other = app.test_client(), app.test_client()
    from_ip.environ_base["REMOTE_ADDR"] = ip
    from_other.environ_base["REMOTE_ADDR"] = other_ip

    first = clicks.get_click(store, click_id_in(click(from_ip, tea["token"])))
    again = clicks.get_click(store, click_id_in(click(from_ip, tea["token"], GOOGLEBOT)))
    other = clicks.get_click(store, click_id_in(click(from_other, tea["token"])))

    assert not [s for s in every_string_in(store) if ip in s or other_ip in s]
    assert re.fullmatch(r"[0-9a-f]{12}", first.ip_hash)
    assert again.ip_hash == first.ip_hash
    assert other.ip_hash != first.ip_hash
    # Keyed: the hash depends on the service's secret, so it cannot be looked up.
    assert IpHasher([UNKNOWN_KEY])(ip) != first.ip_hash
    # Rotating the signing keys (a newer key in front) keeps the same hashes.
    assert IpHasher(["a-newer-signing-key-0123456789", *settings.secret_keys])(ip) == (
        first.ip_hash
    )


# -- 11. raw click records expire, counters stay ----------------------------------------


def test_click_records_expire_after_the_longest_window_and_a_day(
    client: Any, store: Any, tea: dict[str, Any], settings: Settings, clock: MockClock
) -> None:
    longest = max(p.window_days for p in settings.programs.values())
    assert settings.retention_seconds == (longest + 1) * 86_400

    record = clicks.get_click(store, click_id_in(click(client, tea["token"])))

    name = clicks.parse_click_id(record.id)
    records_key = keys.link_clicks(tea["id"], name.day, name.bucket)
    assert store.hexists(records_key, name.random)
    # Keys of a UTC day are kept from the end of that day on, so its last
    # click is kept as long as its first.
    to_day_end = ((name.day + 1) * clicks.DAY_MS - record.at_ms) // 1000
    kept = to_day_end + settings.retention_seconds
    assert kept - 5 <= store.ttl(records_key) <= kept
    assert kept - 5 <= store.ttl(keys.device_clicks(record.device, name.day)) <= kept
    assert store.ttl(keys.link_stats(tea["id"])) == -1
    assert store.ttl(keys.link_daily(tea["id"])) == -1


def test_a_full_records_bucket_sends_the_next_clicks_to_the_next(
    client: Any, store: Any, tea: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(clicks, "BUCKET_ENTRIES", 3)

    ids = [click_id_in(click(client, tea["token"])) for _ in range(8)]

    names = [clicks.parse_click_id(i) for i in ids]
    assert [n.bucket for n in names] == [0, 0, 0, 1, 1, 1, 2, 2]
    assert all(clicks.get_click(store, i) is not None for i in ids)
    day = names[0].day
    records = [store.hkeys(keys.link_clicks(tea["id"], day, b)) for b in range(3)]
    assert [len(r) for r in records] == [4, 3, 2]
    assert store.hget(keys.link_clicks(tea["id"], day, 0), "#") == "2"  # where clicks go now


def test_a_fresh_worker_catches_up_with_the_buckets_in_one_click(
    client: Any,
    store: Any,
    tea: dict[str, Any],
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(clicks, "BUCKET_ENTRIES", 2)
    for _ in range(5):
        click(client, tea["token"])  # this worker fills buckets 0 and 1
    fresh = create_app(settings, store=store).test_client()  # another worker

    first, second = (clicks.parse_click_id(click_id_in(click(fresh, tea["token"]))).bucket
                     for _ in range(2))  # fmt: skip

    assert (first, second) == (0, 2)  # not 1: it heard from the day's first bucket


def test_a_new_utc_day_starts_at_the_first_bucket(
    client: Any, store: Any, tea: dict[str, Any], clock: MockClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(clicks, "BUCKET_ENTRIES", 2)
    clock.set(T0)
    assert [clicks.parse_click_id(click_id_in(click(client, tea["token"]))).bucket
            for _ in range(3)] == [0, 0, 1]  # fmt: skip
    clock.set(T0 + timedelta(hours=2))  # past midnight UTC

    name = clicks.parse_click_id(click_id_in(click(client, tea["token"])))
    assert (name.day, name.bucket) == (int(T0.timestamp()) // 86_400 + 1, 0)


def test_a_long_referrer_is_kept_whole_beside_its_record(
    client: Any, store: Any, tea: dict[str, Any]
) -> None:
    host = "a-rather-long-subdomain-for-a-campaign.news.example.com"
    short = clicks.get_click(
        store, click_id_in(click(client, tea["token"], headers={"Referer": "https://t.cn/x"}))
    )
    long = clicks.get_click(
        store, click_id_in(click(client, tea["token"], headers={"Referer": f"https://{host}/p"}))
    )

    assert (short.referrer, long.referrer) == ("t.cn", host)
    assert long.user_agent == "desktop" and not long.bot


@pytest.mark.skipif(not real_store(), reason="encodings are Redis's own (REDIS_URL)")
def test_click_records_stay_in_redis_compact_encoding(
    client: Any, store: Any, tea: dict[str, Any]
) -> None:
    referrers = ("", "weibo.com", "a-rather-long-subdomain-for-a-campaign.news.example.com")
    ids = [
        click_id_in(click(client, tea["token"], IPHONE_WEIBO,
                          headers={"Referer": f"https://{referrers[n % 3]}/"} if n % 3 else {}))
        for n in range(2 * clicks.BUCKET_ENTRIES + 10)
    ]  # fmt: skip

    names = {(n.day, n.bucket) for n in map(clicks.parse_click_id, ids)}
    assert len(names) == 3
    for day, bucket in names:
        assert store.object("encoding", keys.link_clicks(tea["id"], day, bucket)) == "listpack"


def test_device_index_lists_a_devices_human_clicks_newest_first_once_each(
    store: Any, api: Api, world: dict[str, Any], settings: Settings
) -> None:
    tea = api.link(world["alice"], product_id="tea")
    cup = api.link(world["bob"], product_id="cup")
    start = int((T0 - timedelta(hours=12)).timestamp() * 1000)  # 11:00 UTC

    def record(link: dict[str, Any], at: int, bot: bool = False, click_id: str = "") -> str:
        click_id = click_id or clicks.new_click_id(link["id"], at)
        click = clicks.ClickFacts(
            link_id=link["id"], click_id=click_id, at_ms=at, device="Dev0123456789abc",
            ip_hash="0a0b0c0d0e0f", user_agent="bot/crawler" if bot else "ios", bot=bot,
            referrer="", local_date="2025-03-02",
        )  # fmt: skip
        clicks.record_click(
            store, click, clicks.ClickPolicy(settings.retention_seconds, 86_400_000)
        )
        return click_id

    first = record(tea, start)
    second = record(cup, start + 3_600_000)
    record(cup, start + 3_700_000, bot=True)  # bots are never attributed
    record(cup, start + 3_800_000, click_id=second)  # sent again
    third = record(tea, start + 86_400_000)

    listed = clicks.device_click_ids(store, "Dev0123456789abc", start, start + 86_400_000)
    assert listed == [third, second, first]
    assert clicks.device_click_ids(store, "Dev0123456789abc", start + 86_400_000,
                                   start + 86_400_000) == [third]  # fmt: skip

    # A device clicking without end keeps only its newest clicks of a day.
    many = [record(tea, start + 86_400_000 + n) for n in range(clicks.DEVICE_CLICKS_PER_DAY + 4)]
    day_two = clicks.device_click_ids(
        store, "Dev0123456789abc", start + 86_400_000, start + 86_400_000
    )
    assert day_two == many[::-1][: clicks.DEVICE_CLICKS_PER_DAY]


# -- 12. methods ----------------------------------------------------------------------


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"])
def test_other_methods_are_405(client: Any, api: Api, tea: dict[str, Any], method: str) -> None:
    response = click(client, tea["token"], method=method)

    assert response.status_code == 405
    assert response.headers["Allow"] == "GET, HEAD"
    assert "Location" not in response.headers
    stats = admin_link(api, tea["id"])["stats"]
    assert (stats["clicks"], stats["bot_clicks"]) == (0, 0)


# -- 13. the store unreachable ----------------------------------------------------------


def test_store_unreachable_is_503_and_not_ready(settings: Settings) -> None:
    down = redis.Redis(
        host="127.0.0.1",
        port=closed_port(),
        socket_connect_timeout=0.2,
        decode_responses=True,
        retry=Retry(NoBackoff(), 0),  # fail at once: the test is about the answer
    )
    client = create_app(settings, store=down).test_client()
    token = LinkSigner(settings.secret_keys).sign("Zx8kQ2mN4p")

    response = click(client, token)

    assert response.status_code == 503
    assert response.headers["Retry-After"].isdigit()
    assert "Location" not in response.headers
    assert b"<html" in response.data
    assert client.get("/readyz").status_code == 503
    assert client.get("/healthz").status_code == 200
