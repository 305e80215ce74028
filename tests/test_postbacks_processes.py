"""Postbacks from real ``redirector serve`` processes on one Redis, to a
receiver on loopback: an event recorded before a restart is delivered after
it, and two services delivering side by side send every event, in order,
never one attempt twice at once."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from redirector.simulate.receiver import Receiver
from redirector.storefront_client import StorefrontClient

from .conftest import ADMIN_TOKEN, DESKTOP_CHROME, SECRET_KEYS
from .servers import postbacks_worker, redis_for_server, service, wait_until
from .test_postbacks_delivery import overlapping

pytestmark = pytest.mark.server


def call(base: str, method: str, path: str, body: Any = None, token: str = ADMIN_TOKEN) -> Any:
    answer = requests.request(
        method, base + path, json=body, headers={"Authorization": f"Bearer {token}"}, timeout=10
    )
    assert answer.status_code in (200, 201), answer.text
    return answer.json()


class Storefront:
    """A shop, a product and a creator on a running service; orders paid after a click."""

    def __init__(self, base: str) -> None:
        shop = call(
            base, "PUT", "/api/v1/storefronts/shop", {"name": "Shop", "hosts": ["shop.test"]}
        )
        call(
            base,
            "PUT",
            "/api/v1/products/p1",
            {
                "storefront_id": "shop",
                "title": "Thing",
                "price": 1000,
                "commission_rate_bps": 1000,
                "web_url": "https://shop.test/p/1",
            },
        )
        self.key = call(base, "PUT", "/api/v1/creators/c1", {"name": "C"})["api_key"]
        self.link = call(
            base, "POST", "/api/v1/links", {"product_id": "p1", "channel": "weibo"}, self.key
        )
        self.secret = shop["signing_secret"]

    def paid(self, base: str, order_id: str) -> None:
        redirect = requests.get(
            self.link["url"].replace("https://go.example.test", base),
            headers={"User-Agent": DESKTOP_CHROME},
            allow_redirects=False,
            timeout=10,
        )
        click = parse_qs(urlsplit(redirect.headers["Location"]).query)["rd_click"][0]
        client = StorefrontClient.over_http(base, "shop", self.secret)
        event = client.event(order_id, "paid", 1000, datetime.now(UTC), click_id=click)
        assert client.send(event).status_code == 200


def service_env(store_env: dict[str, str]) -> dict[str, str]:
    return {
        **store_env,
        "REDIRECTOR_ADMIN_TOKEN": ADMIN_TOKEN,
        "REDIRECTOR_SECRET_KEYS": SECRET_KEYS,
        "REDIRECTOR_PUBLIC_URL": "https://go.example.test",
        "REDIRECTOR_WEBHOOK_ALLOW_PRIVATE": "1",
    }


def test_an_event_recorded_before_a_restart_is_delivered_after_it() -> None:
    receiver = Receiver().start()
    receiver.stop()  # it has a port, and refuses connections on it for now
    with redis_for_server() as store_env:
        env = service_env(store_env)
        with service(env, workers=1) as base:
            shop = Storefront(base)
            hook = call(
                base,
                "POST",
                "/api/v1/webhooks",
                {"url": receiver.url, "events": ["order.attributed"]},
            )
            receiver.secrets.append(hook["secret"])
            for i in range(3):
                shop.paid(base, f"R{i}")
        receiver.start()
        try:
            with service(env, workers=1):
                got = receiver.wait_for(3, timeout=30)  # the first is retried 5 s after its failure
        finally:
            receiver.stop()
    assert [r.message["data"]["order_id"] for r in got] == ["R0", "R1", "R2"]
    assert all(r.verified for r in got)


def test_two_services_on_one_redis_deliver_everything_in_order_never_twice_at_once() -> None:
    with redis_for_server() as store_env, Receiver(delay=0.05) as receiver:
        env = service_env(store_env)
        with service(env, workers=2) as first, service(env, workers=2) as second:
            shop = Storefront(first)
            hook = call(
                first,
                "POST",
                "/api/v1/webhooks",
                {"url": receiver.url, "events": ["order.attributed"]},
            )
            receiver.secrets.append(hook["secret"])
            for i in range(16):
                shop.paid(first if i % 2 else second, f"D{i:02d}")
            got = receiver.wait_for(16, timeout=30)
            path = f"/api/v1/webhooks/{hook['id']}/deliveries?limit=200"
            # The last answer may arrive a moment before its sender records it.
            wait_until(
                lambda: (
                    {d["state"] for d in call(second, "GET", path)["deliveries"]} == {"delivered"}
                ),
                timeout=10,
                what="every delivery recorded",
            )
            log = call(second, "GET", path)
    assert [r.message["data"]["order_id"] for r in got] == [f"D{i:02d}" for i in range(16)]
    assert overlapping(receiver.received) == []
    assert len(receiver.received) == 16  # nothing sent twice
    assert {d["state"] for d in log["deliveries"]} == {"delivered"}


def test_a_worker_of_its_own_delivers_for_a_service_that_does_not() -> None:
    with redis_for_server() as store_env, Receiver() as receiver:
        env = service_env(store_env)
        with service(env, workers=1, args=["--no-postbacks"]) as base:
            shop = Storefront(base)
            body = {"url": receiver.url, "events": ["order.attributed"]}
            receiver.secrets.append(call(base, "POST", "/api/v1/webhooks", body)["secret"])
            shop.paid(base, "W0")
            time.sleep(1.0)
            assert receiver.received == []  # serve --no-postbacks sends nothing
            with postbacks_worker(env) as worker:
                got = receiver.wait_for(1, timeout=20)
                assert worker.poll() is None
            assert worker.returncode == 0  # SIGTERM: it stopped cleanly
    assert [r.message["data"]["order_id"] for r in got] == ["W0"]
