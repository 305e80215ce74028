"""Tracking links through the API: creators make them, read their own, and
switch them off; admins see them all."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

import pytest

from .conftest import ADMIN_TOKEN, DESKTOP_CHROME, error_of, snapshot

LINK_ID = re.compile(r"^[A-Za-z0-9]{10}$")
RFC3339_SHANGHAI = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?\+08:00$")
ZERO_STATS = {
    "clicks": 0,
    "unique_clicks": 0,
    "bot_clicks": 0,
    "suspicious_clicks": 0,
    "orders": 0,
    "gmv": 0,
    "commission": 0,
}


def advance(api: Any, seconds: int) -> None:
    """Move the mock clock on, so that links made one after the other differ in time."""
    now = datetime.fromisoformat(api.ok("GET", "/api/v1/clock")["now"])
    api.ok("PUT", "/api/v1/clock", {"now": (now + timedelta(seconds=seconds)).isoformat()})


def test_only_creators_make_links(api: Any, store: Any) -> None:
    api.world()
    before = snapshot(store)
    response = api.admin("POST", "/api/v1/links", {"product_id": "tea", "channel": "weibo"})
    assert error_of(response, 403)["code"] == "forbidden"
    assert snapshot(store) == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"product_id": "ghost", "channel": "weibo"}, "product_id"),
        ({"product_id": "cup", "channel": "weibo"}, "product_id"),  # deactivated below
        ({"product_id": "tea", "channel": "tiktok"}, "channel"),
        ({"product_id": "tea", "channel": "weibo", "placement": "billboard"}, "placement"),
        ({"product_id": "tea", "channel": "weibo", "post_id": "has spaces"}, "post_id"),
    ],
    ids=["unknown product", "inactive product", "unknown channel", "bad placement", "bad post"],
)
def test_a_link_needs_a_live_product_and_a_known_channel(
    api: Any, store: Any, body: dict[str, Any], field: str
) -> None:
    world = api.world()
    cup = {
        "storefront_id": "taobao",
        "title": "Celadon cup",
        "price": 5900,
        "commission_rate_bps": 2000,
        "web_url": "https://detail.tmall.com/item.htm?id=9",
        "active": False,
    }
    assert api.ok("PUT", "/api/v1/products/cup", cup)["active"] is False
    before = snapshot(store)

    response = api.call("POST", "/api/v1/links", token=world["alice"], json=body)

    error = error_of(response, 422)
    assert [f["field"] for f in error["fields"]] == [field]
    assert snapshot(store) == before


def test_a_new_link_answers_everything_a_creator_needs_to_post_it(api: Any) -> None:
    world = api.world()
    response = api.call(
        "POST",
        "/api/v1/links",
        token=world["alice"],
        json={"product_id": "tea", "channel": "douyin", "post_id": "v.7301", "placement": "video"},
    )
    assert response.status_code == 201
    link = response.get_json()

    assert LINK_ID.match(link["id"])
    assert link["token"].startswith(link["id"] + ".")
    assert link["url"] == f"https://go.example.test/r/{link['token']}"
    assert {k: link[k] for k in ("creator_id", "product_id", "storefront_id", "channel")} == {
        "creator_id": "alice",
        "product_id": "tea",
        "storefront_id": "taobao",
        "channel": "douyin",
    }
    assert (link["post_id"], link["placement"], link["active"]) == ("v.7301", "video", True)
    assert RFC3339_SHANGHAI.match(link["created_at"]), link["created_at"]
    assert datetime.fromisoformat(link["created_at"]).utcoffset() == timedelta(hours=8)
    assert link["stats"] == ZERO_STATS

    # The url is the one the redirect answers.
    click = api.client.get(f"/r/{link['token']}", headers={"User-Agent": DESKTOP_CHROME})
    assert click.status_code == 302
    assert click.headers["Location"].startswith("https://item.taobao.com/item.htm?id=123")


def test_a_creator_pages_through_its_own_links_newest_first(api: Any) -> None:
    world = api.world()
    made = []
    for post in ("p1", "p2", "p3"):
        made.append(api.link(world["alice"], post_id=post)["id"])
        advance(api, 60)
    api.link(world["bob"], post_id="bob-post")
    newest_first = made[::-1]

    def page(query: str, token: str = world["alice"]) -> dict[str, Any]:
        return api.ok("GET", f"/api/v1/links{query}", token=token)

    everything = page("")
    assert [link["id"] for link in everything["links"]] == newest_first
    assert everything["next_offset"] is None
    assert {link["creator_id"] for link in everything["links"]} == {"alice"}
    # Asking for another creator's links still answers only one's own.
    assert [link["id"] for link in page("?creator_id=bob")["links"]] == newest_first

    first = page("?limit=2")
    assert [link["id"] for link in first["links"]] == newest_first[:2]
    assert first["next_offset"] == 2
    rest = page(f"?limit=2&offset={first['next_offset']}")
    assert [link["id"] for link in rest["links"]] == newest_first[2:]
    assert rest["next_offset"] is None
    assert all(link["url"].endswith(link["token"]) for link in rest["links"])


def test_an_admin_sees_every_link_and_can_filter_by_creator(api: Any) -> None:
    world = api.world()
    alices = api.link(world["alice"])["id"]
    advance(api, 1)
    bobs = api.link(world["bob"], product_id="cup")["id"]

    def ids(query: str = "") -> list[str]:
        return [link["id"] for link in api.ok("GET", f"/api/v1/links{query}")["links"]]

    assert ids() == [bobs, alices]
    assert ids("?creator_id=alice") == [alices]
    assert ids("?creator_id=bob") == [bobs]
    assert api.ok("GET", f"/api/v1/links/{bobs}")["creator_id"] == "bob"


def test_another_creators_link_is_not_found(api: Any, store: Any) -> None:
    world = api.world()
    link = api.link(world["alice"])
    before = snapshot(store)

    for method in ("GET", "DELETE"):
        response = api.call(method, f"/api/v1/links/{link['id']}", token=world["bob"])
        assert error_of(response, 404)["code"] == "not_found"

    assert snapshot(store) == before
    assert api.ok("GET", f"/api/v1/links/{link['id']}", token=world["alice"])["active"] is True


@pytest.mark.parametrize("link_id", ["short", "ten-chars!", "a" * 65, "abcdefghi%C3%A9"])
def test_a_malformed_link_id_is_not_found(api: Any, store: Any, link_id: str) -> None:
    api.world()
    before = snapshot(store)
    for method in ("GET", "DELETE"):
        response = api.call(method, f"/api/v1/links/{link_id}")
        assert error_of(response, 404)["code"] == "not_found"
    assert snapshot(store) == before


def test_deleting_a_link_disables_it_once_and_for_all(api: Any, store: Any) -> None:
    world = api.world()
    link = api.link(world["alice"])

    disabled = api.call("DELETE", f"/api/v1/links/{link['id']}", token=world["alice"])
    assert disabled.status_code == 200
    assert disabled.get_json()["active"] is False
    assert disabled.get_json()["id"] == link["id"]
    assert api.ok("GET", f"/api/v1/links/{link['id']}", token=world["alice"])["active"] is False
    assert api.client.get(f"/r/{link['token']}").status_code == 410

    # Again, later, by the creator or by an admin: the same answer, nothing changes.
    advance(api, 3600)
    before = snapshot(store)
    for token in (world["alice"], ADMIN_TOKEN):
        again = api.call("DELETE", f"/api/v1/links/{link['id']}", token=token)
        assert again.status_code == 200
        assert again.get_json() == disabled.get_json()
    assert snapshot(store) == before
