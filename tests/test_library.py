"""The product library: a product's showcase fields (category, image, share
code), how creators and admins search the library, and its indexes."""

from __future__ import annotations

import base64
import json
import re
import unicodedata
from typing import Any

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from redirector import keys, library_index, library_search, registry
from redirector.config import Settings
from redirector.errors import ConfigError
from redirector.extension import context, context_of
from redirector.library import ORDINAL_BITS

from .conftest import ADMIN_TOKEN, error_of, snapshot
from .test_console import csrf_token, sign_in
from .test_registry import sell


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


# -- searching the library ---------------------------------------------------------------


def search(api: Any, query: str = "", token: str = ADMIN_TOKEN) -> dict[str, Any]:
    return api.ok("GET", f"/api/v1/products?{query}", token=token)


def every_page(
    api: Any, query: str = "", token: str = ADMIN_TOKEN, cursor: str | None = None
) -> list[list[str]]:
    """The ids of each page of a run, following the cursors to the end."""
    pages = []
    for _ in range(500):
        page = search(api, query + (f"&cursor={cursor}" if cursor else ""), token)
        pages.append([p["id"] for p in page["items"]])
        cursor = page["next_cursor"]
        if cursor is None:
            return pages
    raise AssertionError("the run never ended")


def listed(
    api: Any, query: str = "", token: str = ADMIN_TOKEN, cursor: str | None = None
) -> list[str]:
    return [pid for page in every_page(api, query, token, cursor) for pid in page]


LIBRARY = [
    # id, title, price, commission, category, active
    ("longjing", "西湖龙井 Longjing Tea 250g", 12800, 1500, "tea", True),
    ("puer", "云南普洱茶饼 357g", 9900, 2000, "tea", True),
    ("oolong", "Tieguanyin OOLONG tea", 6800, 1200, "tea", True),
    ("cup", "Celadon Cup 青瓷杯", 5900, 2000, "teaware", True),
    ("pot", "紫砂壶 Yixing teapot", 45800, 800, "teaware", True),
    ("honey", "Wildflower Honey 蜂蜜", 3900, 3000, "food", True),
    ("old", "Discontinued tea tin", 1000, 5000, "teaware", False),
]


@pytest.fixture
def library(api: Any) -> dict[str, Any]:
    world = api.world()  # tea and cup, replaced below
    for pid, title, price, rate, category, active in LIBRARY:
        api.ok(
            "PUT",
            f"/api/v1/products/{pid}",
            product(
                title=title,
                price=price,
                commission_rate_bps=rate,
                category=category,
                active=active,
            ),
        )
    return world


def test_a_keyword_finds_titles_in_any_case_width_and_script(api: Any, library: Any) -> None:
    # "tea" is the world's "Longjing tea 250g".
    assert sorted(listed(api, "q=TEA")) == ["longjing", "old", "oolong", "pot", "tea"]
    assert sorted(listed(api, "q=teA+250")) == ["longjing", "tea"]
    assert listed(api, "q=龙井") == ["longjing"]
    assert listed(api, "q=茶") == ["puer"]  # one Chinese character is a word
    assert listed(api, "q=普洱茶") == ["puer"]
    assert listed(api, "q=ｏｏｌｏｎｇ") == ["oolong"]  # full-width letters
    assert listed(api, "q=紫砂 yixing") == ["pot"]
    assert sorted(listed(api, "q=g")) == ["longjing", "oolong", "pot", "puer", "tea"]
    assert listed(api, "q=瓷壶") == []
    assert listed(api, "q=tea+honey") == []


