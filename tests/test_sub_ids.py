"""Sub-ids: a creator labels a link with up to three of its own values when
making it (a campaign, an audience, a variant), filters its links by them and
adds its links' stats up per value."""

from __future__ import annotations

from typing import Any

import pytest

from redirector import links
from redirector.errors import InvalidField

from .conftest import ADMIN_TOKEN, IPHONE_WEIBO, Api, Browser, Shop, advance, error_of, snapshot

NO_SUBS = {"sub1": None, "sub2": None, "sub3": None}


def test_a_link_keeps_the_sub_ids_it_was_made_with(api: Api, world: dict) -> None:
    made = api.link(world["alice"], sub_ids={"sub1": "spring-sale", "sub3": "v2.b_1"})
    expected = {"sub1": "spring-sale", "sub2": None, "sub3": "v2.b_1"}

    assert made["sub_ids"] == expected
    assert api.ok("GET", f"/api/v1/links/{made['id']}", token=world["alice"])["sub_ids"] == expected
    listed = api.ok("GET", "/api/v1/links", token=world["alice"])["links"]
    assert [x["sub_ids"] for x in listed] == [expected]
    # Without sub-ids, the three are there all the same, null.
    assert api.link(world["alice"])["sub_ids"] == NO_SUBS


@pytest.mark.parametrize(
    ("sub_ids", "field"),
    [
        ({"sub1": "has space"}, "sub_ids.sub1"),
        ({"sub2": "a:b"}, "sub_ids.sub2"),  # ":" would spell another key
        ({"sub3": "x" * 65}, "sub_ids.sub3"),
        ({"sub1": ""}, "sub_ids.sub1"),
        ({"sub1": "春季"}, "sub_ids.sub1"),
        ({"sub1": 7}, "sub_ids.sub1"),
        ({"sub4": "x"}, "sub_ids.sub4"),
        ({"campaign": "x"}, "sub_ids.campaign"),
        (["x"], "sub_ids"),
    ],
)
def test_a_bad_sub_id_is_422_naming_it_and_makes_nothing(
    api: Api, store: Any, world: dict, sub_ids: Any, field: str
) -> None:
    before = snapshot(store)
    response = api.call(
        "POST",
        "/api/v1/links",
        token=world["alice"],
        json={"product_id": "tea", "channel": "weibo", "sub_ids": sub_ids},
    )
    assert [f["field"] for f in error_of(response, 422)["fields"]] == [field]
    assert snapshot(store) == before


def test_the_longest_sub_id_and_every_allowed_character_are_taken(api: Api, world: dict) -> None:
    value = "Az09_.-" + "x" * 57
    assert len(value) == 64
    assert api.link(world["alice"], sub_ids={"sub2": value})["sub_ids"]["sub2"] == value


def test_the_rule_holds_in_the_domain_too(api: Api, store: Any, world: dict) -> None:
    for sub_ids, field in [({"sub9": "x"}, "sub_ids.sub9"), ({"sub1": "a b"}, "sub_ids.sub1")]:
        new = links.NewLink("tea", "weibo", sub_ids=sub_ids)
        with pytest.raises(InvalidField) as refused:
            links.make_link(store, "alice", new, channels=["weibo"], now_ms=0)
        assert refused.value.to_json()["error"]["fields"][0]["field"] == field


def test_sub_ids_stay_on_the_link_and_never_reach_the_storefront(app: Any, api: Api, world: dict):
    link = api.link(world["alice"], sub_ids={"sub1": "spring", "sub2": "fans", "sub3": "v2"})
    for user_agent in (IPHONE_WEIBO, Browser(app).user_agent):
        location = api.client.get(f"/r/{link['token']}", headers={"User-Agent": user_agent})
        assert location.status_code == 302
        for value in ("spring", "fans", "v2", "sub1"):
            assert value not in location.headers["Location"]


def _ids(answer: dict[str, Any]) -> list[str]:
    return [x["id"] for x in answer["links"]]


def test_links_are_filtered_by_their_sub_ids(api: Api, world: dict, clock: Any) -> None:
    a, b = world["alice"], world["bob"]
    made = {}
    for name, subs in [
        ("spring-fans", {"sub1": "spring", "sub2": "fans"}),
        ("spring-new", {"sub1": "spring", "sub2": "new"}),
        ("autumn-fans", {"sub1": "autumn", "sub2": "fans"}),
        ("plain", {}),
    ]:
        made[name] = api.link(a, sub_ids=subs)["id"]
        advance(clock, minutes=1)
    bob_spring = api.link(b, sub_ids={"sub1": "spring"})["id"]

    def listed(query: str, token: str = a) -> list[str]:
        return _ids(api.ok("GET", f"/api/v1/links?{query}", token=token))

    assert listed("sub1=spring") == [made["spring-new"], made["spring-fans"]]  # newest first
    assert listed("sub2=fans") == [made["autumn-fans"], made["spring-fans"]]
    assert listed("sub1=spring&sub2=fans") == [made["spring-fans"]]
    assert listed("sub1=spring&sub3=x") == []
    assert listed("sub1=winter") == []
    assert listed("sub1=spring&limit=1") == [made["spring-new"]]
    assert listed("sub1=spring&limit=1&offset=1") == [made["spring-fans"]]
    # A creator's filter reads its own links; bob's spring is bob's.
    assert listed("sub1=spring", token=b) == [bob_spring]
    assert listed("sub1=spring&creator_id=alice", token=b) == [bob_spring]
    # The admin names the creator: a sub-id is one creator's label.
    assert listed("sub1=spring&creator_id=alice", token=ADMIN_TOKEN) == [
        made["spring-new"],
        made["spring-fans"],
    ]
    refused = api.call("GET", "/api/v1/links?sub1=spring")
    assert [f["field"] for f in error_of(refused, 422)["fields"]] == ["creator_id"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("sub1=a%20b", "sub1"),
        ("sub3=" + "x" * 65, "sub3"),
        ("sub4=x", "sub4"),
        ("sub_1=x", "sub_1"),
    ],
)
def test_a_bad_or_unknown_filter_is_422_never_ignored(
    api: Api, world: dict, query: str, field: str
) -> None:
    response = api.call("GET", f"/api/v1/links?{query}", token=world["alice"])
    assert [f["field"] for f in error_of(response, 422)["fields"]] == [field]


