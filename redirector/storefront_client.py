"""A simulated storefront that signs and posts order events like a real integration.

Used by the tests (with a Flask test client as transport) and by the traffic
simulator (over HTTP). Signing goes through :mod:`redirector.webhooks`, whose
output any Standard Webhooks library verifies.
"""

from __future__ import annotations

import json
import math
import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import requests

from redirector.webhooks import HEADER_ID, HEADER_SIGNATURE, HEADER_TIMESTAMP, secret_key, sign

__all__ = ["HTTP_TIMEOUT_SECONDS", "PostFn", "StorefrontClient"]

HTTP_TIMEOUT_SECONDS = 10

# post(path, body, headers) -> response; the transport is injected so the same
# client drives a Flask test client or a live server.
PostFn = Callable[[str, bytes, dict[str, str]], Any]


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _rfc3339(moment: datetime) -> str:
    offset = moment.utcoffset()
    if offset is None:
        raise ValueError("occurred_at must be timezone-aware (RFC 3339 needs an offset)")
    # isoformat() would emit seconds in an offset such as +08:05:43, which RFC 3339 forbids.
    if offset % timedelta(minutes=1):
        moment = moment.astimezone(UTC)
    return moment.isoformat()


class StorefrontClient:
    """Builds, signs and posts order events for one storefront."""

    def __init__(
        self,
        storefront_id: str,
        secret: str,
        post: PostFn,
        *,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        secret_key(secret)  # fail at construction, not on the first send
        self.storefront_id = storefront_id
        self.secret = secret
        self._post = post
        self._clock = clock or _utcnow

    @classmethod
    def over_http(
        cls,
        base_url: str,
        storefront_id: str,
        secret: str,
        *,
        session: requests.Session | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> StorefrontClient:
        """A client that POSTs to ``base_url`` with ``requests``."""
        http = session or requests.Session()
        root = base_url.rstrip("/")

        def post(path: str, body: bytes, headers: dict[str, str]) -> requests.Response:
            return http.post(root + path, data=body, headers=headers, timeout=HTTP_TIMEOUT_SECONDS)

        return cls(storefront_id, secret, post, clock=clock)

    @property
    def path(self) -> str:
        """The order-callback path for this storefront."""
        return f"/api/v1/storefronts/{self.storefront_id}/orders"

    @staticmethod
    def new_msg_id() -> str:
        """A fresh message id; pass it to several ``send`` calls to simulate retries."""
        return "msg_" + secrets.token_urlsafe(18)

    def event(
        self,
        order_id: str,
        status: str,
        amount: int,
        occurred_at: datetime,
        *,
        currency: str = "CNY",
        refunded_amount: int | None = None,
        click_id: str | None = None,
        device_id: str | None = None,
    ) -> dict[str, Any]:
        """Build an order event body; ``None`` fields are omitted."""
        body: dict[str, Any] = {
            "order_id": order_id,
            "status": status,
            "amount": amount,
            "currency": currency,
            "occurred_at": _rfc3339(occurred_at),
            "refunded_amount": refunded_amount,
            "click_id": click_id,
            "device_id": device_id,
        }
        return {key: value for key, value in body.items() if value is not None}

    def prepare(
        self, event: dict[str, Any], *, msg_id: str | None = None, timestamp: int | None = None
    ) -> tuple[bytes, dict[str, str]]:
        """Encode and sign ``event``; return ``(body, headers)`` without posting."""
        body = json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        if msg_id is None:
            msg_id = self.new_msg_id()
        if timestamp is None:
            now = self._clock()
            if now.utcoffset() is None:
                raise ValueError("clock must return a timezone-aware datetime")
            timestamp = math.floor(now.timestamp())
        headers = {
            "Content-Type": "application/json",
            HEADER_ID: msg_id,
            HEADER_TIMESTAMP: str(timestamp),
            HEADER_SIGNATURE: sign(self.secret, msg_id, timestamp, body),
        }
        return body, headers

    def send(
        self, event: dict[str, Any], *, msg_id: str | None = None, timestamp: int | None = None
    ) -> Any:
        """Sign and post ``event``; reuse ``msg_id`` to simulate a retry of the same message."""
        body, headers = self.prepare(event, msg_id=msg_id, timestamp=timestamp)
        return self._post(self.path, body, headers)