def test_filters_by_category_storefront_and_minimum_rate(api: Any, library: Any) -> None:
    assert sorted(listed(api, "category=teaware")) == ["cup", "old", "pot"]
    assert sorted(listed(api, "min_commission_bps=2000")) == ["cup", "honey", "old", "puer"]
    assert sorted(listed(api, "category=tea&min_commission_bps=1500")) == ["longjing", "puer"]
    assert len(listed(api, "storefront_id=taobao")) == 8
    assert listed(api, "storefront_id=ghost") == []
    assert listed(api, "category=tea&q=oolong&min_commission_bps=1000") == ["oolong"]
    assert listed(api, "category=food&q=tea") == []


@pytest.mark.parametrize(
    ("sort", "key"),
    [
        ("price", lambda p: (p[2], p[0])),
        ("commission", lambda p: (p[3], p[0])),
        # One instant for all (the mock clock stands still): ties go by id.
        ("newest", lambda p: (0, p[0])),
    ],
)
def test_each_sort_in_both_directions(api: Any, library: Any, sort: str, key: Any) -> None:
    mine = [p for p in LIBRARY if p[4] != "food"]
    ascending = [p[0] for p in sorted(mine, key=key)]
    query = f"sort={sort}"
    got = [p for p in listed(api, query + "&order=asc") if p in ascending]
    assert got == ascending
    got = [p for p in listed(api, query + "&order=desc") if p in ascending]
    assert got == ascending[::-1]


def test_price_sorts_cheapest_first_unless_told(api: Any, library: Any) -> None:
    assert listed(api, "sort=price&category=tea") == ["oolong", "puer", "longjing"]
    assert listed(api, "sort=commission&category=tea") == ["puer", "longjing", "oolong"]


def test_sales_order_follows_paid_orders(api: Any, library: Any) -> None:
    world = library
    cup_link = api.link(world["alice"], product_id="cup")
    sell(api, world, cup_link, "o-1", 5900)
    sell(api, world, cup_link, "o-2", 11800)
    sell(api, world, api.link(world["bob"], product_id="honey"), "o-3", 3900)
    best = listed(api, "sort=sales&category=teaware")
    assert best[0] == "cup"
    assert listed(api, "sort=sales")[:2] == ["cup", "honey"]
    assert listed(api, "sort=sales&order=asc")[-2:] == ["honey", "cup"]
    cup = search(api, "sort=sales&limit=1")["items"][0]
    assert (cup["id"], cup["sales"]) == ("cup", {"orders": 2, "gmv": 17700})


def test_creators_see_active_products_and_admins_choose(api: Any, library: Any) -> None:
    alice = library["alice"]
    assert "old" not in listed(api, "category=teaware", token=alice)
    assert "old" in listed(api, "category=teaware")
    assert listed(api, "active=false") == ["old"]
    assert "old" not in listed(api, "active=true")
    assert field_names(api.call("GET", "/api/v1/products?active=true", token=alice)) == ["active"]


def test_unknown_or_repeated_parameters_are_refused(api: Any, library: Any) -> None:
    for query in (
        "qq=tea",
        "sort=title",
        "order=up",
        "limit=0",
        "limit=101",
        "min_commission_bps=x",
    ):
        response = api.call("GET", f"/api/v1/products?{query}")
        assert error_of(response, 422)["code"] in ("invalid_field", "validation_error"), query
    assert field_names(api.call("GET", "/api/v1/products?q=a&q=b")) == ["q"]
    assert error_of(api.call("GET", "/api/v1/products", token=None), 401)


def test_a_cursor_serves_only_its_own_query(api: Any, library: Any, store: Any) -> None:
    cursor = search(api, "category=tea&limit=1")["next_cursor"]
    assert field_names(api.call("GET", f"/api/v1/products?category=teaware&cursor={cursor}")) == [
        "cursor"
    ]
    for bad in ("nonsense", "W10", cursor[:-3]):
        assert field_names(api.call("GET", f"/api/v1/products?cursor={bad}")) == ["cursor"]
    # A run not followed for an hour is forgotten.
    for key in store.scan_iter(match="*library:run:*"):
        store.delete(key)
    error_of(api.call("GET", f"/api/v1/products?category=tea&limit=1&cursor={cursor}"), 410)


