"""The rules the API and the console share live in the domain, and hold when
called there directly: who makes links, which channel, which ids name
something, whose earnings, what the showcase shows; and the API's models
validate with the domain's own patterns."""

from __future__ import annotations

from typing import Any

import pytest

from redirector import earnings, keys, links, orders, registry, showcase
from redirector.api import schemas
from redirector.errors import Forbidden, InvalidField, NotFound
from redirector.extension import context_of

from .conftest import Api, snapshot


def test_links_are_made_by_creators_before_anything_else_is_checked(store: Any) -> None:
    before = snapshot(store)
    with pytest.raises(Forbidden):
        links.make_link(store, None, links.NewLink("ghost", "nowhere"), channels=[], now_ms=0)
    assert snapshot(store) == before


def test_a_link_channel_must_have_a_program_before_its_product_is_looked_up(
    store: Any,
) -> None:
    with pytest.raises(InvalidField) as refused:
        links.make_link(
            store, "bob", links.NewLink("ghost", "myspace"), channels=["weibo"], now_ms=0
        )
    assert refused.value.to_json()["error"]["fields"][0]["field"] == "channel"
    with pytest.raises(InvalidField) as refused:
        links.make_link(store, "bob", links.NewLink("ghost", "weibo"), channels=["weibo"], now_ms=0)
    assert refused.value.to_json()["error"]["fields"][0]["field"] == "product_id"


def test_a_post_id_and_a_placement_follow_the_rules_in_the_domain_too(api: Api, store: Any) -> None:
    api.world()
    for new, field in [
        (links.NewLink("tea", "weibo", post_id="no spaces"), "post_id"),
        (links.NewLink("tea", "weibo", placement="billboard"), "placement"),  # type: ignore[arg-type]
    ]:
        with pytest.raises(InvalidField) as refused:
            links.make_link(store, "bob", new, channels=["weibo"], now_ms=0)
        assert refused.value.to_json()["error"]["fields"][0]["field"] == field


@pytest.mark.parametrize("raw", ["short", "AbCdE12345x", "AbCdE1234!", "AbCdE12345\n"])
def test_a_malformed_link_id_names_no_link(raw: str) -> None:
    with pytest.raises(NotFound):
        links.known_link_id(raw)
    assert links.known_link_id("AbCdE12345") == "AbCdE12345"


def test_the_showcase_of_a_malformed_creator_id_is_not_found(api: Api, store: Any) -> None:
    # "bob:links" is no slug, but it would name the key of bob's links.
    bob = api.world()["bob"]
    api.link(bob)
    for creator_id in ("bob:links", "Not A Slug"):
        with pytest.raises(NotFound):
            showcase.showcase(store, creator_id)
    assert showcase.showcase(store, "bob").items


def test_a_creator_sees_only_its_own_earnings(app: Any, api: Api) -> None:
    api.world()
    ctx = context_of(app)
    with pytest.raises(Forbidden):
        earnings.earnings_seen_by(ctx, "bob", "alice", None)
    with pytest.raises(NotFound):
        earnings.earnings_seen_by(ctx, None, "nobody", None)
    assert earnings.earnings_seen_by(ctx, "alice", "alice", None)["creator_id"] == "alice"
    assert earnings.earnings_seen_by(ctx, None, "alice", None)["creator_id"] == "alice"


def test_the_api_models_validate_with_the_domain_patterns() -> None:
    def pattern(model: Any, field: str) -> str:
        spec = model.model_json_schema()["properties"][field]
        return next(s for s in spec.get("anyOf", [spec]) if "pattern" in s)["pattern"]

    assert pattern(schemas.CreatorPath, "creator_id") == registry.SLUG.pattern
    assert pattern(schemas.StorefrontBody, "click_param") == registry.CLICK_PARAM.pattern
    assert pattern(schemas.LinkBody, "post_id") == links.POST_ID.pattern
    assert pattern(schemas.OrderPath, "order_id") == orders.ORDER_ID_PATTERN
    placement = schemas.LinkBody.model_json_schema()["properties"]["placement"]["anyOf"][0]
    assert tuple(placement["enum"]) == links.PLACEMENTS


def test_recent_orders_are_the_newest_first(store: Any) -> None:
    for i, ref in enumerate(["shop:o-1", "shop:o-2", "shop:o-3"]):
        store.zadd(keys.orders(), {ref: i})
    seen: list[tuple[str, str]] = []

    def get_order(r: Any, storefront_id: str, order_id: str) -> dict[str, Any]:
        seen.append((storefront_id, order_id))
        return {"order_id": order_id}

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(orders.service, "get_order", get_order)  # where recent_orders reads it
        assert [o["order_id"] for o in orders.recent_orders(store, 2)] == ["o-3", "o-2"]
    assert seen == [("shop", "o-3"), ("shop", "o-2")]
