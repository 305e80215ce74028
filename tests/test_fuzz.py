"""Arbitrary JSON at every operation of the OpenAPI document: any size up to
the limit and past it, any depth, any type, any text (lone surrogates
included), as the admin, as a creator, with a bad token and with none; the
order callback signed with the storefront's secret, so that its bodies are
parsed too. No answer is 5xx and nothing logs a traceback.

(schemathesis, ``test_schemathesis``, checks the answers against the document;
this checks what the document does not promise: shapes no model describes.)
"""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from redirector import create_app, registry, webhooks
from redirector.bodies import MAX_JSON_DEPTH
from redirector.config import Settings
from redirector.secrets_at_rest import box_for

from .conftest import ADMIN_TOKEN, Api
from .test_bodies import tracebacks

CALLBACK = "/api/v1/storefronts/{storefront_id}/orders"

ANY_TEXT = st.text(st.characters(codec=None, exclude_categories=()), max_size=40)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(10**40), max_value=10**40)
    | st.floats(allow_nan=True, allow_infinity=True)
    | ANY_TEXT
    | st.text(max_size=3000)
    | st.sampled_from(["paid", "CNY", "2026-11-20T10:00:00+08:00", "taobao", "tea", "weibo"])
)
JSON = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(ANY_TEXT, inner, max_size=5),
    max_leaves=30,
)
FIELDS = st.sampled_from(
    ["name", "hosts", "storefront_id", "title", "price", "commission_rate_bps", "web_url",
     "app_url", "active", "product_id", "channel", "post_id", "placement", "amount",
     "grace_seconds", "now", "order_id", "status", "currency", "click_id", "device_id",
     "occurred_at", "refunded_amount", "agency_id", "click_param"]
)  # fmt: skip
# Objects with the fields the models know, holding anything.
OBJECTS = st.dictionaries(FIELDS, JSON, max_size=8)


def deep(depth: int) -> bytes:
    return ("[" * depth + "]" * depth).encode()


BODIES = st.one_of(
    JSON.map(lambda v: json.dumps(v).encode()),
    OBJECTS.map(lambda v: json.dumps(v).encode()),
    OBJECTS.map(lambda v: json.dumps(v, ensure_ascii=False).encode("utf-8", "surrogatepass")),
    st.sampled_from([MAX_JSON_DEPTH, MAX_JSON_DEPTH + 1, 500, 2000, 50_000]).map(deep),
    st.binary(max_size=64),
    st.just(b""),
)


@pytest.fixture
def fuzzed(settings: Settings, store: Any) -> Any:
    """The app as production runs it (a 500 is an answer and a log line, not an
    exception raised into the test), with failures never limited."""
    app = create_app(
        settings.with_overrides(auth_failure_limit="1000000/minute"),
        store=store,
        test_config={"TESTING": False},
    )
    client = app.test_client()
    api = Api(client)
    world = api.world()
    link = api.link(world["alice"])
    doc = client.get("/openapi.json").get_json()
    ids = {
        "agency_id": "starlight",
        "creator_id": "alice",
        "storefront_id": "taobao",
        "product_id": "tea",
        "link_id": link["id"],
        "order_id": "o-1",
        "period": "2026-11",
        "account_id": "starlight",
    }
    operations = []
    for template, item in doc["paths"].items():
        path = template
        for name, value in ids.items():
            path = path.replace("{" + name + "}", value)
        operations += [(method.upper(), template, path) for method in item]
    return app, client, sorted(operations), {"alice": world["alice"]}


def signed(app: Any, body: bytes, n: int) -> dict[str, str]:
    svc = app.extensions["redirector"]
    secret = registry.valid_signing_secrets(
        svc.store, "taobao", svc.clock.now_ms(), box_for(svc.settings.secret_keys)
    )[0]
    now = int(svc.clock.now().timestamp())
    msg_id = f"msg_fuzz_{n}"
    return {
        webhooks.HEADER_ID: msg_id,
        webhooks.HEADER_TIMESTAMP: str(now),
        webhooks.HEADER_SIGNATURE: webhooks.sign(secret, msg_id, now, body),
    }


@given(
    data=st.data(),
    body=BODIES,
    who=st.sampled_from(["admin", "creator", "bad token", "none"]),
    content_type=st.sampled_from(["application/json", "application/json", "text/plain"]),
)
@hypothesis_settings(
    max_examples=400,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_no_json_of_any_shape_answers_5xx_or_logs_a_traceback(
    fuzzed: Any, caplog: Any, data: Any, body: bytes, who: str, content_type: str
) -> None:
    app, client, operations, keys = fuzzed
    method, template, path = data.draw(st.sampled_from(operations))
    headers = {"Content-Type": content_type}
    token = {"admin": ADMIN_TOKEN, "creator": keys["alice"], "bad token": "rdk_wrong"}.get(who)
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if template == CALLBACK and who != "none":
        headers.update(signed(app, body, len(caplog.records) + id(body)))
    caplog.clear()
    caplog.set_level(logging.INFO)

    answer = client.open(path, method=method, data=body, headers=headers)

    assert answer.status_code < 500, (method, path, who, body[:200], answer.get_data()[:300])
    assert tracebacks(caplog) == [], (method, path, who, body[:200])
