"""Credentials before anything else: every operation the OpenAPI document says
takes a bearer token answers 401 to a client without a valid one, whatever its
path, query and body, and counts that failure against the client's limit (429
with Retry-After once over it)."""

from __future__ import annotations

from typing import Any

import pytest

from redirector import create_app
from redirector.api.auth import roles_of
from redirector.config import Settings

from .conftest import ADMIN_TOKEN, error_of
from .test_bodies import operations

LIMIT = 3
# Bodies no operation accepts: not JSON, a JSON string, nested too deep.
INVALID_BODIES = [b"{", b'"a string"', b"[" * 100 + b"]" * 100]


@pytest.fixture
def limited(settings: Settings, store: Any) -> Any:
    return create_app(
        settings.with_overrides(auth_failure_limit=f"{LIMIT}/minute"),
        store=store,
        test_config={"TESTING": True},
    )


def bearer_operations(client: Any) -> list[tuple[str, str]]:
    return [
        (method, path)
        for method, path, operation in operations(client)
        if {"bearer": []} in operation.get("security", [])
    ]


def test_every_view_marked_bearer_is_documented_as_taking_a_token(limited: Any) -> None:
    client = limited.test_client()
    marked = [e for e, view in limited.view_functions.items() if roles_of(view) is not None]
    documented = bearer_operations(client)

    assert len(marked) == len(documented) == 42
    # The review endpoints among them: they never counted failures before.
    assert {"review.list_held", "review.release", "review.reject"} <= set(marked)
    # And the link kit's: QR codes, raw clicks, stats by sub-id.
    kit = {"links.link_qr_svg", "links.link_qr_png", "links.link_clicks", "links.stats_by_sub_id"}
    assert kit <= set(marked)


def test_no_token_or_a_bad_one_is_401_before_any_body_or_parameter_is_looked_at(
    limited: Any,
) -> None:
    client = limited.test_client()
    sent = 0
    for method, path in bearer_operations(client):
        for token in (None, "rdk_wrong"):
            for body in INVALID_BODIES:
                sent += 1  # each from an address of its own: none of them is limited
                headers = {"Content-Type": "application/json"}
                if token:
                    headers["Authorization"] = f"Bearer {token}"
                answer = client.open(
                    path + "?limit=-1&offset=x&period=nonsense",
                    method=method,
                    data=body,
                    headers=headers,
                    environ_overrides={"REMOTE_ADDR": f"10.0.{sent // 250}.{sent % 250 + 1}"},
                )
                assert answer.status_code == 401, (method, path, token, answer.get_json())


def test_every_operation_that_takes_a_token_limits_failures(limited: Any) -> None:
    client = limited.test_client()
    operations_ = bearer_operations(client)
    for n, (method, path) in enumerate(operations_):
        address = {"REMOTE_ADDR": f"198.51.100.{n + 1}"}
        bad = {"Authorization": "Bearer rdk_wrong", "Content-Type": "application/json"}
        statuses = [
            client.open(path, method=method, data=b"{}", headers=bad, environ_overrides=address)
            for _ in range(LIMIT + 1)
        ]
        assert [s.status_code for s in statuses] == [401] * LIMIT + [429], (method, path)
        refused = statuses[-1]
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
        assert refused.get_json()["error"]["code"] == "too_many_requests"
        # Over the limit, even the right token learns nothing.
        admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        again = client.open(path, method=method, headers=admin, environ_overrides=address)
        assert again.status_code == 429, (method, path)


def test_a_creator_key_on_an_admin_operation_is_403_before_its_body_is_read(
    api: Any, world: dict[str, Any]
) -> None:
    for body in INVALID_BODIES:
        answer = api.call("PUT", "/api/v1/agencies/x", token=world["alice"], data=body)
        error_of(answer, 403)
    release = api.call("POST", "/api/v1/orders/taobao/none/release", token=world["alice"])
    error_of(release, 403)


def test_the_mock_clock_asks_for_credentials_before_saying_the_clock_is_real(
    settings: Settings, store: Any
) -> None:
    real = create_app(settings.with_overrides(clock="real"), store=store).test_client()
    error_of(real.get("/api/v1/clock"), 401)
    error_of(real.put("/api/v1/clock", json={"now": 1}), 401)
    answer = real.get("/api/v1/clock", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    error_of(answer, 404)
