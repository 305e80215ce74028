"""Schemathesis against the app's own OpenAPI document, through WSGI (no network).

Every operation of ``/openapi.json`` is called with generated requests, valid
and invalid (schemathesis' examples, coverage and fuzzing phases), first as the
admin, then the operations a creator uses with a creator's API key. The store
holds a world (a storefront, products, an agency, creators, links, an order, ad
spend, a closed period), and generated path parameters are often swapped for
its ids, so requests reach real objects and not only 404s. Every response
must be no 5xx and conform to the document: a documented status code, the
documented content type, a body matching the documented schema.

Nothing is excluded. The signed order callback is called too: schemathesis
cannot sign, so half of its cases are sent to the world's storefront and
signed here with its current secret (so that generated bodies reach the
validation and the lifecycle); the rest meet 404s and 401s (and, after 20
bad signatures, 429s), which must conform as well.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.core import NotSet
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from redirector import registry, webhooks
from redirector.periods import period_of
from redirector.secrets_at_rest import box_for
from redirector.storefront_client import StorefrontClient

from .conftest import ADMIN_TOKEN, DESKTOP_CHROME

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
BOUNDED = settings(
    max_examples=12,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
ORDER_EVENT = "POST /api/v1/storefronts/{storefront_id}/orders"
# Operations a creator calls with its API key.
CREATOR_PATHS = (
    r"^/api/v1/(links|products|programs|orders$|creators/\{creator_id\}/earnings|payouts|accounts/)"
)

# How many cases each run sent, per operation (read by the report test at the end).
CASES: Counter[str] = Counter()
CALLBACKS: Counter[str] = Counter()


def seed(api: Any, client: Any, app: Any) -> dict[str, list[str]]:
    """A world to aim at; answers the ids each path parameter may take."""
    world = api.world()
    links = [api.link(world["alice"])["id"], api.link(world["bob"], "cup", "douyin")["id"]]
    client.get(
        f"/r/{api.ok('GET', f'/api/v1/links/{links[0]}')['token']}",
        headers={"User-Agent": DESKTOP_CHROME},
    )
    clock = app.extensions["redirector"].clock
    shop = StorefrontClient(
        "taobao",
        world["shop"]["signing_secret"],
        lambda path, body, headers: client.post(path, data=body, headers=headers),
        clock=clock.now,
    )
    for status in ("paid", "confirmed"):
        answer = shop.send(shop.event("o-1", status, 12800, clock.now()))
        assert answer.status_code == 200, answer.get_json()
    tz = app.extensions["redirector"].settings.timezone
    now = clock.now()
    current = str(period_of(now, tz))
    previous = str(period_of(now - timedelta(days=now.day + 1), tz))
    api.ok("PUT", f"/api/v1/ad-spend/{current}/starlight", {"amount": 500})
    api.ok("POST", f"/api/v1/settlements/{previous}/close")
    return {
        "agency_id": ["starlight"],
        "creator_id": ["alice", "bob"],
        "storefront_id": ["taobao"],
        "product_id": ["tea", "cup"],
        "link_id": links,
        "order_id": ["o-1"],
        "period": [current, previous],
        "account_id": ["starlight", "bob"],
        "creator_key": [world["alice"]],
    }


@pytest.fixture
def api_schema(app: Any, api: Any, client: Any, request: Any) -> Iterator[Any]:
    if not hasattr(request.node, "_nodeid"):
        # schemathesis' from_fixture (4.32) renames the test per operation through
        # pytest's private Node._nodeid, which pytest 9.2 no longer has.
        request.node._nodeid = request.node.nodeid
    known = seed(api, client, app)
    schema = schemathesis.openapi.from_wsgi("/openapi.json", app)
    schema.known = known  # type: ignore[attr-defined]

    @schema.hook
    def flatmap_path_parameters(context: Any, path_parameters: dict[str, Any]) -> Any:
        # Half the time, aim at objects that exist (generated slugs name nothing).
        if not path_parameters:
            return st.just(path_parameters)
        aimed = {
            name: st.sampled_from(known[name]) if name in known else st.just(value)
            for name, value in path_parameters.items()
        }
        return st.one_of(st.just(path_parameters), st.fixed_dictionaries(aimed))

    yield schema


schema = schemathesis.pytest.from_fixture("api_schema")


def signed(case: Any, app: Any) -> dict[str, Any]:
    """The callback's body as sent, with headers signing it with the storefront's
    secret in force (admins may have rotated it earlier in the run)."""
    svc = app.extensions["redirector"]
    now = svc.clock.now()
    secret = registry.valid_signing_secrets(
        svc.store, "taobao", svc.clock.now_ms(), box_for(svc.settings.secret_keys)
    )[0]
    if isinstance(case.body, NotSet):
        body = b""
    elif isinstance(case.body, bytes):  # negative cases: bytes that are no JSON at all
        body = case.body
    else:
        body = json.dumps(case.body).encode()
    msg_id = f"msg_{CALLBACKS['sent']}"
    timestamp = int(now.timestamp())
    headers = {
        "Content-Type": "application/json",
        webhooks.HEADER_ID: msg_id,
        webhooks.HEADER_TIMESTAMP: str(timestamp),
        webhooks.HEADER_SIGNATURE: webhooks.sign(secret, msg_id, timestamp, body),
    }
    return {"headers": headers, "data": body}


@schema.parametrize()
@BOUNDED
def test_every_operation_answers_as_documented_to_the_admin(case: Any, api_schema: Any) -> None:
    CASES["admin " + case.operation.label] += 1
    auth = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    if case.operation.label == ORDER_EVENT:
        CALLBACKS["sent"] += 1
    if case.operation.label == ORDER_EVENT and CALLBACKS["sent"] % 2:
        CALLBACKS["signed"] += 1
        case.path_parameters = {"storefront_id": "taobao"}
        request = signed(case, api_schema.app)
        request["headers"].update(auth)
        answer = case.call_and_validate(checks=CHECKS, **request)
        CALLBACKS[f"signed, answered {answer.status_code}"] += 1
        return
    case.call_and_validate(headers=auth, checks=CHECKS)


@schema.include(path_regex=CREATOR_PATHS).parametrize()
@BOUNDED
def test_a_creators_operations_answer_as_documented(case: Any, api_schema: Any) -> None:
    CASES["creator " + case.operation.label] += 1
    key = api_schema.known["creator_key"][0]
    case.call_and_validate(headers={"Authorization": f"Bearer {key}"}, checks=CHECKS)


def test_report_the_cases_schemathesis_ran(capsys: Any, request: Any) -> None:
    """Every operation was called; one line says how often (per operation with ``-v``)."""
    if not CASES:
        pytest.skip("run with the schemathesis tests above")
    with capsys.disabled():
        total = sum(CASES.values())
        print(f"\nschemathesis: {total} cases over {len(CASES)} (role, operation) pairs; ", end="")
        print(f"order callbacks: {dict(sorted(CALLBACKS.items()))}")
        if request.config.get_verbosity() > 0:
            print(json.dumps(dict(sorted(CASES.items())), indent=1))
    assert all(count > 0 for count in CASES.values())