def test_a_saved_product_leaves_its_old_entries(api: Any, library: Any) -> None:
    api.ok("PUT", "/api/v1/products/puer", product(title="Black tea 滇红", category="food"))
    assert listed(api, "q=普洱") == []
    assert listed(api, "q=滇红") == ["puer"]
    assert "puer" not in listed(api, "category=tea")
    assert "puer" in listed(api, "category=food")
    api.ok("PUT", "/api/v1/products/puer", product(title="Black tea 滇红", price=1))
    assert listed(api, "category=food") == ["honey"]
    assert listed(api, "sort=price")[0] == "puer"


def test_a_run_lists_each_product_once_while_they_move(api: Any, library: Any) -> None:
    first = search(api, "sort=price&limit=3")
    seen = [p["id"] for p in first["items"]]  # the cheapest three
    assert seen == ["old", "honey", "cup"]
    # One product listed moves ahead of the cursor; one not listed moves behind it.
    api.ok("PUT", "/api/v1/products/cup", product(title="Celadon Cup 青瓷杯", price=99999))
    api.ok("PUT", "/api/v1/products/pot", product(title="紫砂壶 Yixing teapot", price=5))
    rest = listed(api, "sort=price&limit=3", cursor=first["next_cursor"])
    assert rest[0] == "pot"  # behind the cursor now: at the head of the next page
    everything = seen + rest
    assert sorted(everything) == sorted(set(everything))
    assert set(everything) == {p[0] for p in LIBRARY} | {"tea"}


# -- paging, over random libraries -----------------------------------------------------

VOCABULARY = ["Tea", "TEA", "茶", "龙井", "cup", "Cup", "绿茶", "ｇｒｅｅｎ", "green", "壶", "gift"]
product_specs = st.lists(
    st.tuples(
        st.lists(st.sampled_from(VOCABULARY), min_size=1, max_size=4),  # title words
        st.sampled_from([100, 200, 300]),  # price: ties on purpose
        st.sampled_from([0, 1000, 2000]),  # rate
        st.sampled_from(["", "a", "b"]),  # category
        st.booleans(),  # active
    ),
    max_size=25,
)
queries = st.fixed_dictionaries(
    {
        "keyword": st.sampled_from(["", "tea", "茶", "CUP", "green tea", "龙井茶", "ｔ"]),
        "category": st.sampled_from([None, "a", "b"]),
        "min_commission_bps": st.sampled_from([None, 1000, 2000]),
        "sort": st.sampled_from(["commission", "price", "newest", "sales"]),
        "order": st.sampled_from(["asc", "desc"]),
        "active": st.sampled_from([None, True, False]),
        "limit": st.integers(1, 6),
    }
)


def _clear_products(store: Any) -> None:
    for pattern in ("rd:*product*", "rd:*library*"):
        for key in list(store.scan_iter(match=pattern)):
            store.delete(key)


def _expected(specs: list[Any], q: dict[str, Any], price: dict[str, int]) -> list[str]:
    """The query's answer worked out by hand: no index, the rules as docs/library.md says."""

    def norm(text: str) -> str:
        return " ".join(unicodedata.normalize("NFKC", text).casefold().split())

    found = []
    for i, (title, _, rate, category, active) in enumerate(specs):
        pid = f"p{i:02d}"
        if (
            (q["active"] is None or active == q["active"])
            and (q["category"] is None or category == q["category"])
            and (q["min_commission_bps"] is None or rate >= q["min_commission_bps"])
            and all(w in norm(" ".join(title)) for w in norm(q["keyword"]).split())
        ):
            value = {"commission": rate, "price": price[pid], "newest": 0, "sales": i}[q["sort"]]
            found.append((value, pid))
    return [pid for _, pid in sorted(found, reverse=q["order"] == "desc")]


