"""Where a click may go: app URLs only on http(s) or the storefront's own app
schemes (never a scheme that hands the phone elsewhere), hosts that are DNS
names, and wildcards that never span a public suffix."""

from __future__ import annotations

from typing import Any

import pytest

from redirector import destinations
from redirector.destinations import Allowed, check_destination
from redirector.errors import InvalidField

from .conftest import Api, error_of, snapshot
from .test_registry import field_names, product

HANDOVERS = [
    # Android: the intent carries its own fallback URL, opened when the app is missing.
    "intent://item.taobao.com/item.htm?id=1#Intent;scheme=https;"
    "S.browser_fallback_url=https%3A%2F%2Fevil.example%2F;end",
    # iOS: installs whatever app the manifest at ``url`` names.
    "itms-services://item.taobao.com/?action=download-manifest&url=https://evil.example/m.plist",
    "android-app://item.taobao.com/https/evil.example/",
    "javascript://item.taobao.com/%0aalert(1)",
    "data://item.taobao.com/,hello",
    "file://item.taobao.com/etc/passwd",
]


@pytest.mark.parametrize("app_url", HANDOVERS)
def test_an_app_url_that_hands_the_phone_elsewhere_is_refused(
    api: Api, world: dict, store: Any, app_url: str
) -> None:
    before = snapshot(store)
    response = api.admin("PUT", "/api/v1/products/tea2", product(app_url=app_url))
    assert field_names(response) == ["app_url"]
    assert snapshot(store) == before


@pytest.mark.parametrize(
    "scheme", ["intent", "itms-services", "javascript", "data", "file", "vbscript", "about", "blob"]
)
def test_a_storefront_cannot_declare_a_dangerous_scheme(
    api: Api, store: Any, clock: Any, scheme: str
) -> None:
    before = snapshot(store)
    body = {"name": "Shop", "hosts": ["shop.example.com"], "app_schemes": ["shop", scheme]}
    response = api.admin("PUT", "/api/v1/storefronts/shop", body)
    assert field_names(response) == ["app_schemes[1]"]
    assert snapshot(store) == before


@pytest.mark.parametrize("scheme", ["https", "HTTP", "1shop", "sh op", "shop:", "shop/x", ""])
def test_an_app_scheme_is_a_url_scheme_other_than_the_webs(api: Api, scheme: str) -> None:
    body = {"name": "Shop", "hosts": ["shop.example.com"], "app_schemes": [scheme]}
    response = api.admin("PUT", "/api/v1/storefronts/shop", body)
    assert error_of(response, 422)["code"] in ("invalid_field", "validation_error")


def test_only_the_storefronts_own_app_schemes_are_allowed(api: Api, world: dict) -> None:
    # The world's taobao declares "taobao" and "tmall", lower-cased and kept in order.
    assert world["shop"]["app_schemes"] == ["taobao", "tmall"]
    mine = "tmall://detail.tmall.com/item.htm?id=7"
    assert api.admin("PUT", "/api/v1/products/vase", product(app_url=mine)).status_code == 201
    for other in ("youzan://item.taobao.com/item.htm?id=7", "//item.taobao.com/item.htm"):
        response = api.admin("PUT", "/api/v1/products/vase2", product(app_url=other))
        assert field_names(response) == ["app_url"]
    web = "https://item.taobao.com/item.htm?id=7"  # a web page is a fine app URL too
    assert api.admin("PUT", "/api/v1/products/vase3", product(app_url=web)).status_code == 201
    # A web URL is http(s) only, whatever the storefront declares.
    response = api.admin("PUT", "/api/v1/products/vase4", product(web_url=mine))
    assert field_names(response) == ["web_url"]


