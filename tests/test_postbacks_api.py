"""/api/v1/webhooks: who registers what, who sees and changes which endpoint,
and what each answer holds; secrets shown once and sealed at rest."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from redirector.postbacks import endpoints

from .conftest import ADMIN_TOKEN, Api, error_of, snapshot

URL = "http://127.0.0.1:9/hook"


@pytest.fixture
def env(env: dict[str, str]) -> dict[str, str]:
    return {**env, "REDIRECTOR_WEBHOOK_ALLOW_PRIVATE": "1"}


def register(api: Api, token: str = ADMIN_TOKEN, **body: Any) -> Any:
    return api.call(
        "POST",
        "/api/v1/webhooks",
        token=token,
        json={"url": URL, "events": ["order.attributed"], **body},
    )


def test_a_creator_registers_for_its_own_orders_and_sees_the_secret_once(
    api: Api, world: dict[str, Any], store: Any
) -> None:
    answer = register(api, world["bob"], events=["order.attributed", "order.refunded"])
    assert answer.status_code == 201
    hook = answer.get_json()
    assert hook["creator_id"] == "bob" and hook["agency_id"] is None
    assert hook["events"] == ["order.attributed", "order.refunded"]
    assert hook["id"].startswith("ep_") and hook["created_at"].endswith("+08:00")
    secret = hook["secret"]
    assert secret.startswith("whsec_") and len(base64.b64decode(secret[6:])) == 32

    listed = api.ok("GET", "/api/v1/webhooks", token=world["bob"])["webhooks"]
    assert listed == [{k: v for k, v in hook.items() if k != "secret"}]
    stored = str(snapshot(store))
    assert secret not in stored and secret[6:] not in stored  # sealed at rest


def test_an_admin_registers_for_everything_or_one_agency(api: Api, world: dict[str, Any]) -> None:
    everything = register(api, events=["statement.closed", "order.confirmed"]).get_json()
    agency = register(api, agency_id="starlight").get_json()
    assert (everything["creator_id"], everything["agency_id"]) == (None, None)
    assert agency["agency_id"] == "starlight"
    field = error_of(register(api, agency_id="nobody"), 422)["fields"][0]["field"]
    assert field == "agency_id"
    assert error_of(register(api, world["bob"], agency_id="starlight"), 403)


@pytest.mark.parametrize("who", ["bob", "agency"])
def test_a_statement_is_only_for_endpoints_that_see_everything(
    api: Api, world: dict[str, Any], who: str
) -> None:
    extra = {"agency_id": "starlight"} if who == "agency" else {}
    token = world["bob"] if who == "bob" else ADMIN_TOKEN
    error = error_of(register(api, token, events=["statement.closed"], **extra), 422)
    assert "whole service" in error["message"]


@pytest.mark.parametrize("events", [[], ["order.shipped"], ["order.attributed"] * 12])
def test_events_must_be_known_and_named(api: Api, world: dict[str, Any], events: list[str]) -> None:
    assert error_of(register(api, events=events), 422)["fields"][0]["field"].startswith("events")


def test_the_domain_refuses_unknown_events_on_its_own(app: Any, world: dict[str, Any]) -> None:
    from redirector.errors import InvalidField
    from redirector.extension import context_of

    with pytest.raises(InvalidField):
        endpoints.register(context_of(app), "bob", endpoints.NewEndpoint(URL, ["order.shipped"]))


def test_each_sees_and_changes_only_its_own_endpoints_and_the_admin_all(
    api: Api, world: dict[str, Any]
) -> None:
    bobs = register(api, world["bob"]).get_json()
    alices = register(api, world["alice"]).get_json()
    admins = register(api).get_json()
    assert [
        h["id"] for h in api.ok("GET", "/api/v1/webhooks", token=world["alice"])["webhooks"]
    ] == [alices["id"]]
    assert {h["id"] for h in api.ok("GET", "/api/v1/webhooks")["webhooks"]} == {
        bobs["id"],
        alices["id"],
        admins["id"],
    }
    for path, method in [
        (f"/api/v1/webhooks/{bobs['id']}", "DELETE"),
        (f"/api/v1/webhooks/{bobs['id']}/secret", "POST"),
        (f"/api/v1/webhooks/{bobs['id']}/deliveries", "GET"),
        (f"/api/v1/webhooks/{bobs['id']}/deliveries/evt_x/retry", "POST"),
        (f"/api/v1/webhooks/{admins['id']}", "DELETE"),
    ]:
        assert error_of(api.call(method, path, token=world["alice"], json={}), 404)
    assert api.ok("DELETE", f"/api/v1/webhooks/{bobs['id']}")["id"] == bobs["id"]  # the admin may
    assert error_of(api.call("DELETE", f"/api/v1/webhooks/{bobs['id']}"), 404)
    assert error_of(api.call("DELETE", "/api/v1/webhooks/not-an-id"), 404)


def test_rotating_a_secret_answers_the_new_one_and_when_the_old_stops(
    api: Api, world: dict[str, Any], clock: Any
) -> None:
    hook = register(api, world["bob"]).get_json()
    path = f"/api/v1/webhooks/{hook['id']}/secret"
    rotated = api.ok("POST", path, {}, token=world["bob"])
    assert rotated["secret"].startswith("whsec_") and rotated["secret"] != hook["secret"]
    assert rotated["previous_secret_expires_at"] == "2026-11-21T10:00:00.000+08:00"  # a day
    assert error_of(api.call("POST", path, json={"grace_seconds": 31 * 86400}), 422)


def test_an_owner_has_a_limited_number_of_endpoints(api: Api, world: dict[str, Any]) -> None:
    for _ in range(endpoints.MAX_ENDPOINTS_PER_OWNER):
        assert register(api, world["bob"]).status_code == 201
    assert error_of(register(api, world["bob"]), 409)
    assert register(api, world["alice"]).status_code == 201  # the limit is each owner's


def test_only_a_failed_delivery_is_sent_again(api: Api, world: dict[str, Any]) -> None:
    hook = register(api).get_json()
    missing = api.call("POST", f"/api/v1/webhooks/{hook['id']}/deliveries/evt_nope/retry")
    assert error_of(missing, 404)
    assert api.ok("GET", f"/api/v1/webhooks/{hook['id']}/deliveries") == {
        "deliveries": [],
        "next_cursor": None,
    }