@pytest.mark.parametrize(("small_set", "budget"), [(1000, 2000), (0, 2000), (0, 3)])
def test_paging_lists_every_match_once_in_order(
    app: Any, api: Any, store: Any, monkeypatch: Any, small_set: int, budget: int
) -> None:
    """From a small set or along the order, with pages cut short by the walk's
    budget or not, a run lists the query's answer in order, each product once."""
    monkeypatch.setattr(library_search, "SMALL_SET", small_set)
    monkeypatch.setattr(library_search, "WALK_BUDGET", budget)
    api.world()
    ctx = context_of(app)

    @given(specs=product_specs, q=queries)
    @hypothesis_settings(max_examples=40, suppress_health_check=[HealthCheck.too_slow])
    def check(specs: list[Any], q: dict[str, Any]) -> None:
        _clear_products(store)
        price = {}
        for i, (title, cost, rate, category, active) in enumerate(specs):
            price[f"p{i:02d}"] = cost
            body = product(
                title=" ".join(title),
                price=cost,
                commission_rate_bps=rate,
                category=category or None,
                active=active,
            )
            registry.put_product(store, f"p{i:02d}", body, 1_000)
        got = run(ctx, library_search.Query(**q))
        assert got == _expected(specs, q, price)

    check()


def run(ctx: Any, query: Any, between: Any = None) -> list[str]:
    """Every id a run lists, page after page; ``between`` is called after the first page."""
    out: list[str] = []
    cursor = None
    for n in range(1000):
        page = library_search.search(ctx, query, cursor)
        out += [p["id"] for p in page.items]
        if n == 0 and between:
            between()
        if page.next_cursor is None:
            return out
        cursor = page.next_cursor
    raise AssertionError("the run never ended")


@pytest.mark.parametrize("sort", ["price", "sales"])
def test_a_run_lists_each_match_once_while_products_move(
    app: Any, api: Any, store: Any, sort: str
) -> None:
    """Prices change and sales come in between pages: every product that matches
    throughout is listed exactly once."""
    world = api.world()
    ctx = context_of(app)

    @given(
        prices=st.lists(st.integers(1, 9), min_size=1, max_size=20),
        moves=st.lists(st.tuples(st.integers(0, 19), st.integers(1, 9)), max_size=8),
        limit=st.integers(1, 5),
    )
    @hypothesis_settings(max_examples=30, suppress_health_check=[HealthCheck.too_slow])
    def check(prices: list[int], moves: list[tuple[int, int]], limit: int) -> None:
        _clear_products(store)
        for i, cost in enumerate(prices):
            registry.put_product(store, f"p{i:02d}", product(price=cost), 1_000)

        def move() -> None:
            for i, cost in moves:
                if i < len(prices):
                    registry.put_product(store, f"p{i:02d}", product(price=cost), 2_000)
                    _sell(store, f"p{i:02d}", cost)

        got = run(ctx, library_search.Query(sort=sort, order="asc", limit=limit), move)
        assert sorted(got) == [f"p{i:02d}" for i in range(len(prices))]

    check()
    assert world


def _sell(store: Any, product_id: str, orders: int) -> None:
    """Sales move as the order script moves them (``orders.writes``), without an order."""
    store.zincrby(keys.library_sales(), orders << ORDINAL_BITS, product_id)
    sequence = store.incr(keys.money_sequence())
    store.zadd(keys.library_sales_changes(), {product_id: sequence})


# -- the console's library page ------------------------------------------------------------