def test_a_storefront_saved_without_app_schemes_keeps_them_and_cannot_drop_a_used_one(
    api: Api, world: dict, store: Any
) -> None:
    hosts = ["item.taobao.com", "*.tmall.com"]
    kept = api.ok("PUT", "/api/v1/storefronts/taobao", {"name": "Taobao", "hosts": hosts})
    assert kept["app_schemes"] == ["taobao", "tmall"]

    before = snapshot(store)
    body = {"name": "Taobao", "hosts": hosts, "app_schemes": ["tmall"]}
    error = error_of(api.admin("PUT", "/api/v1/storefronts/taobao", body), 409)
    assert "tea" in error["message"] and "taobao" in error["message"]
    assert snapshot(store) == before

    body["app_schemes"] = ["taobao"]  # tmall is used by no product: it may go
    assert api.ok("PUT", "/api/v1/storefronts/taobao", body)["app_schemes"] == ["taobao"]


def test_a_new_storefront_declares_no_app_scheme_unless_told(api: Api) -> None:
    made = api.ok("PUT", "/api/v1/storefronts/jd", {"name": "JD", "hosts": ["item.jd.com"]})
    assert made["app_schemes"] == []
    app = "openapp.jdmobile://item.jd.com/1.html"
    body = {**product(storefront_id="jd", web_url="https://item.jd.com/1.html"), "app_url": app}
    assert field_names(api.admin("PUT", "/api/v1/products/jd1", body)) == ["app_url"]
    api.ok(
        "PUT",
        "/api/v1/storefronts/jd",
        {"name": "JD", "hosts": ["item.jd.com"], "app_schemes": ["openapp.jdmobile"]},
    )
    assert api.admin("PUT", "/api/v1/products/jd1", body).status_code == 201


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example%2f.tmall.com/item.htm",  # an app may decode it to evil.example/
        "https://evil.example%2F.detail.tmall.com/",
        "https://a..tmall.com/item.htm",
        "https://-a.tmall.com/item.htm",
        "https://a_b.tmall.com/item.htm",
        "https://detail.tmall.com:99999/item.htm",
    ],
)
def test_a_product_host_must_be_a_dns_name(api: Api, world: dict, store: Any, url: str) -> None:
    before = snapshot(store)
    for field in ("web_url", "app_url"):
        response = api.admin("PUT", "/api/v1/products/vase", product(**{field: url}))
        assert field_names(response) == [field]
    assert snapshot(store) == before


# -- wildcards never span a public suffix ------------------------------------------------


@pytest.mark.parametrize(
    "wildcard",
    ["*.com", "*.com.cn", "*.co.uk", "*.github.io", "*.s3.amazonaws.com", "*.test", "*.cn"],
)
def test_a_wildcard_over_a_public_suffix_is_refused(
    api: Api, store: Any, clock: Any, wildcard: str
) -> None:
    before = snapshot(store)
    body = {"name": "Shop", "hosts": ["shop.example.com", wildcard]}
    assert field_names(api.admin("PUT", "/api/v1/storefronts/shop", body)) == ["hosts[1]"]
    assert snapshot(store) == before


@pytest.mark.parametrize(
    "wildcard", ["*.tmall.com", "*.example.com.cn", "*.shop.co.uk", "*.me.github.io", "*.a.test"]
)
def test_a_wildcard_over_a_registered_domain_is_accepted(api: Api, wildcard: str) -> None:
    made = api.ok("PUT", "/api/v1/storefronts/shop", {"name": "Shop", "hosts": [wildcard]})
    assert made["hosts"] == [wildcard]


def test_the_rules_as_plain_functions() -> None:
    assert destinations.spans_public_suffix("com.cn")
    assert destinations.spans_public_suffix("github.io")  # the list's private section counts
    assert not destinations.spans_public_suffix("taobao.com")
    assert destinations.valid_host_name("item.taobao.com.")
    assert not destinations.valid_host_name("item%2etaobao.com")
    allowed = Allowed("taobao", ("item.taobao.com",), ("taobao",))
    check_destination("app_url", "TAOBAO://item.taobao.com/x", allowed, web=False)
    with pytest.raises(InvalidField):
        check_destination("app_url", "intent://item.taobao.com/x", allowed, web=False)
    with pytest.raises(InvalidField):
        check_destination("web_url", "taobao://item.taobao.com/x", allowed, web=True)
    assert destinations.normalize_app_schemes([" Taobao", "taobao", "tmall"]) == [
        "taobao",
        "tmall",
    ]
