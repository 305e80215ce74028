"""Request bodies: bounded in size (413) and in JSON depth (400), on every API
operation and the signed order callback; nothing about a body answers 500 or
logs a traceback. (The credentials come first: ``test_credentials_first``.)"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import socket
import threading
from typing import Any
from urllib.parse import urlsplit

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from redirector import bodies, create_app, webhooks
from redirector.bodies import MAX_API_BODY, MAX_CALLBACK_BODY, MAX_JSON_DEPTH, nesting_exceeds
from redirector.config import Settings
from redirector.errors import PayloadTooLarge

from .conftest import ADMIN_TOKEN, SECRET_KEYS, Api, error_of
from .servers import service

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
DEEP = b"[" * 5000 + b"]" * 5000


def nested(depth: int) -> bytes:
    """An agency body whose deepest array is at ``depth`` (the object is level 1)."""
    inner = "[" * (depth - 1) + "]" * (depth - 1)
    return ('{"name": "A", "extra": ' + inner + "}").encode()


def operations(client: Any) -> list[tuple[str, str, dict[str, Any]]]:
    """(method, path with every parameter filled, operation) for each operation."""
    doc = client.get("/openapi.json").get_json()
    out = []
    for template, item in doc["paths"].items():
        path = template
        for name in ("period",):
            path = path.replace("{" + name + "}", "2026-11")
        while "{" in path:
            start, end = path.index("{"), path.index("}")
            path = path[:start] + "x" + path[end + 1 :]
        for method, operation in item.items():
            out.append((method.upper(), path, operation))
    return out


def tracebacks(caplog: Any) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.exc_info or "Traceback" in r.getMessage()]


@pytest.fixture
def served(settings: Settings, store: Any) -> Any:
    """The app as production runs it: exceptions become 500s and log lines, not
    errors raised into the test. Failed authentications are not limited here:
    these tests send one without credentials to every operation, more than
    the default limit allows from one address."""
    return create_app(
        settings.with_overrides(auth_failure_limit="1000/minute"),
        store=store,
        test_config={"TESTING": False},
    )


# -- depth ------------------------------------------------------------------------------------


def test_deep_json_is_400_on_every_operation_with_and_without_credentials(
    served: Any, store: Any, caplog: Any
) -> None:
    client = served.test_client()
    Api(client).world()
    caplog.set_level(logging.INFO)
    for n, (method, path, operation) in enumerate(operations(client)):
        for headers in ({}, ADMIN):
            answer = client.open(
                path,
                method=method,
                data=DEEP,
                headers={**headers, "Content-Type": "application/json"},
                # An address per operation: the failed-authentication limit
                # must not answer for the body.
                environ_overrides={"REMOTE_ADDR": f"10.1.{n // 250}.{n % 250 + 1}"},
            )
            assert answer.status_code < 500, (method, path, answer.status_code)
            takes_body = "requestBody" in operation and "webhook-id" not in json.dumps(operation)
            if headers and takes_body and path.startswith("/api/"):
                assert error_of(answer, 400)["message"].endswith(f"{MAX_JSON_DEPTH} levels")
    assert tracebacks(caplog) == []


def test_the_depth_limit_is_32_levels(api: Api) -> None:
    fits = api.call("PUT", "/api/v1/agencies/a", data=nested(MAX_JSON_DEPTH), headers=json_type())
    assert error_of(fits, 422)["fields"][0]["field"] == "extra"  # parsed, then refused
    over = api.call(
        "PUT", "/api/v1/agencies/a", data=nested(MAX_JSON_DEPTH + 1), headers=json_type()
    )
    assert "deeper than 32" in error_of(over, 400)["message"]


def test_a_signed_deep_callback_is_400_and_logs_no_traceback(
    served: Any, store: Any, caplog: Any
) -> None:
    client = served.test_client()
    secret = Api(client).world()["shop"]["signing_secret"]
    caplog.set_level(logging.INFO)
    now = int(served.extensions["redirector"].clock.now().timestamp())
    for body in (DEEP, b'{"a": ' + b"[" * 40 + b"]" * 40 + b"}", "\u00e9".encode("latin-1")):
        headers = {
            "Content-Type": "application/json",
            webhooks.HEADER_ID: "msg_deep",
            webhooks.HEADER_TIMESTAMP: str(now),
            webhooks.HEADER_SIGNATURE: webhooks.sign(secret, "msg_deep", now, body),
        }
        answer = client.post("/api/v1/storefronts/taobao/orders", data=body, headers=headers)
        error_of(answer, 400)
    # Unsigned, the same body is a 401: the signature comes before the shape.
    unsigned = client.post("/api/v1/storefronts/taobao/orders", data=DEEP, headers=json_type())
    error_of(unsigned, 401)
    assert tracebacks(caplog) == []


def json_type() -> dict[str, str]:
    return {"Content-Type": "application/json"}


def depth_of(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((depth_of(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((depth_of(v) for v in value), default=0)
    return 0


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(alphabet='[]{}"\\ab\u00e9\u4e2d,:'),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.text(alphabet='[]{}"\\k', max_size=4), children, max_size=3)
    ),
    max_leaves=40,
)


@given(JSON, st.integers(0, 8))
@hypothesis_settings(max_examples=300, derandomize=True, database=None, deadline=None)
def test_the_scanner_measures_depth_as_the_parser_nests(value: Any, limit: int) -> None:
    for text in (json.dumps(value), json.dumps(value, ensure_ascii=False, indent=1)):
        assert nesting_exceeds(text.encode(), limit) == (depth_of(value) > limit)


def test_the_scanner_skips_strings_and_escapes() -> None:
    assert not nesting_exceeds(b'["[[[[", "\\"[[[", {"{{{": "]]]"}]', 2)
    assert nesting_exceeds(b'[[["\\\\"]]]', 2)  # an escaped backslash ends no string
    assert not nesting_exceeds(b'"' + b"[" * 100, 2)  # an unterminated string holds it all
    assert nesting_exceeds(b"[" * 3, 2) and not nesting_exceeds(b"[" * 2, 2)


def test_a_json_body_must_be_utf8_without_nul(api: Api) -> None:
    for body in ('{"name": "caf\u00e9"}'.encode("utf-16"), b'{"name": "A"}\x00', b"\xff{}"):
        answer = api.call("PUT", "/api/v1/agencies/a", data=body, headers=json_type())
        assert "not valid JSON" in error_of(answer, 400)["message"]


# -- size -------------------------------------------------------------------------------------


class Stream(io.RawIOBase):
    """A body of ``size`` bytes that counts what is read of it."""

    def __init__(self, size: int) -> None:
        self.left = size
        self.read_bytes = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n = min(len(buffer), self.left)
        buffer[:n] = b" " * n
        self.left -= n
        self.read_bytes += n
        return n


def send(client: Any, path: str, stream: Stream, length: int | None, **headers: str) -> Any:
    environ: dict[str, Any] = {"wsgi.input": stream, "wsgi.input_terminated": True}
    if length is not None:
        environ["CONTENT_LENGTH"] = str(length)
    return client.open(
        path,
        method="PUT" if "agencies" in path else "POST",
        headers={"Content-Type": "application/json", **headers},
        environ_overrides=environ,
    )


@pytest.mark.parametrize("headers", [{}, ADMIN], ids=["no token", "admin"])
def test_a_body_over_1_mib_is_413_by_its_length_before_a_byte_is_read(
    client: Any, headers: dict[str, str]
) -> None:
    stream = Stream(400 * 1024 * 1024)
    answer = send(client, "/api/v1/agencies/a", stream, 400 * 1024 * 1024, **headers)

    error = error_of(answer, 413)
    assert error["code"] == "payload_too_large" and error["limit"] == MAX_API_BODY
    assert stream.read_bytes == 0


def test_a_chunked_body_is_read_one_byte_past_the_limit_then_413(client: Any) -> None:
    stream = Stream(8 * MAX_API_BODY)
    answer = send(client, "/api/v1/agencies/a", stream, None, **ADMIN)

    assert error_of(answer, 413)["code"] == "payload_too_large"
    assert stream.read_bytes == MAX_API_BODY + 1
    # Without a token, the credentials refuse it first and nothing is read.
    stream = Stream(8 * MAX_API_BODY)
    assert send(client, "/api/v1/agencies/a", stream, None).status_code == 401
    assert stream.read_bytes == 0


def test_a_body_at_the_limit_is_read(client: Any) -> None:
    stream = Stream(MAX_API_BODY)
    answer = send(client, "/api/v1/agencies/a", stream, None, **ADMIN)
    assert error_of(answer, 400)["message"] == "the body is not valid JSON"  # read, then parsed
    assert stream.read_bytes == MAX_API_BODY


def test_a_callback_over_256_kib_is_413_before_its_signature_is_read(
    client: Any, world: dict[str, Any]
) -> None:
    path = "/api/v1/storefronts/taobao/orders"
    stream = Stream(100 * 1024 * 1024)
    assert error_of(send(client, path, stream, 100 * 1024 * 1024), 413)["limit"] == (
        MAX_CALLBACK_BODY
    )
    assert stream.read_bytes == 0
    chunked = Stream(MAX_API_BODY)
    error_of(send(client, path, chunked, None), 413)
    assert chunked.read_bytes == MAX_CALLBACK_BODY + 1
    at_limit = Stream(MAX_CALLBACK_BODY)
    error_of(send(client, path, at_limit, MAX_CALLBACK_BODY), 401)  # read, unsigned


def test_the_limits_are_plain_rules() -> None:
    bodies.check_size(None, 10)
    bodies.check_size(10, 10)
    with pytest.raises(PayloadTooLarge):
        bodies.check_size(11, 10)


def raw_put(base: str, head: str, body: bytes) -> bytes:
    """Send a request as bytes; answers the start of the response. The server may
    answer and stop reading before the body is all sent (a broken pipe), so the
    body is sent from a thread while this one waits for the answer."""
    address = urlsplit(base)
    with socket.create_connection((address.hostname, address.port), timeout=30) as conn:
        request = f"PUT /api/v1/agencies/a HTTP/1.1\r\nHost: x\r\n{head}\r\n".encode()

        def sending() -> None:
            with contextlib.suppress(OSError):
                conn.sendall(request + body)

        sender = threading.Thread(target=sending, daemon=True)
        sender.start()
        answer = b""
        while b"}" not in answer:  # to the end of the JSON error
            received = conn.recv(4096)
            if not received:
                break
            answer += received
        sender.join(30)
        return answer


def test_under_gunicorn_a_body_over_the_limit_is_413() -> None:
    """The real server: gunicorn hands a chunked body to the app as a stream
    (``wsgi.input_terminated``), read one byte past the limit; a body announced
    by its length is refused before it is sent at all."""
    env = {"REDIRECTOR_ADMIN_TOKEN": ADMIN_TOKEN, "REDIRECTOR_SECRET_KEYS": SECRET_KEYS}
    chunk = b" " * 65536
    chunked = b"".join(b"10000\r\n" + chunk + b"\r\n" for _ in range(64)) + b"0\r\n\r\n"
    with service(env, workers=1) as base:
        answer = raw_put(
            base,
            f"Authorization: Bearer {ADMIN_TOKEN}\r\nTransfer-Encoding: chunked\r\n",
            chunked,  # 4 MiB
        )
        assert answer.startswith(b"HTTP/1.1 413 ") and b"payload_too_large" in answer, answer
        answer = raw_put(base, f"Content-Length: {400 * 1024 * 1024}\r\n", b"")
        assert answer.startswith(b"HTTP/1.1 413 ")


def test_the_document_says_every_api_operation_may_answer_413(client: Any) -> None:
    api_operations = [(m, p, o) for m, p, o in operations(client) if p.startswith("/api/")]
    assert api_operations
    for method, path, operation in api_operations:
        assert "413" in operation["responses"], (method, path)


def test_other_paths_are_bounded_too(client: Any) -> None:
    answer = client.post("/console/sign-in", data={"credential": "x" * (2 * MAX_API_BODY)})
    assert answer.status_code == 413
