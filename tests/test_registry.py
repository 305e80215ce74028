"""The registry as an admin builds it: agencies, creators and their API keys,
storefronts and their hosts, the product library, and the programs in force."""

from __future__ import annotations

import base64
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from redirector import create_app
from redirector.config import Settings
from redirector.errors import ConfigError
from redirector.storefront_client import StorefrontClient

from .conftest import ADMIN_TOKEN, DESKTOP_CHROME, error_of, snapshot

PROGRAMS_TOML = """
[programs.weibo]
network_bps = 1500
platform_bps = 2500
guide_bps = 6000
window_days = 7
holding_days = 10

[programs.xiaohongshu]
network_bps = 1000
platform_bps = 0
guide_bps = 9000
"""


def field_names(response: Any) -> list[str]:
    error = error_of(response, 422)
    assert error["code"] == "invalid_field"
    return [f["field"] for f in error["fields"]]


def product(**changes: Any) -> dict[str, Any]:
    body = {
        "storefront_id": "taobao",
        "title": "Longjing tea 250g",
        "price": 12800,
        "commission_rate_bps": 1500,
        "web_url": "https://item.taobao.com/item.htm?id=123",
    }
    return {**body, **changes}


# -- agencies and creators ----------------------------------------------------------


def test_an_agency_is_created_then_updated(api: Any) -> None:
    created = api.admin("PUT", "/api/v1/agencies/starlight", {"name": "Starlight"})
    assert created.status_code == 201
    assert created.get_json()["name"] == "Starlight"

    updated = api.admin("PUT", "/api/v1/agencies/starlight", {"name": "Starlight MCN"})
    assert updated.status_code == 200
    assert updated.get_json()["name"] == "Starlight MCN"
    assert updated.get_json()["created_at"] == created.get_json()["created_at"]


def test_a_creator_gets_an_api_key_once_on_create(api: Any) -> None:
    api.ok("PUT", "/api/v1/agencies/starlight", {"name": "Starlight"})
    created = api.admin("PUT", "/api/v1/creators/alice", {"name": "Alice"})
    assert created.status_code == 201
    api_key = created.get_json()["api_key"]
    assert api_key

    updated = api.admin(
        "PUT", "/api/v1/creators/alice", {"name": "Alice W.", "agency_id": "starlight"}
    )
    assert updated.status_code == 200
    assert "api_key" not in updated.get_json()
    assert updated.get_json()["agency_id"] == "starlight"
    # The update did not replace the key.
    assert api.call("GET", "/api/v1/programs", token=api_key).status_code == 200


def test_a_creator_in_an_unknown_agency_is_refused(api: Any, store: Any) -> None:
    api.ok("PUT", "/api/v1/agencies/starlight", {"name": "Starlight"})
    before = snapshot(store)
    response = api.admin("PUT", "/api/v1/creators/alice", {"name": "Alice", "agency_id": "ghost"})
    assert field_names(response) == ["agency_id"]
    assert snapshot(store) == before


def test_api_keys_are_hashed_at_rest(api: Any, store: Any) -> None:
    shown = [api.ok("PUT", "/api/v1/creators/alice", {"name": "Alice"})["api_key"]]
    shown.append(api.ok("POST", "/api/v1/creators/alice/api-key")["api_key"])
    shown.append(api.ok("PUT", "/api/v1/creators/bob", {"name": "Bob"})["api_key"])

    dumped = repr(snapshot(store))
    for api_key in shown:
        secret_part = api_key[-32:]
        assert secret_part not in dumped
    # ... and yet the keys in force still authenticate.
    assert api.call("GET", "/api/v1/programs", token=shown[1]).status_code == 200
    assert api.call("GET", "/api/v1/programs", token=shown[2]).status_code == 200


def test_rotating_an_api_key_retires_the_old_one(api: Any) -> None:
    old = api.ok("PUT", "/api/v1/creators/alice", {"name": "Alice"})["api_key"]
    rotated = api.admin("POST", "/api/v1/creators/alice/api-key")
    assert rotated.status_code == 200
    new = rotated.get_json()["api_key"]
    assert new != old

    assert api.call("GET", "/api/v1/programs", token=new).status_code == 200
    assert error_of(api.call("GET", "/api/v1/programs", token=old), 401)["code"] == "unauthorized"


