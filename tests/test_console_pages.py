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


@pytest.fixture
def env(env: dict[str, str]) -> dict[str, str]:
    """Postback receivers here listen on loopback: allowed, as in test_postbacks_api."""
    return {**env, "REDIRECTOR_WEBHOOK_ALLOW_PRIVATE": "1"}


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
    assert '<th scope="row" class="nowrap">微博</th>' in zh
    assert '<th scope="row" class="nowrap">抖音</th>' in zh
    assert not re.search(r'<th scope="row"[^>]*>weibo</th>', zh)
    en = text(client, "/console/admin", EN)
    assert '<th scope="row" class="nowrap">Weibo</th>' in en


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


def test_the_header_names_the_creator_signed_in(client: Any, world: dict) -> None:
    sign_in(client, world["alice"])
    assert '<span class="who">Alice</span>' in text(client, "/console/me")


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


# -- webhook endpoints ---------------------------------------------------------------------------


def form_token(client: Any, path: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', text(client, path))
    assert found, path
    return found.group(1)


def secrets_in(html: str) -> list[str]:
    return re.findall(r"whsec_[A-Za-z0-9+/=]+", html)


def register_by_form(client: Any, base: str, **form: Any) -> Any:
    return client.post(base, data={"csrf_token": form_token(client, base), **form}, headers=EN)


def test_an_admin_registers_an_endpoint_and_sees_its_secret_once(
    client: Any, api: Api, world: dict, receiver: Any
) -> None:
    sign_in(client, ADMIN_TOKEN)
    page = text(client, "/console/admin/webhooks")
    assert 'value="statement.closed"' in page and "Starlight MCN" in page
    answer = register_by_form(
        client,
        "/console/admin/webhooks",
        url=receiver.url,
        events=["order.attributed", "order.confirmed"],
        agency_id="starlight",
    )
    assert answer.status_code == 201, re.findall(
        r'id="refused">([^<]*)', answer.get_data(as_text=True)
    )
    shown = secrets_in(answer.get_data(as_text=True))
    assert len(shown) == 1
    (hook,) = api.ok("GET", "/api/v1/webhooks")["webhooks"]
    assert hook["url"] == receiver.url and hook["agency_id"] == "starlight"
    assert hook["events"] == ["order.attributed", "order.confirmed"]
    again = text(client, "/console/admin/webhooks")
    assert secrets_in(again) == [] and receiver.url in again and "agency: Starlight MCN" in again
    detail = text(client, f"/console/admin/webhooks/{hook['id']}")
    assert secrets_in(detail) == [] and "Nothing sent yet." in detail


def test_a_registration_without_the_csrf_token_changes_nothing(
    client: Any, api: Api, world: dict, receiver: Any
) -> None:
    sign_in(client, ADMIN_TOKEN)
    answer = client.post(
        "/console/admin/webhooks", data={"url": receiver.url, "events": "order.paid"}
    )
    assert answer.status_code == 400
    assert api.ok("GET", "/api/v1/webhooks")["webhooks"] == []


def test_a_refused_registration_says_why_and_keeps_what_was_typed(
    client: Any, api: Api, world: dict, receiver: Any
) -> None:
    sign_in(client, world["bob"])
    page = text(client, "/console/me/webhooks")
    assert 'value="statement.closed"' not in page and 'name="agency_id"' not in page
    refused = register_by_form(
        client, "/console/me/webhooks", url=receiver.url, events=["statement.closed"]
    )
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert 'id="refused"' in html and "whole service" in html and receiver.url in html
    bad_url = register_by_form(
        client, "/console/me/webhooks", url="https://nowhere.example/x", events=["order.confirmed"]
    )
    assert bad_url.status_code == 422 and secrets_in(bad_url.get_data(as_text=True)) == []
    assert api.ok("GET", "/api/v1/webhooks")["webhooks"] == []


def test_a_creator_sees_and_changes_only_its_own_endpoints(
    client: Any, api: Api, world: dict, hooks: Any, receiver: Any
) -> None:
    admins = hooks.register(receiver, ["order.confirmed"])
    alices = hooks.register(receiver, ["order.confirmed"], token=world["alice"])
    sign_in(client, world["bob"])
    answer = register_by_form(
        client, "/console/me/webhooks", url=receiver.url, events=["order.refunded"]
    )
    assert answer.status_code == 201
    (bobs,) = api.ok("GET", "/api/v1/webhooks", token=world["bob"])["webhooks"]
    assert bobs["creator_id"] == "bob" and bobs["agency_id"] is None
    html = text(client, "/console/me/webhooks")
    assert bobs["id"] in html and admins["id"] not in html and alices["id"] not in html
    for other in (admins, alices):
        assert client.get(f"/console/me/webhooks/{other['id']}").status_code == 404
        token = form_token(client, "/console/me/webhooks")
        gone = client.post(f"/console/me/webhooks/{other['id']}/delete", data={"csrf_token": token})
        assert gone.status_code == 404
    assert len(api.ok("GET", "/api/v1/webhooks")["webhooks"]) == 3
    assert client.get("/console/admin/webhooks").status_code == 403
    assert client.get("/console/me/webhooks/not%20an%20id").status_code == 404


def test_rotating_shows_the_new_secret_once_and_the_grace(
    client: Any, api: Api, world: dict, hooks: Any, receiver: Any, clock: Any
) -> None:
    hook = hooks.register(receiver, ["order.confirmed"])
    sign_in(client, ADMIN_TOKEN)
    base = f"/console/admin/webhooks/{hook['id']}"
    rotated = client.post(
        base + "/secret",
        data={"csrf_token": form_token(client, base), "grace_hours": "24"},
        headers=EN,
    )
    assert rotated.status_code == 200
    html = rotated.get_data(as_text=True)
    (secret,) = secrets_in(html)
    assert secret != hook["secret"] and 'id="previous-secret"' in html
    (listed_hook,) = api.ok("GET", "/api/v1/webhooks")["webhooks"]
    assert listed_hook["previous_secret_expires_at"] == "2026-11-21T10:00:00.000+08:00"  # T0 + 24 h
    assert secrets_in(text(client, base)) == []
    odd = client.post(
        base + "/secret", data={"csrf_token": form_token(client, base), "grace_hours": "5"}
    )
    assert odd.status_code == 422


def test_deleting_an_endpoint(client: Any, api: Api, world: dict, hooks: Any, receiver: Any):
    hook = hooks.register(receiver, ["order.confirmed"])
    sign_in(client, ADMIN_TOKEN)
    base = f"/console/admin/webhooks/{hook['id']}"
    gone = client.post(base + "/delete", data={"csrf_token": form_token(client, base)})
    assert gone.status_code == 302 and gone.headers["Location"] == "/console/admin/webhooks"
    assert api.ok("GET", "/api/v1/webhooks")["webhooks"] == []
    assert client.get(base).status_code == 404


def test_the_delivery_log_shows_attempts_and_sends_a_failed_one_again(
    client: Any, app: Any, api: Api, world: dict, hooks: Any, shop: Any, clock: Any
) -> None:
    from redirector import postbacks
    from redirector.simulate.receiver import Receiver
    from tests.conftest import Browser, advance

    refusing = {"on": True}
    with Receiver(answer=lambda r: 500 if refusing["on"] else 204) as receiver:
        hook = hooks.register(receiver, ["order.attributed"], token=world["bob"])
        click_id = Browser(app).click(api.link(world["bob"]))
        shop.ok("T1", "paid", 12800, click_id=click_id)
        assert hooks.run() == 1
        sign_in(client, world["bob"])
        base = f"/console/me/webhooks/{hook['id']}"
        html = text(client, base)
        assert 'data-state="pending"' in html and "HTTP 500" in html
        assert "Send again" not in html  # only a failed delivery is sent again by hand
        for delay in postbacks.RETRY_DELAYS:
            advance(clock, seconds=delay)
            hooks.run()
        html = text(client, base)
        assert 'data-state="failed"' in html and "order attributed" in html
        (delivery,) = hooks.deliveries(hook, world["bob"])
        assert f'<td class="num">{delivery["attempt_count"]}</td>' in html
        assert delivery["webhook_id"] in html
        refusing["on"] = False
        retry = f"{base}/deliveries/{delivery['id']}/retry"
        sent = client.post(retry, data={"csrf_token": form_token(client, base)})
        assert sent.status_code == 302
        assert 'data-state="pending"' in text(client, base)
        assert hooks.run() == 1
        assert 'data-state="delivered"' in text(client, base)
        twice = client.post(retry, data={"csrf_token": form_token(client, base)}, headers=EN)
        assert "only a failed one is sent again" in text(client, twice.headers["Location"])


def test_the_delivery_log_pages_back_to_older_deliveries(
    client: Any,
    app: Any,
    api: Api,
    world: dict,
    hooks: Any,
    shop: Any,
    receiver: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from redirector.console import postback_pages
    from tests.conftest import Browser

    monkeypatch.setattr(postback_pages, "LOG_PAGE", 1)
    hook = hooks.register(receiver, ["order.attributed", "order.confirmed"])
    shop.ok("T1", "paid", 12800, click_id=Browser(app).click(api.link(world["bob"])))
    shop.ok("T1", "confirmed", 12800)
    hooks.run()
    newest_first = [d["id"] for d in reversed(hooks.deliveries(hook))]
    sign_in(client, ADMIN_TOKEN)
    html = text(client, f"/console/admin/webhooks/{hook['id']}")
    assert re.findall(r'data-delivery="([^"]+)"', html) == newest_first[:1]
    older = re.search(r'href="([^"]+)" id="older"', html)
    assert older
    html = text(client, older.group(1).replace("&amp;", "&"))
    assert re.findall(r'data-delivery="([^"]+)"', html) == newest_first[1:]
    assert 'id="older"' not in html and 'data-state="delivered"' in html


def test_my_earnings_name_each_lines_account(client: Any, world: dict, month: Month) -> None:
    """An earnings line names its account by id only: the agency's name for an
    agency's creator, the creator's own for an independent one, never the slug."""
    sign_in(client, world["alice"])
    page = text(client, "/console/me/earnings?period=2026-03", EN)
    lines = page[page.index('id="earnings-lines"') :]
    assert ">Starlight MCN" in lines and ">starlight<" not in lines
    sign_in(client, world["bob"])
    page = text(client, "/console/me/earnings?period=2026-03", EN)
    lines = page[page.index('id="earnings-lines"') :]
    assert '<th scope="row" class="nowrap">Bob' in lines and ">bob<" not in lines