def test_a_creator_browses_the_library_and_makes_a_link_in_one_click(
    client: Any, api: Any, library: Any
) -> None:
    api.ok(
        "PUT",
        "/api/v1/products/puer",
        product(
            title="云南普洱茶饼 357g",
            category="tea",
            image_url="https://img.tmall.com/puer.jpg",
            share_code="￥PuEr357￥",
        ),
    )
    sign_in(client, library["alice"])
    page = client.get("/console/library?q=普洱&category=tea")
    html = page.get_data(as_text=True)
    assert 'src="https://img.tmall.com/puer.jpg"' in html
    # The page lets in exactly the image hosts it shows, and no script from anywhere else.
    policy = page.headers["Content-Security-Policy"]
    assert "img-src 'self' data: https://img.tmall.com;" in policy
    assert "script-src 'self';" in policy
    assert 'id="product-puer"' in html and 'id="product-longjing"' not in html
    assert 'id="product-old"' not in client.get("/console/library").get_data(as_text=True)

    token = csrf_token(client, "/console/library")
    back = "q=普洱&category=tea&evil=1"
    response = client.post(
        "/console/library/links",
        data={"csrf_token": token, "product_id": "puer", "channel": "weibo", "back": back},
    )
    made = api.ok("GET", "/api/v1/links", token=library["alice"])["links"]
    assert [(x["product_id"], x["channel"]) for x in made] == [("puer", "weibo")]
    location = response.headers["Location"]
    assert "evil" not in location and f"made={made[0]['id']}" in location
    shown = client.get(location).get_data(as_text=True)
    assert made[0]["url"] in shown and "￥PuEr357￥" in shown

    refused = client.post("/console/library/links", data={"product_id": "puer", "channel": "weibo"})
    assert refused.status_code == 400
    assert len(api.ok("GET", "/api/v1/links", token=library["alice"])["links"]) == 1


def test_the_library_page_pages_and_is_for_creators(client: Any, api: Any, library: Any) -> None:
    assert client.get("/console/library").status_code == 302  # to sign in
    sign_in(client, library["alice"])
    for n in range(30):
        api.ok("PUT", f"/api/v1/products/x{n:02d}", product(title=f"Gift box {n}"))
    first = client.get("/console/library?q=gift&sort=price").get_data(as_text=True)
    assert first.count('class="product card"') == 24
    next_url = re.search(r'href="([^"]+)" id="next-page"', first).group(1)
    second = client.get(next_url.replace("&amp;", "&")).get_data(as_text=True)
    assert second.count('class="product card"') == 6 and 'id="next-page"' not in second
    bad = client.get("/console/library?min_commission_bps=lots")
    assert bad.status_code == 422


def test_admins_do_not_use_the_creator_library_page(client: Any, library: Any) -> None:
    sign_in(client, ADMIN_TOKEN)
    assert client.get("/console/library").status_code == 403


def test_a_library_saved_before_its_indexes_is_indexed_again(
    api: Any, library: Any, store: Any, app: Any
) -> None:
    sell(api, library, api.link(library["alice"], product_id="honey"), "o-1", 3900)
    for key in list(store.scan_iter(match="rd:*library*")):
        store.delete(key)  # as a store written by an earlier version has none
    assert listed(api, "q=honey") == []
    assert library_index.reindex_all(store) == 8
    assert listed(api, "q=honey") == ["honey"]
    assert listed(api, "category=teaware&sort=price") == ["old", "cup", "pot"]
    assert listed(api, "sort=sales")[0] == "honey"  # its figures give its place
    assert sorted(listed(api, "category=teaware")) == ["cup", "old", "pot"]


def test_a_forged_cursor_is_refused_not_sent_to_the_store(api: Any, library: Any) -> None:
    shape = library_search.Query(sort="sales", active=None).shape()  # the admin's
    for place, since in ((10**300, 0), (-1, 0), (1.5, 0), ("x", 0), (1, 10**40), (1, -3)):
        raw = json.dumps([1, "run", shape, place, since, 0]).encode()
        cursor = base64.urlsafe_b64encode(raw).decode().rstrip("=")
        response = api.call("GET", f"/api/v1/products?sort=sales&cursor={cursor}")
        assert field_names(response) == ["cursor"], (place, since)
        assert "not a cursor" in error_of(response, 422)["message"]
