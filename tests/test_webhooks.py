"""Webhook signing/verification, cross-checked against the reference `standardwebhooks` package."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
import standardwebhooks
from hypothesis import given, settings
from hypothesis import strategies as st

from redirector.storefront_client import StorefrontClient
from redirector.webhooks import (
    TOLERANCE_SECONDS,
    BadSignature,
    MissingHeaders,
    StaleTimestamp,
    WebhookError,
    new_secret,
    secret_key,
    sign,
    verify,
)

BODY = b'{"order_id":"o-1","status":"paid","amount":12900,"currency":"CNY"}'
MSG_ID = "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W"


def _now() -> datetime:
    return datetime.now(UTC)


def _ts(moment: datetime) -> int:
    return int(moment.timestamp())


def _headers(msg_id: str, timestamp: int, signature: str) -> dict[str, str]:
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature,
    }


def _theirs_sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    # The reference signer takes a datetime and the body as text.
    when = datetime.fromtimestamp(timestamp, tz=UTC)
    return standardwebhooks.Webhook(secret).sign(msg_id, when, body.decode())


# --- interoperability -------------------------------------------------------


def test_reference_signs_ours_verifies() -> None:
    secret = new_secret()
    now = _now()
    ts = _ts(now)
    signature = _theirs_sign(secret, MSG_ID, ts, BODY)
    assert verify([secret], _headers(MSG_ID, ts, signature), BODY, now) == MSG_ID


def test_ours_signs_reference_verifies() -> None:
    secret = new_secret()
    ts = _ts(_now())
    headers = _headers(MSG_ID, ts, sign(secret, MSG_ID, ts, BODY))
    parsed = standardwebhooks.Webhook(secret).verify(BODY, headers)
    assert parsed == json.loads(BODY)


def test_ours_matches_reference_byte_for_byte() -> None:
    secret = new_secret()
    ts = 1_700_000_000
    assert sign(secret, MSG_ID, ts, BODY) == _theirs_sign(secret, MSG_ID, ts, BODY)


def test_reference_rejects_our_signature_under_other_secret() -> None:
    ts = _ts(_now())
    headers = _headers(MSG_ID, ts, sign(new_secret(), MSG_ID, ts, BODY))
    with pytest.raises(standardwebhooks.WebhookVerificationError):
        standardwebhooks.Webhook(new_secret()).verify(BODY, headers)


def test_new_secret_round_trips_through_reference() -> None:
    secret = new_secret()
    assert secret.startswith("whsec_")
    key = secret_key(secret)
    assert len(key) == 32
    assert standardwebhooks.Webhook(secret)._whsecret == key
    # And a message the reference signs with it verifies here.
    now = _now()
    ts = _ts(now)
    assert verify([secret], _headers("m", ts, _theirs_sign(secret, "m", ts, b"x")), b"x", now)


def test_new_secret_is_random() -> None:
    assert len({new_secret() for _ in range(20)}) == 20


# --- rotation ---------------------------------------------------------------


def test_second_of_two_signatures_matches() -> None:
    old, new = new_secret(), new_secret()
    now = _now()
    ts = _ts(now)
    header = f"{sign(old, MSG_ID, ts, BODY)} {sign(new, MSG_ID, ts, BODY)}"
    assert verify([new], _headers(MSG_ID, ts, header), BODY, now) == MSG_ID


def test_server_holding_old_and_new_accepts_either() -> None:
    old, new = new_secret(), new_secret()
    now = _now()
    ts = _ts(now)
    for signer in (old, new):
        headers = _headers(MSG_ID, ts, sign(signer, MSG_ID, ts, BODY))
        assert verify([old, new], headers, BODY, now) == MSG_ID
    with pytest.raises(BadSignature):
        headers = _headers(MSG_ID, ts, sign(new_secret(), MSG_ID, ts, BODY))
        verify([old, new], headers, BODY, now)


# --- bad signatures -----------------------------------------------------------


def _signed(secret: str, now: datetime) -> dict[str, str]:
    ts = _ts(now)
    return _headers(MSG_ID, ts, sign(secret, MSG_ID, ts, BODY))


def test_wrong_secret() -> None:
    now = _now()
    with pytest.raises(BadSignature) as info:
        verify([new_secret()], _signed(new_secret(), now), BODY, now)
    assert info.value.reason == "bad_signature"
    assert isinstance(info.value, WebhookError)


def test_body_altered_by_one_byte() -> None:
    secret, now = new_secret(), _now()
    altered = BODY.replace(b"12900", b"12901")
    assert len(altered) == len(BODY)
    with pytest.raises(BadSignature):
        verify([secret], _signed(secret, now), altered, now)


def test_msg_id_altered() -> None:
    secret, now = new_secret(), _now()
    headers = _signed(secret, now)
    headers["webhook-id"] = MSG_ID + "x"
    with pytest.raises(BadSignature):
        verify([secret], headers, BODY, now)


def test_timestamp_altered_within_tolerance() -> None:
    secret, now = new_secret(), _now()
    headers = _signed(secret, now)
    headers["webhook-timestamp"] = str(_ts(now) - 1)
    with pytest.raises(BadSignature):
        verify([secret], headers, BODY, now)


def test_other_versions_ignored() -> None:
    secret, now = new_secret(), _now()
    ts = _ts(now)
    good = sign(secret, MSG_ID, ts, BODY)
    v2 = "v2," + good.split(",", 1)[1]  # right bytes, wrong version: must not count
    with pytest.raises(BadSignature):
        verify([secret], _headers(MSG_ID, ts, v2), BODY, now)
    header = f"v2,Zm9v v1a,{good[3:]} garbage v1,!!notbase64!! {good}"
    assert verify([secret], _headers(MSG_ID, ts, header), BODY, now) == MSG_ID


def test_no_secrets_configured() -> None:
    now = _now()
    with pytest.raises(BadSignature):
        verify([], _signed(new_secret(), now), BODY, now)


# --- timestamp tolerance ----------------------------------------------------


@pytest.mark.parametrize("offset", [-301, 301, -10_000, 10_000])
def test_stale_timestamp(offset: int) -> None:
    secret = new_secret()
    now = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
    ts = _ts(now) + offset
    headers = _headers(MSG_ID, ts, sign(secret, MSG_ID, ts, BODY))
    with pytest.raises(StaleTimestamp) as info:
        verify([secret], headers, BODY, now)
    message = str(info.value)
    assert ("future" if offset > 0 else "past") in message
    assert f"{abs(offset)} s" in message
    assert info.value.skew_seconds == offset
    assert info.value.reason == "stale_timestamp"


@pytest.mark.parametrize("offset", [-299, 299, -300, 300, 0])
def test_timestamp_within_tolerance(offset: int) -> None:
    secret = new_secret()
    now = datetime(2024, 5, 1, 12, 0, 0, 999_999, tzinfo=UTC)
    ts = _ts(now) + offset
    headers = _headers(MSG_ID, ts, sign(secret, MSG_ID, ts, BODY))
    assert verify([secret], headers, BODY, now) == MSG_ID


def test_now_in_other_timezone() -> None:
    secret = new_secret()
    utc_now = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    shanghai_now = utc_now.astimezone(timezone(timedelta(hours=8)))
    headers = _signed(secret, utc_now)
    assert verify([secret], headers, BODY, shanghai_now) == MSG_ID


def test_custom_tolerance() -> None:
    secret = new_secret()
    now = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    ts = _ts(now) - 61
    headers = _headers(MSG_ID, ts, sign(secret, MSG_ID, ts, BODY))
    with pytest.raises(StaleTimestamp):
        verify([secret], headers, BODY, now, tolerance=60)


def test_stale_checked_before_signature() -> None:
    # An old message with a garbage signature reports the timestamp, not the signature.
    now = _now()
    headers = _headers(MSG_ID, _ts(now) - 1000, "v1,AAAA")
    with pytest.raises(StaleTimestamp):
        verify([new_secret()], headers, BODY, now)


def test_naive_now_rejected() -> None:
    secret = new_secret()
    with pytest.raises(ValueError):
        verify([secret], _signed(secret, _now()), BODY, datetime.now())


# --- headers ----------------------------------------------------------------


@pytest.mark.parametrize("name", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_missing_header(name: str) -> None:
    secret, now = new_secret(), _now()
    headers = _signed(secret, now)
    del headers[name]
    with pytest.raises(MissingHeaders) as info:
        verify([secret], headers, BODY, now)
    assert name in str(info.value)
    assert info.value.headers == (name,)
    assert info.value.reason == "missing_headers"


def test_empty_header_counts_as_missing() -> None:
    secret, now = new_secret(), _now()
    headers = _signed(secret, now)
    headers["webhook-id"] = ""
    with pytest.raises(MissingHeaders, match="webhook-id"):
        verify([secret], headers, BODY, now)


def test_all_headers_missing_names_all() -> None:
    with pytest.raises(MissingHeaders) as info:
        verify([new_secret()], {}, BODY, _now())
    assert set(info.value.headers) == {"webhook-id", "webhook-timestamp", "webhook-signature"}


@pytest.mark.parametrize("raw", ["abc", "1.5e9", "1700000000.0", "-5", " 1700000000", "١٢٣", "+1"])
def test_non_integer_timestamp(raw: str) -> None:
    secret, now = new_secret(), _now()
    headers = _signed(secret, now)
    headers["webhook-timestamp"] = raw
    with pytest.raises(MissingHeaders) as info:
        verify([secret], headers, BODY, now)
    assert "webhook-timestamp" in str(info.value)
    assert info.value.headers == ("webhook-timestamp",)


def test_headers_any_case() -> None:
    secret, now = new_secret(), _now()
    headers = {k.upper(): v for k, v in _signed(secret, now).items()}
    headers["Content-Type"] = "application/json"
    assert verify([secret], headers, BODY, now) == MSG_ID
    mixed = {"Webhook-Id": MSG_ID, **{k.lower(): v for k, v in headers.items() if "ID" not in k}}
    assert verify([secret], mixed, BODY, now) == MSG_ID


def test_werkzeug_headers() -> None:
    datastructures = pytest.importorskip("werkzeug.datastructures")
    secret, now = new_secret(), _now()
    headers = datastructures.Headers(
        [("Webhook-Id", MSG_ID)]
        + [(k.title(), v) for k, v in _signed(secret, now).items() if k != "webhook-id"]
    )
    assert verify([secret], headers, BODY, now) == MSG_ID


# --- secrets ----------------------------------------------------------------


@pytest.mark.parametrize(
    "secret",
    [
        base64.b64encode(bytes(32)).decode(),  # no prefix
        "whsec_",  # empty
        "whsec_not*base64!!",  # bad alphabet
        "whsec_" + base64.urlsafe_b64encode(b"\xfb" * 32).decode(),  # URL-safe alphabet
        "whsec_" + base64.b64encode(bytes(16)).decode(),  # too short
        "whsec_" + base64.b64encode(bytes(23)).decode(),  # just too short
        "WHSEC_" + base64.b64encode(bytes(32)).decode(),  # prefix is case-sensitive
    ],
)
def test_secret_key_rejects(secret: str) -> None:
    with pytest.raises(ValueError):
        secret_key(secret)


def test_secret_key_accepts_unpadded_and_24_bytes() -> None:
    raw = bytes(range(25))
    padded = base64.b64encode(raw).decode()
    assert padded.endswith("=")
    assert secret_key("whsec_" + padded) == raw
    assert secret_key("whsec_" + padded.rstrip("=")) == raw
    assert secret_key("whsec_" + base64.b64encode(bytes(24)).decode()) == bytes(24)


def test_sign_rejects_malformed_secret_and_float_timestamp() -> None:
    with pytest.raises(ValueError):
        sign("whsec_short", MSG_ID, 1, BODY)
    with pytest.raises(TypeError):
        sign(new_secret(), MSG_ID, 1.5, BODY)  # type: ignore[arg-type]


# --- storefront client ------------------------------------------------------


class _Capture:
    def __init__(self) -> None:
        self.calls: list[tuple[str, bytes, dict[str, str]]] = []

    def __call__(self, path: str, body: bytes, headers: dict[str, str]) -> Any:
        self.calls.append((path, body, dict(headers)))
        return {"status": 202, "n": len(self.calls)}


def test_storefront_client_signs_verifiably() -> None:
    secret = new_secret()
    capture = _Capture()
    client = StorefrontClient("sf-42", secret, capture)
    occurred = datetime(2024, 5, 1, 20, 15, 30, tzinfo=timezone(timedelta(hours=8)))
    event = client.event("o-1", "paid", 12900, occurred, click_id="clk_1", device_id=None)
    assert event == {
        "order_id": "o-1",
        "status": "paid",
        "amount": 12900,
        "currency": "CNY",
        "occurred_at": "2024-05-01T20:15:30+08:00",
        "click_id": "clk_1",
    }

    response = client.send(event)
    assert response == {"status": 202, "n": 1}
    (path, body, headers) = capture.calls[0]
    assert path == "/api/v1/storefronts/sf-42/orders"
    assert headers["Content-Type"] == "application/json"
    assert b" " not in body  # compact encoding
    assert headers["webhook-id"].startswith("msg_")
    # The reference implementation (using the real clock) accepts it, and so do we.
    assert standardwebhooks.Webhook(secret).verify(body, headers) == event
    assert verify([secret], headers, body, _now()) == headers["webhook-id"]


def test_storefront_client_retry_reuses_msg_id() -> None:
    secret = new_secret()
    capture = _Capture()
    ticks = iter([1_700_000_000, 1_700_000_030, 1_700_000_060])
    client = StorefrontClient(
        "sf-1", secret, capture, clock=lambda: datetime.fromtimestamp(next(ticks), UTC)
    )
    event = client.event("o-9", "refunded", 5000, _now(), refunded_amount=5000)
    assert event["refunded_amount"] == 5000

    msg_id = client.new_msg_id()
    client.send(event, msg_id=msg_id)
    client.send(event, msg_id=msg_id)  # the retry
    client.send(event)  # a new message
    (_, body1, h1), (_, body2, h2), (_, _, h3) = capture.calls
    assert h1["webhook-id"] == h2["webhook-id"] == msg_id
    assert h3["webhook-id"] != msg_id
    assert body1 == body2
    # A retry carries a fresh timestamp and therefore a fresh signature.
    assert (h1["webhook-timestamp"], h2["webhook-timestamp"]) == ("1700000000", "1700000030")
    assert h1["webhook-signature"] != h2["webhook-signature"]
    for headers in (h1, h2):
        now = datetime.fromtimestamp(int(headers["webhook-timestamp"]), UTC)
        assert verify([secret], headers, body1, now) == msg_id


def test_storefront_client_explicit_timestamp_and_validation() -> None:
    secret = new_secret()
    capture = _Capture()
    client = StorefrontClient("sf-1", secret, capture)
    event = client.event("o-1", "paid", 1, _now())
    client.send(event, timestamp=_ts(_now()) - 400)
    (_, body, headers) = capture.calls[0]
    with pytest.raises(StaleTimestamp):
        verify([secret], headers, body, _now())
    with pytest.raises(ValueError):
        client.event("o-1", "paid", 1, datetime(2024, 1, 1))
    with pytest.raises(ValueError):
        StorefrontClient("sf-1", "not-a-secret", capture)


def test_storefront_client_over_http_uses_session() -> None:
    calls: list[dict[str, Any]] = []

    class FakeSession:
        def post(self, url: str, **kwargs: Any) -> str:
            calls.append({"url": url, **kwargs})
            return "ok"

    secret = new_secret()
    client = StorefrontClient.over_http(
        "http://127.0.0.1:8000/",
        "sf-7",
        secret,
        session=FakeSession(),  # type: ignore[arg-type]
    )
    assert client.send(client.event("o-1", "paid", 100, _now())) == "ok"
    (call,) = calls
    assert call["url"] == "http://127.0.0.1:8000/api/v1/storefronts/sf-7/orders"
    assert call["timeout"] == 10
    standardwebhooks.Webhook(secret).verify(call["data"], call["headers"])


# --- properties -------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(
    key=st.binary(min_size=24, max_size=64),
    msg_id=st.text(min_size=1, max_size=40),
    body=st.binary(min_size=1, max_size=512),
    offset=st.integers(-TOLERANCE_SECONDS, TOLERANCE_SECONDS),
    data=st.data(),
)
def test_sign_verify_property(
    key: bytes, msg_id: str, body: bytes, offset: int, data: st.DataObject
) -> None:
    secret = "whsec_" + base64.b64encode(key).decode()
    now = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    ts = _ts(now) + offset
    headers = _headers(msg_id, ts, sign(secret, msg_id, ts, body))
    assert verify([secret], headers, body, now) == msg_id

    index = data.draw(st.integers(0, len(body) - 1), label="index")
    flip = data.draw(st.integers(1, 255), label="xor")
    altered = bytearray(body)
    altered[index] ^= flip
    with pytest.raises(BadSignature):
        verify([secret], headers, bytes(altered), now)


@settings(max_examples=50, deadline=None)
@given(
    body=st.text(max_size=200).map(str.encode),
    msg_id=st.from_regex(r"msg_[A-Za-z0-9]{1,30}", fullmatch=True),
)
def test_reference_agrees_property(body: bytes, msg_id: str) -> None:
    secret = new_secret()
    now = _now()
    ts = _ts(now)
    ours = sign(secret, msg_id, ts, body)
    assert ours == _theirs_sign(secret, msg_id, ts, body)
    standardwebhooks.Webhook(secret).verify(body, _headers(msg_id, ts, ours), json_parse=False)
