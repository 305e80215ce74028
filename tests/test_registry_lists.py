"""The admin's lists of the registry (``GET /api/v1/agencies``, ``/creators``,
``/storefronts``): by id, paged by cursor, each entry exactly once also while
entries are added, never a secret or a key's hash; admins only."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from redirector import keys, paging, registry

from .conftest import Api, error_of, snapshot

LISTS = ("agencies", "creators", "storefronts")
MADE = itertools.count()


def make(api: Api, kind: str, item_id: str) -> dict[str, Any]:
    body: dict[str, Any] = {"name": f"{kind} {item_id}"}
    if kind == "storefronts":
        body["hosts"] = [f"{item_id}.example.com"]
    return api.ok("PUT", f"/api/v1/{kind}/{item_id}", body)


def every_page(api: Api, kind: str, limit: int) -> list[list[str]]:
    pages: list[list[str]] = []
    cursor = None
    for _ in range(1000):
        query = f"limit={limit}" + (f"&cursor={cursor}" if cursor else "")
        answer = api.ok("GET", f"/api/v1/{kind}?{query}")
        assert set(answer) == {"items", "next_cursor"}
        pages.append([item["id"] for item in answer["items"]])
        cursor = answer["next_cursor"]
        if cursor is None:
            return pages
    raise AssertionError("the pages never ended")


@pytest.mark.parametrize("kind", LISTS)
def test_each_list_pages_by_id_and_the_last_page_says_so(api: Api, kind: str) -> None:
    ids = ["b-2", "a", "c", "b-10", "a0"]
    for item_id in ids:
        make(api, kind, item_id)
    assert every_page(api, kind, 2) == [["a", "a0"], ["b-10", "b-2"], ["c"]]
    assert every_page(api, kind, 5) == [sorted(ids)]
    assert every_page(api, kind, 1000) == [sorted(ids)]


def test_an_empty_registry_lists_nothing(api: Api) -> None:
    for kind in LISTS:
        assert api.ok("GET", f"/api/v1/{kind}") == {"items": [], "next_cursor": None}


def test_the_entries_are_as_their_own_endpoints_show_them_without_secrets(
    api: Api, world: dict[str, Any], store: Any
) -> None:
    rotated = api.ok("POST", "/api/v1/storefronts/taobao/signing-secret", {"grace_seconds": 60})
    agencies = api.ok("GET", "/api/v1/agencies")["items"]
    assert agencies == [
        {"id": "starlight", "name": "Starlight MCN", "created_at": agencies[0]["created_at"]}
    ]
    creators = api.ok("GET", "/api/v1/creators")["items"]
    assert [c["id"] for c in creators] == ["alice", "bob"]
    assert creators[0] == {
        "id": "alice",
        "name": "Alice",
        "agency_id": "starlight",
        "created_at": "2026-11-20T10:00:00.000+08:00",
    }
    assert creators[1]["agency_id"] is None
    storefronts = api.ok("GET", "/api/v1/storefronts")["items"]
    assert storefronts == [{k: v for k, v in world["shop"].items() if k != "signing_secret"}]
    # No secret, sealed or not, and no key's hash, anywhere in the answers.
    body = "".join(api.call("GET", f"/api/v1/{kind}").get_data(as_text=True) for kind in LISTS)
    hidden = [
        world["alice"],
        world["bob"],
        world["shop"]["signing_secret"],
        rotated["signing_secret"],
        registry.hash_api_key(world["alice"]),
        registry.hash_api_key(world["bob"]),
        *(s["sealed"] for s in registry.get_storefront(store, "taobao").signing_secrets),
    ]
    assert [secret for secret in hidden if secret in body] == []
    assert "secret" not in body and "api_key" not in body


@pytest.mark.parametrize("kind", LISTS)
def test_a_creator_may_not_list_the_registry(api: Api, world: dict[str, Any], kind: str) -> None:
    error_of(api.call("GET", f"/api/v1/{kind}", token=world["alice"]), 403)
    error_of(api.call("GET", f"/api/v1/{kind}", token=None), 401)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("offset=2", "offset"),
        ("q=a", "q"),
        ("limit=0", "limit"),
        ("limit=1001", "limit"),
        ("cursor=%%%", "cursor"),
        ("cursor=" + paging.cursor(["creators", "alice"]), "cursor"),  # another list's
        ("cursor=" + paging.cursor(["agencies", 5]), "cursor"),
        ("cursor=" + paging.cursor(["agencies", "a", "b"]), "cursor"),
    ],
)
def test_an_unknown_parameter_or_another_lists_cursor_is_422(
    api: Api, world: dict[str, Any], store: Any, query: str, field: str
) -> None:
    before = snapshot(store)
    error = error_of(api.call("GET", f"/api/v1/agencies?{query}"), 422)
    assert [f["field"] for f in error["fields"]] == [field]
    assert snapshot(store) == before


@hypothesis_settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    first=st.lists(st.from_regex(r"[a-z0-9][a-z0-9_-]{0,6}", fullmatch=True), max_size=12),
    arriving=st.lists(st.from_regex(r"[a-z0-9][a-z0-9_-]{0,6}", fullmatch=True), max_size=8),
    limit=st.integers(1, 5),
)
def test_entries_added_while_paging_never_repeat_or_hide_one_that_was_there(
    api: Api, store: Any, first: list[str], arriving: list[str], limit: int
) -> None:
    run = next(MADE)  # each example's agencies apart from the others'
    for item_id in first:
        make(api, "agencies", f"{item_id}-{run}")
    there = set(store.smembers(keys.agencies()))
    seen: list[str] = []
    cursor = None
    adding = iter(arriving)
    for _ in range(1000):
        query = f"limit={limit}" + (f"&cursor={cursor}" if cursor else "")
        answer = api.ok("GET", f"/api/v1/agencies?{query}")
        seen += [item["id"] for item in answer["items"]]
        cursor = answer["next_cursor"]
        if cursor is None:
            break
        new = next(adding, None)
        if new is not None:
            make(api, "agencies", f"{new}-{run}")
    assert len(seen) == len(set(seen))
    assert seen == sorted(seen)
    assert there <= set(seen) <= set(store.smembers(keys.agencies()))
