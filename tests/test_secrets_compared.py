"""Every secret the service checks is compared in constant time.

Two guards: each secret check is watched calling ``hmac.compare_digest`` with
the value presented (the admin token on the API and at the console's sign-in,
a creator's API key, the console session's fingerprint, a webhook signature,
link and device tokens); and a scan of the package refuses ``==`` and ``!=``
wherever either side is named like a secret (a token, a secret, a key, a
signature, a hash, a digest, a fingerprint, a credential).

A creator's API key is never compared at all: it is looked up by its SHA-256
(``registry.creator_for_api_key``), and what a lookup's timing could tell is
about the hash, not the key.
"""

from __future__ import annotations

import ast
import base64
import hmac
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from redirector import webhooks
from redirector.devices import DeviceIds
from redirector.links import LinkSigner

from .conftest import ADMIN_TOKEN, SECRET_KEYS, Api
from .test_console import sign_in

PACKAGE = Path(__file__).resolve().parent.parent / "redirector"


class Spy:
    """``hmac.compare_digest``, recording what it was asked to compare."""

    def __init__(self) -> None:
        self.original = hmac.compare_digest
        self.calls: list[tuple[Any, Any]] = []

    def __call__(self, a: Any, b: Any) -> bool:
        self.calls.append((a, b))
        return self.original(a, b)

    def compared(self, value: str | bytes) -> bool:
        """Whether ``value`` (as text or as bytes) was one side of a comparison."""
        wanted = {value, value.encode() if isinstance(value, str) else value}
        return any(a in wanted or b in wanted for a, b in self.calls)


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> Spy:
    # Every module of the package (and itsdangerous) reaches it as
    # ``hmac.compare_digest``, looked up on the module at each call.
    watcher = Spy()
    monkeypatch.setattr(hmac, "compare_digest", watcher)
    return watcher


# -- each secret check, watched -----------------------------------------------------------


def test_the_api_compares_the_admin_token_in_constant_time(api: Api, spy: Spy) -> None:
    assert api.call("GET", "/api/v1/programs").status_code == 200
    assert spy.compared(ADMIN_TOKEN)
    wrong = "not-the-admin-token-0123456789"
    assert api.call("GET", "/api/v1/programs", token=wrong).status_code == 401
    assert spy.compared(wrong)


def test_a_creator_key_meets_the_admin_token_in_constant_time(api: Api, spy: Spy) -> None:
    key = api.world()["bob"]
    spy.calls.clear()
    assert api.call("GET", "/api/v1/programs", token=key).status_code == 200
    assert spy.compared(key)


def test_the_console_sign_in_compares_the_admin_token_in_constant_time(
    client: Any, spy: Spy
) -> None:
    assert sign_in(client, ADMIN_TOKEN).status_code == 302
    assert spy.compared(ADMIN_TOKEN)


def test_the_console_session_fingerprint_is_compared_in_constant_time(
    client: Any, api: Api, spy: Spy
) -> None:
    key = api.world()["alice"]
    assert sign_in(client, key).status_code == 302
    with client.session_transaction() as session:
        fingerprint = session["fingerprint"]
    spy.calls.clear()
    assert client.get("/console/me").status_code == 200
    assert spy.compared(fingerprint)


def test_a_webhook_signature_is_compared_in_constant_time(spy: Spy) -> None:
    secret, body, now = webhooks.new_secret(), b'{"order_id":"o-1"}', datetime.now(UTC)
    timestamp = int(now.timestamp())
    signature = webhooks.sign(secret, "msg_1", timestamp, body)
    headers = {
        "webhook-id": "msg_1",
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature,
    }
    assert webhooks.verify([secret], headers, body, now) == "msg_1"
    assert spy.compared(base64.b64decode(signature.split(",", 1)[1]))


def test_link_and_device_tokens_are_compared_in_constant_time(spy: Spy) -> None:
    keys = SECRET_KEYS.split(",")
    signer = LinkSigner(keys)
    token = signer.sign("AbCdE12345")
    assert signer.link_id_for(token) == "AbCdE12345"
    assert spy.compared(base64.urlsafe_b64decode(token.rsplit(".", 1)[1] + "=="))
    devices = DeviceIds(keys)
    raw, cookie = devices.issue()
    assert devices.verify(cookie) == raw
    assert spy.compared(base64.urlsafe_b64decode(cookie.rsplit(".", 1)[1] + "=="))


# -- no plain comparison of a secret anywhere in the package --------------------------------

SECRET_NAME = re.compile(
    r"(^|_)(token|secret|key|signature|sig|hash|digest|fingerprint|credential|password|mac)s?($|_)",
    re.IGNORECASE,
)
PLAIN = (ast.Eq, ast.NotEq)
# (file, the comparison as written): why it compares no secret.
NOT_SECRETS = {
    ("webhooks.py", "key.lower() == name"): "a header's name, looked up case-insensitively",
}


def _names(node: ast.expr) -> Iterator[str]:
    """The names an operand is made of: variables, attributes, called functions,
    and string subscripts (``session["fingerprint"]``)."""
    for part in ast.walk(node):
        if isinstance(part, ast.Name):
            yield part.id
        elif isinstance(part, ast.Attribute):
            yield part.attr
        elif (
            isinstance(part, ast.Subscript)
            and isinstance(part.slice, ast.Constant)
            and isinstance(part.slice.value, str)
        ):
            yield part.slice.value


def plain_secret_comparisons(source: str) -> list[tuple[int, str]]:
    """(line, comparison) for each ``==`` or ``!=`` with an operand named like a secret."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Compare):
            continue
        operands = [node.left, *node.comparators]
        for i, op in enumerate(node.ops):
            if not isinstance(op, PLAIN):
                continue
            names = [n for side in operands[i : i + 2] for n in _names(side)]
            if any(SECRET_NAME.search(n) for n in names):
                found.append((node.lineno, ast.unparse(node)))
                break
    return found


def test_no_secret_is_compared_with_a_plain_operator() -> None:
    found = [
        f"{path.relative_to(PACKAGE.parent)}:{line}: {text}"
        for path in sorted(PACKAGE.rglob("*.py"))
        for line, text in plain_secret_comparisons(path.read_text())
        if (path.name, text) not in NOT_SECRETS
    ]
    assert not found, "compare secrets with hmac.compare_digest:\n" + "\n".join(found)


def test_the_scan_sees_a_plain_comparison_of_a_secret() -> None:
    assert plain_secret_comparisons("ok = token.encode() == settings.admin_token.encode()")
    assert plain_secret_comparisons("ok = session['fingerprint'] != expected")
    assert plain_secret_comparisons("ok = hash_api_key(presented) == stored")
    assert not plain_secret_comparisons("ok = hmac.compare_digest(token, admin_token)")
    assert not plain_secret_comparisons("ok = status == 'paid'")