def test_rotating_the_key_of_an_unknown_creator_is_404(api: Any, store: Any) -> None:
    before = snapshot(store)
    response = api.admin("POST", "/api/v1/creators/ghost/api-key")
    assert error_of(response, 404)["code"] == "not_found"
    assert snapshot(store) == before


# -- storefronts ----------------------------------------------------------------------


def test_a_storefront_gets_its_signing_secret_once_on_create(api: Any) -> None:
    created = api.admin(
        "PUT", "/api/v1/storefronts/youzan", {"name": "Youzan", "hosts": ["shop.youzan.com"]}
    )
    assert created.status_code == 201
    body = created.get_json()
    assert body["click_param"] == "rd_click"
    secret = body["signing_secret"]
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"), validate=True)) >= 24

    updated = api.admin(
        "PUT",
        "/api/v1/storefronts/youzan",
        {"name": "Youzan Mall", "hosts": ["shop.youzan.com", "h5.youzan.com"]},
    )
    assert updated.status_code == 200
    assert "signing_secret" not in updated.get_json()
    assert updated.get_json()["hosts"] == ["shop.youzan.com", "h5.youzan.com"]


@pytest.mark.parametrize("bad_host", ["exa mple.com", "http://x.com", ""])
def test_a_storefront_host_must_be_a_host_name(api: Any, store: Any, bad_host: str) -> None:
    api.world()
    before = snapshot(store)
    response = api.admin(
        "PUT", "/api/v1/storefronts/moku", {"name": "Moku", "hosts": ["moku.com", bad_host]}
    )
    assert field_names(response) == ["hosts[1]"]
    assert snapshot(store) == before


def test_a_storefront_cannot_drop_a_host_its_products_use(api: Any, store: Any) -> None:
    api.world()  # product "cup" lives on detail.tmall.com, allowed by *.tmall.com
    before = snapshot(store)
    response = api.admin(
        "PUT", "/api/v1/storefronts/taobao", {"name": "Taobao", "hosts": ["item.taobao.com"]}
    )
    error = error_of(response, 409)
    assert error["code"] == "conflict"
    assert "cup" in error["message"]
    assert snapshot(store) == before

    # A host no product uses can come and go.
    hosts = ["item.taobao.com", "*.tmall.com"]
    api.ok("PUT", "/api/v1/storefronts/taobao", {"name": "Taobao", "hosts": [*hosts, "m.tb.cn"]})
    assert api.ok("PUT", "/api/v1/storefronts/taobao", {"name": "Taobao", "hosts": hosts})


# -- products -------------------------------------------------------------------------


def test_a_product_url_must_be_on_a_storefront_host(api: Any, store: Any) -> None:
    api.world()
    before = snapshot(store)
    cases = {
        "web_url": product(web_url="https://evil.example.com/item?id=1"),
        "app_url": product(app_url="taobao://evil.example.com/item?id=1"),
    }
    for field, body in cases.items():
        assert field_names(api.admin("PUT", "/api/v1/products/tea2", body)) == [field]
    assert snapshot(store) == before


def test_a_product_deep_link_may_not_run_script(api: Any, store: Any) -> None:
    api.world()
    before = snapshot(store)
    response = api.admin("PUT", "/api/v1/products/tea2", product(app_url="javascript:alert(1)"))
    assert field_names(response) == ["app_url"]
    assert snapshot(store) == before


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example.com\\@item.taobao.com/item.htm",
        "https://evil.example.com\\.detail.tmall.com/item.htm",
    ],
)
def test_a_product_url_cannot_hide_another_host_behind_a_backslash(
    api: Any, store: Any, url: str
) -> None:
    # Browsers read "\" as "/" in http(s) URLs: such a URL goes to evil.example.com.
    api.world()
    before = snapshot(store)
    assert field_names(api.admin("PUT", "/api/v1/products/tea2", product(web_url=url))) == [
        "web_url"
    ]
    assert snapshot(store) == before


