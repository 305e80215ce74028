"""The payout pages of the console, through Flask's test client: who may see them,
that they show what the API says, that their forms mark payouts as the API
does (and only with a CSRF token), in both languages, under the console's CSP."""

from __future__ import annotations

import re
from typing import Any

import pytest

from redirector.clock import MockClock
from redirector.console import formatting

from .conftest import ADMIN_TOKEN, Api, Shop, snapshot
from .test_console import csrf_token, figure, shown, sign_in
from .test_payouts import DEC, MINIMUM, NOV, TEA_GUIDE, Month, env  # noqa: F401  (the fixture)

ADMIN_PAYOUTS = f"/console/admin/payouts?period={NOV}"
ENGLISH = {"Accept-Language": "en-US,en;q=0.9"}


@pytest.fixture
def closed(app: Any, api: Api, shop: Shop, clock: MockClock, world: dict) -> Month:
    """November closed: starlight paid 2304 (two teas), bob carrying 1152 (one)."""
    month = Month(app, api, shop, clock, world)
    month.sell("alice")
    month.sell("alice")
    month.sell("bob")
    month.close(NOV)
    return month


def test_payout_pages_are_for_their_role(client: Any, world: dict, closed: Month) -> None:
    for path in (ADMIN_PAYOUTS, "/console/me/payouts"):
        assert client.get(path).headers["Location"].startswith("/console/sign-in")
    sign_in(client, world["bob"])
    assert client.get(ADMIN_PAYOUTS).status_code == 403
    assert client.get("/console/me/payouts").status_code == 200
    other = client.application.test_client()
    sign_in(other, ADMIN_TOKEN)
    assert other.get("/console/me/payouts").status_code == 403
    assert other.get(ADMIN_PAYOUTS).status_code == 200


def test_the_admin_page_shows_the_apis_payouts_and_balances(
    client: Any, api: Api, closed: Month
) -> None:
    sign_in(client, ADMIN_TOKEN)
    html = client.get(ADMIN_PAYOUTS).get_data(as_text=True)
    [payout] = api.ok("GET", f"/api/v1/payouts?period={NOV}")["payouts"]
    row = html[html.index(f'id="payout-{payout["id"]}"') :]
    assert figure(row, "amount") == payout["amount"] == 2 * TEA_GUIDE
    assert shown(html, "amount", f"payout-{payout['id']}") == formatting.money(2 * TEA_GUIDE)
    assert "Starlight MCN" in row
    assert figure(html, "pending", "payout-totals") == 2 * TEA_GUIDE
    assert figure(html, "balance", "balances") == TEA_GUIDE  # bob's, carried
    assert html.count('name="reference"') == 1 and html.count('name="reason"') == 1
    # The default period is the last one that can have closed.
    closed.at(2026, 12, 20)
    assert f'<option value="{NOV}" selected>' in client.get("/console/admin/payouts").get_data(
        as_text=True
    )
    december = client.get(f"/console/admin/payouts?period={DEC}").get_data(as_text=True)
    assert "payout-" not in december.split('id="payouts"')[1].split("</table>")[0]
    assert client.get("/console/admin/payouts?period=2026-13").status_code == 422

    csv = client.get(f"/console/admin/payouts/csv?period={NOV}")
    api_csv = api.call("GET", f"/api/v1/payouts?period={NOV}&format=csv")
    assert csv.data == api_csv.data
    assert csv.headers["Content-Disposition"] == api_csv.headers["Content-Disposition"]


def test_the_forms_mark_a_payout_as_the_api_does(
    client: Any, api: Api, store: Any, closed: Month
) -> None:
    sign_in(client, ADMIN_TOKEN)
    [payout] = api.ok("GET", "/api/v1/payouts")["payouts"]
    paid_path = f"/console/admin/payouts/{payout['id']}/paid"
    before = snapshot(store)
    assert client.post(paid_path, data={"reference": "T-1", "csrf_token": "x"}).status_code == 400
    blank = client.post(paid_path, data={"reference": " ", "csrf_token": csrf_token(client)})
    assert blank.status_code == 302
    assert "must not be empty" in client.get(blank.headers["Location"]).get_data(as_text=True)
    assert snapshot(store) == before

    token = csrf_token(client, ADMIN_PAYOUTS)
    done = client.post(paid_path, data={"reference": "ICBC-0001", "csrf_token": token})
    assert done.headers["Location"] == f"{ADMIN_PAYOUTS}#payout-{payout['id']}"
    after = api.ok("GET", f"/api/v1/payouts/{payout['id']}")
    assert (after["status"], after["reference"]) == ("paid", "ICBC-0001")
    html = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "ICBC-0001" in html and 'name="reference"' not in html

    failed_path = f"/console/admin/payouts/{payout['id']}/failed"
    again = client.post(failed_path, data={"reason": "late", "csrf_token": token})
    assert "is paid, not pending" in client.get(again.headers["Location"]).get_data(as_text=True)
    assert api.ok("GET", f"/api/v1/payouts/{payout['id']}")["status"] == "paid"
    assert (
        client.post("/console/admin/payouts/po_nope/paid", data={"csrf_token": token}).status_code
        == 404
    )


