"""The product library: a product's showcase fields (category, image, share
code), how creators and admins search the library, and its indexes."""

from __future__ import annotations

from typing import Any

import pytest

from redirector import registry
from redirector.config import Settings
from redirector.errors import ConfigError
from redirector.extension import context

from .conftest import error_of, snapshot


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


# -- the showcase fields --------------------------------------------------------------


def test_a_product_carries_a_category_an_image_and_a_share_code(api: Any, app: Any) -> None:
    api.world()
    saved = api.ok(
        "PUT",
        "/api/v1/products/tea2",
        product(
            category="tea",
            image_url="https://img.tmall.com/tea.jpg",
            share_code="￥AbC123￥",
        ),
    )
    assert (saved["category"], saved["image_url"], saved["share_code"]) == (
        "tea",
        "https://img.tmall.com/tea.jpg",
        "￥AbC123￥",
    )
    with app.app_context():
        held = registry.product(context(), "tea2")
    assert {k: v for k, v in held.items() if not k.endswith("_at")} == {
        k: v for k, v in saved.items() if not k.endswith("_at")
    }
    # Saved again without them, the product has none (a PUT says the whole product).
    again = api.ok("PUT", "/api/v1/products/tea2", product())
    assert (again["category"], again["image_url"], again["share_code"]) == (None, None, None)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("category", "Tea Leaves"),
        ("category", ""),
        ("image_url", "http://item.taobao.com/tea.jpg"),
        ("image_url", "https://evil.example.com/tea.jpg"),
        ("image_url", "https://item.taobao.com/a b.jpg"),
        ("image_url", "https://item.taobao.com\\@evil.example.com/x.jpg"),
        ("image_url", "javascript:alert(1)"),
        ("image_url", "https://item.taobao.com/茶.jpg"),
        ("image_url", ""),
        ("share_code", "￥AbC\n123￥"),
        ("share_code", "￥AbC\u202e123￥"),
        ("share_code", "x" * 65),
        ("share_code", " ￥AbC123￥"),
        ("share_code", ""),
        ("share_code", 12),
    ],
)
def test_the_showcase_fields_are_checked(api: Any, store: Any, field: str, value: Any) -> None:
    api.world()
    before = snapshot(store)
    response = api.admin("PUT", "/api/v1/products/tea2", product(**{field: value}))
    assert field_names(response) == [field]
    assert snapshot(store) == before


def test_a_share_code_may_be_any_text_a_shopping_app_reads(api: Any) -> None:
    api.world()
    codes = ["￥AbC123￥", "€Xy9z€", "(AbC123)", "¥" + "A" * 62 + "¥", "复制这段话 ₤k8sP₤ 打开"]
    for code in codes:
        saved = api.ok("PUT", "/api/v1/products/tea2", product(share_code=code))
        assert saved["share_code"] == code


@pytest.fixture
def env_with_image_host(env: dict[str, str]) -> dict[str, str]:
    env["REDIRECTOR_IMAGE_HOSTS"] = "img.alicdn.com, *.cdn.example.com"
    return env


def test_an_image_may_come_from_the_deployments_image_hosts(
    env_with_image_host: dict[str, str], api: Any
) -> None:
    api.world()
    for url in ("https://img.alicdn.com/tea.jpg", "https://a.cdn.example.com/tea.jpg"):
        assert api.ok("PUT", "/api/v1/products/tea2", product(image_url=url))["image_url"] == url
    response = api.admin(
        "PUT", "/api/v1/products/tea2", product(image_url="https://alicdn.com/tea.jpg")
    )
    assert field_names(response) == ["image_url"]


@pytest.mark.parametrize("hosts", ["*.com", "img alicdn.com", "*.com.cn", "https://img.x.com"])
def test_image_hosts_are_checked_like_a_storefronts(hosts: str) -> None:
    with pytest.raises(ConfigError, match="REDIRECTOR_IMAGE_HOSTS"):
        Settings.from_env({"REDIRECTOR_IMAGE_HOSTS": hosts}, generate_missing=True)


def test_image_hosts_are_read_from_the_environment() -> None:
    settings = Settings.from_env({"REDIRECTOR_IMAGE_HOSTS": " IMG.alicdn.com,,*.cdn.example.com "})
    assert settings.image_hosts == ("img.alicdn.com", "*.cdn.example.com")
    assert Settings.from_env({}).image_hosts == ()