def test_a_wildcard_host_allows_subdomains_but_not_the_domain(api: Any) -> None:
    api.world()  # taobao allows *.tmall.com
    allowed = api.admin(
        "PUT", "/api/v1/products/vase", product(web_url="https://detail.tmall.com/item.htm?id=7")
    )
    assert allowed.status_code == 201

    for web_url in ("https://tmall.com/item.htm?id=7", "https://eviltmall.com/item.htm?id=7"):
        response = api.admin("PUT", "/api/v1/products/vase2", product(web_url=web_url))
        assert field_names(response) == ["web_url"]


def test_a_product_on_an_unknown_storefront_is_refused(api: Any, store: Any) -> None:
    api.world()
    before = snapshot(store)
    response = api.admin("PUT", "/api/v1/products/tea2", product(storefront_id="ghost"))
    assert field_names(response) == ["storefront_id"]
    assert snapshot(store) == before


def test_a_product_never_moves_to_another_storefront(api: Any, store: Any) -> None:
    api.world()
    api.ok("PUT", "/api/v1/storefronts/tb2", {"name": "Taobao 2", "hosts": ["item.taobao.com"]})
    before = snapshot(store)
    response = api.admin("PUT", "/api/v1/products/tea", product(storefront_id="tb2"))
    assert error_of(response, 409)["code"] == "conflict"
    assert snapshot(store) == before


@pytest.mark.parametrize(
    ("field", "value"),
    [("price", -1), ("commission_rate_bps", 10001), ("price", "12"), ("active", "yes")],
)
def test_product_numbers_are_checked(api: Any, store: Any, field: str, value: Any) -> None:
    api.world()
    before = snapshot(store)
    response = api.admin("PUT", "/api/v1/products/tea2", product(**{field: value}))
    assert field_names(response) == [field]
    assert snapshot(store) == before


def sell(api: Any, world: dict[str, Any], link: dict[str, Any], order_id: str, amount: int) -> None:
    """A shopper clicks ``link`` and pays for an order on the taobao storefront."""
    click = api.client.get(link["url"], headers={"User-Agent": DESKTOP_CHROME})
    click_id = parse_qs(urlsplit(click.headers["Location"]).query)["rd_click"][0]
    now = datetime.fromisoformat(api.ok("GET", "/api/v1/clock")["now"])
    shop = StorefrontClient(
        "taobao",
        world["shop"]["signing_secret"],
        lambda path, body, headers: api.client.post(path, data=body, headers=headers),
        clock=lambda: now,
    )
    paid = shop.send(shop.event(order_id, "paid", amount, now, click_id=click_id))
    assert paid.status_code == 200, paid.get_json()
    assert paid.get_json()["attributed"]


# -- programs ------------------------------------------------------------------------


def test_programs_are_shown_to_anyone_authenticated(api: Any) -> None:
    world = api.world()
    expected = {(channel, 1000, 3000, 6000, 15, 0) for channel in ("weibo", "douyin", "kuaishou")}
    for token in (ADMIN_TOKEN, world["alice"]):
        programs = api.ok("GET", "/api/v1/programs", token=token)["programs"]
        assert {
            (
                p["channel"],
                p["network_bps"],
                p["platform_bps"],
                p["guide_bps"],
                p["window_days"],
                p["holding_days"],
            )
            for p in programs
        } == expected
        assert len(programs) == 3
    assert error_of(api.call("GET", "/api/v1/programs", token=None), 401)["code"] == (
        "unauthorized"
    )


