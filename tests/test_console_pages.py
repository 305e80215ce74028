"""The console's order list, webhook endpoint pages and words, through Flask's
test client, seeded with test_console's March (``month``)."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import pytest

from redirector.console import order_pages
from tests import test_console
from tests.conftest import ADMIN_TOKEN, Api
from tests.test_console import Month, sign_in

month = test_console.month  # the fixture: March 2026, Alice and Bob selling

ZH = {"Accept-Language": "zh-CN"}
EN = {"Accept-Language": "en"}


def listed(html: str) -> list[str]:
    """The orders in the list, as ``storefront:number``, in the page's order."""
    return re.findall(r'<tr data-order="([^"]+)">', html)


def text(client: Any, path: str, headers: dict[str, str] | None = None) -> str:
    response = client.get(path, headers=headers or EN)
    assert response.status_code == 200, (path, response.status_code)
    return str(response.get_data(as_text=True))


# -- words ------------------------------------------------------------------------------------


def test_channels_are_named_in_the_viewers_language(client: Any, month: Month) -> None:
    sign_in(client, ADMIN_TOKEN)
    zh = text(client, "/console/admin", ZH)
    assert '<th scope="row">微博</th>' in zh and '<th scope="row">抖音</th>' in zh
    assert '<th scope="row">weibo</th>' not in zh
    en = text(client, "/console/admin", EN)
    assert '<th scope="row">Weibo</th>' in en


def test_the_current_period_reads_as_a_sentence(client: Any, month: Month) -> None:
    sign_in(client, ADMIN_TOKEN)
    assert "Settlement for 2026-04 (open)" in text(client, "/console/admin", EN)
    assert "2026-04 结算期（未结）" in text(client, "/console/admin", ZH)


def test_an_order_shows_words_and_names_not_field_names_or_ids(client: Any, month: Month) -> None:
    sign_in(client, ADMIN_TOKEN)
    for headers, words in ((ZH, "点击编号"), (EN, "the click&#39;s id")):
        html = text(client, "/console/admin/orders/taobao/o1", headers)
        assert words in html
        assert "click_id</dd>" not in html and "webhook-id" not in html
        assert "Alice" in html and "Starlight MCN" in html  # the creator and its agency
        assert "<dd>alice</dd>" not in html


def test_the_statement_names_its_accounts(client: Any, month: Month) -> None:
    sign_in(client, ADMIN_TOKEN)
    html = text(client, "/console/admin/statements/2026-03")
    assert "Starlight MCN" in html and "Bob" in html


# -- the order list -----------------------------------------------------------------------------


def test_orders_are_listed_newest_paid_first_with_the_apis_figures(
    client: Any, api: Api, month: Month
) -> None:
    sign_in(client, ADMIN_TOKEN)
    html = text(client, "/console/admin/orders")
    from_api = api.ok("GET", "/api/v1/orders")["items"]
    assert listed(html) == [f"taobao:{o['order_id']}" for o in from_api]
    assert listed(html) == [f"taobao:o{i}" for i in (6, 5, 4, 3, 2, 1)]
    shown = [int(v) for v in re.findall(r'data-fig="commission" data-value="(-?\d+)"', html)]
    assert shown == [o["commission"] for o in from_api]


def test_filters_narrow_the_list(client: Any, month: Month) -> None:
    sign_in(client, ADMIN_TOKEN)
    assert listed(text(client, "/console/admin/orders?creator_id=bob")) == [
        "taobao:o6",
        "taobao:o5",
        "taobao:o4",
    ]
    assert listed(text(client, "/console/admin/orders?status=cancelled")) == ["taobao:o6"]
    assert listed(text(client, "/console/admin/orders?period=2026-02")) == []
    assert listed(text(client, "/console/admin/orders?storefront_id=taobao&status=refunded")) == [
        "taobao:o2"
    ]
    assert client.get("/console/admin/orders?status=lost").status_code == 422


def test_the_list_pages_by_its_cursor_keeping_the_filters(
    client: Any, month: Month, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(order_pages, "PER_PAGE", 2)
    sign_in(client, ADMIN_TOKEN)
    seen: list[str] = []
    path: str | None = "/console/admin/orders?period=2026-03"
    while path is not None:
        html = text(client, path)
        seen += listed(html)
        found = re.search(r'href="([^"]+)" id="next-page"', html)
        path = found.group(1).replace("&amp;", "&") if found else None
        assert path is None or "period=2026-03" in path
    assert seen == [f"taobao:o{i}" for i in (6, 5, 4, 3, 2, 1)]


def test_the_csv_holds_every_matching_order(client: Any, month: Month) -> None:
    sign_in(client, ADMIN_TOKEN)
    html = text(client, "/console/admin/orders?creator_id=alice")
    link = re.search(r'href="([^"]+)" id="orders-csv"', html)
    assert link and "creator_id=alice" in link.group(1)
    response = client.get(link.group(1).replace("&amp;", "&"))
    assert response.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [r["order_id"] for r in rows] == ["o3", "o2", "o1"]


def test_an_order_is_found_by_its_number_alone(client: Any, month: Month) -> None:
    sign_in(client, ADMIN_TOKEN)
    found = client.get("/console/admin/orders?order_no=o4")
    assert found.status_code == 302
    assert found.headers["Location"] == "/console/admin/orders/taobao/o4"
    assert "No order numbered nope." in text(client, "/console/admin/orders?order_no=nope")
    assert "No order numbered a b." in text(client, "/console/admin/orders?order_no=a%20b")


def test_a_number_in_two_storefronts_lists_both(client: Any, api: Api, month: Month) -> None:
    api.ok("PUT", "/api/v1/storefronts/jd", {"name": "JD", "hosts": ["item.jd.com"]})
    from redirector import keys
    from redirector.extension import context_of

    store = context_of(client.application).store
    store.hset(keys.order("jd", "o4"), mapping=store.hgetall(keys.order("taobao", "o4")))
    sign_in(client, ADMIN_TOKEN)
    html = text(client, "/console/admin/orders?order_no=o4")
    assert 'id="lookup-several"' in html
    assert sorted(listed(html)) == ["jd:o4", "taobao:o4"]


def test_a_creator_sees_only_its_own_orders(client: Any, world: dict, month: Month) -> None:
    sign_in(client, world["bob"])
    html = text(client, "/console/me/orders")
    assert listed(html) == ["taobao:o6", "taobao:o5", "taobao:o4"]
    assert listed(text(client, "/console/me/orders?creator_id=alice")) == listed(html)
    assert "/console/admin/orders/" not in html  # no admin links
    assert listed(text(client, "/console/me/orders?order_no=o5")) == ["taobao:o5"]
    other = text(client, "/console/me/orders?order_no=o1")  # alice's: as if it were not there
    assert listed(other) == [] and "No order numbered o1." in other
    rows = list(csv.DictReader(io.StringIO(text(client, "/console/me/orders.csv"))))
    assert {r["creator_id"] for r in rows} == {"bob"} and len(rows) == 3
    assert client.get("/console/admin/orders").status_code == 403


def test_the_admin_order_list_is_not_a_creators(client: Any, world: dict, month: Month) -> None:
    sign_in(client, ADMIN_TOKEN)
    assert client.get("/console/me/orders").status_code == 403
    assert client.get("/console/me/orders.csv").status_code == 403