def test_stats_add_up_per_sub_id_value_and_to_the_creators_totals(
    app: Any, api: Api, world: dict, shop: Shop, clock: Any
) -> None:
    a = world["alice"]
    spring_1 = api.link(a, sub_ids={"sub1": "spring", "sub2": "fans"})
    spring_2 = api.link(a, "cup", sub_ids={"sub1": "spring", "sub2": "new"})
    autumn = api.link(a, sub_ids={"sub1": "autumn"})
    plain = api.link(a)
    bobs = api.link(world["bob"], sub_ids={"sub1": "spring"})
    one, two = Browser(app), Browser(app, IPHONE_WEIBO)
    paid = {}
    visits = [(one, spring_1), (one, spring_1), (two, spring_1), (two, spring_2)]
    visits += [(one, autumn), (two, plain), (one, bobs)]
    for n, (browser, link) in enumerate(visits):
        paid[n] = browser.click(link)
    api.client.head(f"/r/{spring_2['token']}")  # a bot: counted apart
    shop.ok("O-1", "paid", 12800, click_id=paid[0])  # spring_1, tea 15%
    shop.ok("O-2", "paid", 5900, click_id=paid[3])  # spring_2, cup 20%
    shop.ok("O-3", "paid", 10000, click_id=paid[5])  # plain
    shop.ok("O-4", "paid", 3000, click_id=paid[6])  # bob's

    answer = api.ok("GET", "/api/v1/links/stats?by=sub1", token=a)

    assert (answer["creator_id"], answer["by"], answer["filters"]) == ("alice", "sub1", {})
    groups = {g["value"]: g for g in answer["groups"]}
    assert [g["value"] for g in answer["groups"]] == ["autumn", "spring", None]
    assert groups["spring"]["links"] == 2
    assert groups["spring"]["stats"] == {
        "clicks": 4,
        "unique_clicks": 3,
        "bot_clicks": 1,
        "suspicious_clicks": 0,
        "orders": 2,
        "gmv": 12800 + 5900,
        "commission": 1920 + 1180,
    }
    assert groups["autumn"]["stats"]["clicks"] == 1 and groups["autumn"]["stats"]["orders"] == 0
    assert groups[None]["links"] == 1 and groups[None]["stats"]["gmv"] == 10000
    # The groups add up to the totals, and the totals to every one of alice's links.
    every = api.ok("GET", "/api/v1/links", token=a)["links"]
    for name, total in answer["totals"]["stats"].items():
        assert sum(g["stats"][name] for g in answer["groups"]) == total
        assert sum(x["stats"][name] for x in every) == total
    assert answer["totals"]["links"] == len(every) == 4

    # Grouped by another sub-id, within a filter.
    by_sub2 = api.ok("GET", "/api/v1/links/stats?by=sub2&sub1=spring", token=a)
    assert by_sub2["filters"] == {"sub1": "spring"}
    assert [(g["value"], g["links"], g["stats"]["orders"]) for g in by_sub2["groups"]] == [
        ("fans", 1, 1),
        ("new", 1, 1),
    ]
    assert by_sub2["totals"]["stats"] == groups["spring"]["stats"]

    # The admin names the creator; bob's spring is bob's alone.
    as_admin = api.ok("GET", "/api/v1/links/stats?by=sub1&creator_id=alice")
    assert as_admin == answer
    bob = api.ok("GET", "/api/v1/links/stats?by=sub1", token=world["bob"])
    assert [(g["value"], g["stats"]["gmv"]) for g in bob["groups"]] == [("spring", 3000)]


@pytest.mark.parametrize(
    ("query", "token", "field"),
    [
        ("", "alice", "by"),
        ("by=sub4", "alice", "by"),
        ("by=sub1&sub2=a%20b", "alice", "sub2"),
        ("by=sub1&extra=1", "alice", "extra"),
        ("by=sub1", None, "creator_id"),
    ],
)
def test_stats_by_sub_id_refuse_bad_queries(
    api: Api, world: dict, query: str, token: str | None, field: str
) -> None:
    key = world[token] if token else ADMIN_TOKEN
    response = api.call("GET", f"/api/v1/links/stats?{query}", token=key)
    assert [f["field"] for f in error_of(response, 422)["fields"]] == [field]


def test_a_creator_with_no_links_gets_empty_groups(api: Api, world: dict) -> None:
    answer = api.ok("GET", "/api/v1/links/stats?by=sub3", token=world["bob"])
    assert answer["groups"] == []
    assert answer["totals"]["links"] == 0
    assert set(answer["totals"]["stats"].values()) == {0}