def test_a_programs_file_replaces_the_shipped_programs(
    env: dict[str, str], store: Any, tmp_path: Path
) -> None:
    path = tmp_path / "programs.toml"
    path.write_text(PROGRAMS_TOML, encoding="utf-8")
    settings = Settings.from_env({**env, "REDIRECTOR_PROGRAMS": str(path)})
    client = create_app(settings, store=store, test_config={"TESTING": True}).test_client()

    response = client.get("/api/v1/programs", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    assert response.status_code == 200
    assert response.get_json()["programs"] == [
        {
            "channel": "weibo",
            "network_bps": 1500,
            "platform_bps": 2500,
            "guide_bps": 6000,
            "window_days": 7,
            "holding_days": 10,
        },
        {
            "channel": "xiaohongshu",
            "network_bps": 1000,
            "platform_bps": 0,
            "guide_bps": 9000,
            "window_days": 15,
            "holding_days": 0,
        },
    ]


def test_a_programs_file_whose_shares_do_not_sum_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "programs.toml"
    path.write_text(PROGRAMS_TOML.replace("guide_bps = 9000", "guide_bps = 8999"), "utf-8")
    with pytest.raises(ConfigError, match="REDIRECTOR_PROGRAMS") as caught:
        Settings.from_env({"REDIRECTOR_PROGRAMS": str(path)})
    assert "xiaohongshu" in str(caught.value)
    assert "\n" not in str(caught.value)


# -- bad input changes nothing --------------------------------------------------------

JSON = "application/json"
BAD_REQUESTS = {
    "bad json": (
        dict(method="PUT", path="/api/v1/agencies/starlight", data="{bad", content_type=JSON),
        400,
        "bad_request",
    ),
    "json array": (
        dict(method="PUT", path="/api/v1/agencies/starlight", data='["x"]', content_type=JSON),
        400,
        "bad_request",
    ),
    "json string": (
        dict(
            method="PUT",
            path="/api/v1/agencies/starlight",
            data='"{\\"name\\": \\"Evil\\"}"',
            content_type=JSON,
        ),
        400,
        "bad_request",
    ),
    "missing body": (dict(method="PUT", path="/api/v1/agencies/starlight"), 400, "bad_request"),
    "bad slug in path": (
        dict(method="PUT", path="/api/v1/agencies/Bad_Slug!", json={"name": "Evil"}),
        422,
        "invalid_field",
    ),
    "unknown field": (
        dict(method="PUT", path="/api/v1/agencies/starlight", json={"name": "E", "owner": "x"}),
        422,
        "invalid_field",
    ),
    "wrong token": (
        dict(method="PUT", path="/api/v1/agencies/starlight", json={"name": "Evil"}, token="no"),
        401,
        "unauthorized",
    ),
    "creator token": (
        dict(method="PUT", path="/api/v1/agencies/starlight", json={"name": "Evil"}, token="$bob"),
        403,
        "forbidden",
    ),
    "creator rotates a key": (
        dict(method="POST", path="/api/v1/creators/alice/api-key", token="$bob"),
        403,
        "forbidden",
    ),
    "no authorization": (
        dict(method="PUT", path="/api/v1/products/tea", json=product(price=1), token=None),
        401,
        "unauthorized",
    ),
}


@pytest.mark.parametrize(("request_kw", "status", "code"), BAD_REQUESTS.values(), ids=BAD_REQUESTS)
def test_bad_input_changes_nothing(
    api: Any, store: Any, request_kw: dict[str, Any], status: int, code: str
) -> None:
    world = api.world()
    kw = dict(request_kw)
    token = kw.pop("token", ADMIN_TOKEN)
    if token and token.startswith("$"):
        token = world[token[1:]]
    before = snapshot(store)

    response = api.call(kw.pop("method"), kw.pop("path"), token=token, **kw)

    error = error_of(response, status)
    assert error["code"] == code
    if status == 422:
        assert error["fields"] and all(set(f) == {"field", "message"} for f in error["fields"])
    assert snapshot(store) == before


@pytest.mark.parametrize(
    ("slug", "status"),
    [("a" * 64, 201), ("a" * 65, 422), ("-x", 422), ("_x", 422), ("0_a-b", 201), ("Ab", 422)],
)
def test_slugs_are_1_to_64_lowercase_letters_digits_dashes_and_underscores(
    api: Any, slug: str, status: int
) -> None:
    response = api.call("PUT", f"/api/v1/agencies/{slug}", json={"name": "Starlight"})
    assert response.status_code == status, response.data