def test_a_failure_marked_in_the_console_returns_the_amount(
    client: Any, api: Api, closed: Month
) -> None:
    sign_in(client, ADMIN_TOKEN)
    [payout] = api.ok("GET", "/api/v1/payouts")["payouts"]
    token = csrf_token(client, ADMIN_PAYOUTS)
    client.post(
        f"/console/admin/payouts/{payout['id']}/failed",
        data={"reason": "account closed", "csrf_token": token},
    )
    assert api.ok("GET", "/api/v1/accounts/starlight/balance")["balance"] == 2 * TEA_GUIDE
    html = client.get(ADMIN_PAYOUTS).get_data(as_text=True)
    assert "account closed" in html
    row = html[html.index('data-key="agency:starlight"') :]
    assert figure(row, "balance") == 2 * TEA_GUIDE


def test_an_independent_creator_sees_its_payouts_balance_and_payable(
    client: Any, api: Api, world: dict, closed: Month
) -> None:
    closed.at(2026, 12, 10)
    closed.sell("bob")
    closed.close(DEC)  # bob: 1152 carried + 1152 = 2304, paid
    sign_in(client, world["bob"])
    html = client.get("/console/me/payouts").get_data(as_text=True)
    mine = api.ok("GET", "/api/v1/payouts", token=world["bob"])["payouts"]
    assert [p["amount"] for p in mine] == [2 * TEA_GUIDE]
    assert figure(html, "amount", "my-payouts") == 2 * TEA_GUIDE
    assert figure(html, "balance", "my-balance") == 0
    assert figure(html, "min_payout", "my-balance") == MINIMUM

    earnings = client.get(f"/console/me/earnings?period={DEC}").get_data(as_text=True)
    expected = api.ok("GET", f"/api/v1/creators/bob/earnings?period={DEC}", token=world["bob"])
    assert figure(earnings, "guide_payable", "earnings-totals") == expected["guide_payable"]
    assert figure(earnings, "payout", "earnings-payouts") == 2 * TEA_GUIDE


def test_a_creator_in_an_agency_is_told_it_is_paid_through_it(
    client: Any, world: dict, closed: Month
) -> None:
    sign_in(client, world["alice"])
    html = client.get("/console/me/payouts", headers=ENGLISH).get_data(as_text=True)
    assert 'id="paid-through-agency"' in html and "Starlight MCN" in html  # its name, not its id
    assert 'id="my-payouts"' not in html
    earnings = client.get(f"/console/me/earnings?period={NOV}").get_data(as_text=True)
    assert 'data-fig="guide_payable"' not in earnings and "earnings-payouts" not in earnings


def test_payout_pages_speak_both_languages_without_inline_script(
    client: Any, world: dict, closed: Month
) -> None:
    sign_in(client, ADMIN_TOKEN)
    creator = client.application.test_client()
    sign_in(creator, world["bob"])
    for who, path, zh, en in [
        (client, ADMIN_PAYOUTS, "结账打款", "Payouts at the close of"),
        (creator, "/console/me/payouts", "我的打款", "My payouts"),
    ]:
        chinese = who.get(path, headers={"Accept-Language": "zh-CN"})
        english = who.get(path, headers=ENGLISH)
        assert zh in chinese.get_data(as_text=True) and en in english.get_data(as_text=True)
        for response in (chinese, english):
            html = response.get_data(as_text=True)
            csp = response.headers["Content-Security-Policy"]
            assert "script-src 'self'" in csp and "unsafe-inline" not in csp
            assert not re.search(r"<script\b[^>]*>\s*[^<\s]", html), path
            assert " on" + "click=" not in html and "style=" not in html, path
