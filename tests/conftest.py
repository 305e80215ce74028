"""Fixtures: ``settings``, ``store`` (fakeredis; or the Redis named by
``REDIS_URL``, or the Redis Cluster named by ``REDIS_CLUSTER_URL``, flushed
around each test), ``app``, ``client``, and helpers to set up the registry a
test story needs. Every Lua script run anywhere in the suite is checked to
touch one hash slot (``_scripts_touch_one_slot``)."""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import fakeredis
import pytest
import redis
from click.testing import CliRunner
from hypothesis import settings as hypothesis_profile

from redirector import create_app
from redirector.clock import MockClock
from redirector.config import Settings
from redirector.extension import context_of
from redirector.storefront_client import StorefrontClient

# Property tests judge results, never timings: a loaded CI machine (or a first
# call that imports and compiles) must not turn a slow example into a failure.
hypothesis_profile.register_profile("redirector", deadline=None)
hypothesis_profile.load_profile("redirector")

ADMIN_TOKEN = "test-admin-token-0123456789"
SECRET_KEYS = "test-signing-key-newest-0123456789,test-signing-key-older-0123456789"
IPHONE_WEIBO = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Mobile/15E148 Weibo (iPhone15,2__weibo__14.3.0__iphone__os17.4)"
)
DESKTOP_CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36"
)
ANDROID_DOUYIN = (
    "Mozilla/5.0 (Linux; Android 13; V2229A Build/TP1A.220624.014; wv) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Version/4.0 Chrome/105.0.5195.136 Mobile Safari/537.36 "
    "aweme_270500 JsSdk/1.0 NetType/WIFI Channel/vivo_1128_64 app_version/27.5.0 "
    "ByteLocale/zh-CN Region/CN AppSkin/white AppTheme/light BytedanceWebview/d8a21c6"
)


# The world's tea (``Api.world``): a product with a web URL and an app deep link.
TEA_WEB = "https://item.taobao.com/item.htm?id=123&spm=a1.b2"
TEA_APP = "taobao://item.taobao.com/item.htm?id=123"
TEA_PRODUCT = {
    "storefront_id": "taobao",
    "title": "Longjing tea 250g",
    "price": 12800,
    "commission_rate_bps": 1500,
    "web_url": TEA_WEB,
    "app_url": TEA_APP,
}


# The figures of a statement's totals and lines, as docs/api.md lists them (written
# out here, not imported, so that the tests check the package against the contract).
FIGURES = [
    "orders",
    "gmv",
    "commission",
    "network",
    "platform",
    "guide",
    "ad_spend",
    "ad_rebate",
    "platform_net",
    "guide_payable",
]


def real_redis_url() -> str | None:
    return os.environ.get("REDIS_URL") or None


def cluster_url() -> str | None:
    return os.environ.get("REDIS_CLUSTER_URL") or None


def real_store() -> bool:
    """True when the suite runs on a real Redis server or cluster."""
    return bool(real_redis_url() or cluster_url())


@pytest.fixture
def store() -> Iterator[Any]:
    if cluster_url():
        from redis.cluster import RedisCluster

        cluster = RedisCluster.from_url(cluster_url(), decode_responses=True)
        cluster.flushall(target_nodes=RedisCluster.PRIMARIES)
        yield cluster
        cluster.flushall(target_nodes=RedisCluster.PRIMARIES)
        cluster.close()
    elif real_redis_url():
        client = redis.Redis.from_url(real_redis_url(), decode_responses=True)
        client.flushdb()
        yield client
        client.flushdb()
        client.close()
    else:
        yield fakeredis.FakeRedis(server=fakeredis.FakeServer(), decode_responses=True)


@pytest.fixture(autouse=True)
def _scripts_touch_one_slot(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every script call in every test must name keys of one cluster slot."""
    from redis.crc import key_slot

    from redirector.store import Script

    def check(keys: Any) -> None:
        slots = {key_slot(k.encode()) for k in keys}
        assert len(slots) <= 1, f"a script touches several slots: {list(keys)}"

    call, queue, pack = Script.__call__, Script.queue, Script.pack

    def checked_call(self: Script, client: Any, keys: Any, args: Any) -> Any:
        check(keys)
        return call(self, client, keys, args)

    def checked_queue(self: Script, pipe: Any, keys: Any, args: Any) -> None:
        check(keys)
        queue(self, pipe, keys, args)

    def checked_pack(self: Script, keys: Any, args: Any) -> bytes:
        check(keys)
        return pack(self, keys, args)

    monkeypatch.setattr(Script, "__call__", checked_call)
    monkeypatch.setattr(Script, "queue", checked_queue)
    monkeypatch.setattr(Script, "pack", checked_pack)  # the direct path, on one Redis


@pytest.fixture(autouse=True)
def _postbacks_stay_on_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test resolves a name over the network, and no postback connects
    anywhere but loopback: names resolve by a stub (``localhost`` only), and
    the one place a postback connects refuses any other address."""
    from redirector.postbacks import guard, sender

    def resolve(host: str, port: int) -> list[str]:
        if host == "localhost":
            return ["127.0.0.1"]
        raise guard.BadTarget(f"host {host!r} does not resolve (the tests resolve no names)")

    connect = sender.connect

    def loopback_only(address: str, port: int, timeout: float) -> Any:
        assert ipaddress.ip_address(address).is_loopback, f"a postback to {address}"
        return connect(address, port, timeout)

    monkeypatch.setattr(guard, "system_resolve", resolve)
    monkeypatch.setattr(sender, "connect", loopback_only)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """The environment the app is built from; tests may change it before ``app``.
    The spool directory is the test's own: with Redis the service refuses one
    it does not own privately, as the shared default in /tmp may be."""
    return {
        "REDIRECTOR_ADMIN_TOKEN": ADMIN_TOKEN,
        "REDIRECTOR_SECRET_KEYS": SECRET_KEYS,
        "REDIRECTOR_PUBLIC_URL": "https://go.example.test",
        "REDIRECTOR_CLOCK": "mock",
        "REDIRECTOR_SPOOL_DIR": str(tmp_path / "spool"),
    }


@pytest.fixture
def settings(env: dict[str, str]) -> Settings:
    return Settings.from_env(env)


@pytest.fixture
def app(settings: Settings, store: Any) -> Any:
    return create_app(settings, store=store, test_config={"TESTING": True})


@pytest.fixture
def client(app: Any) -> Any:
    return app.test_client()


def snapshot(store: Any) -> dict[str, tuple[str, Any]]:
    """Every key in the store with its type and whole value."""
    readers = {
        "string": store.get,
        "hash": store.hgetall,
        "set": lambda k: sorted(store.smembers(k)),
        "zset": lambda k: store.zrange(k, 0, -1, withscores=True),
        "list": lambda k: store.lrange(k, 0, -1),
    }
    out = {}
    for key in store.scan_iter(count=1000):
        kind = store.type(key)
        out[key] = (kind, readers.get(kind, store.dump)(key))
    return out


def error_of(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, (response.status_code, response.get_json())
    body = response.get_json()
    assert set(body) == {"error"}
    assert isinstance(body["error"]["code"], str) and body["error"]["message"]
    return body["error"]


class Api:
    """A test's view of the API: admin calls and creator calls, JSON in and out."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def call(self, method: str, path: str, token: str | None = ADMIN_TOKEN, **kw: Any) -> Any:
        headers = kw.pop("headers", {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return self.client.open(path, method=method, headers=headers, **kw)

    def admin(self, method: str, path: str, json: Any = None, **kw: Any) -> Any:
        return self.call(method, path, json=json, **kw)

    def ok(self, method: str, path: str, json: Any = None, token: str | None = ADMIN_TOKEN) -> Any:
        response = self.call(method, path, token=token, json=json)
        assert response.status_code in (200, 201), (response.status_code, response.get_json())
        return response.get_json()

    def world(self) -> dict[str, Any]:
        """A storefront with two products, an agency, a creator in it and one on its own."""
        shop = self.ok(
            "PUT",
            "/api/v1/storefronts/taobao",
            {
                "name": "Taobao",
                "hosts": ["item.taobao.com", "*.tmall.com"],
                "app_schemes": ["taobao", "tmall"],
            },
        )
        self.ok("PUT", "/api/v1/products/tea", TEA_PRODUCT)
        self.ok(
            "PUT",
            "/api/v1/products/cup",
            {
                "storefront_id": "taobao",
                "title": "Celadon cup",
                "price": 5900,
                "commission_rate_bps": 2000,
                "web_url": "https://detail.tmall.com/item.htm?id=9#reviews",
            },
        )
        self.ok("PUT", "/api/v1/agencies/starlight", {"name": "Starlight MCN"})
        alice = self.ok(
            "PUT", "/api/v1/creators/alice", {"name": "Alice", "agency_id": "starlight"}
        )
        bob = self.ok("PUT", "/api/v1/creators/bob", {"name": "Bob"})
        return {"shop": shop, "alice": alice["api_key"], "bob": bob["api_key"]}

    def link(
        self, api_key: str, product_id: str = "tea", channel: str = "weibo", **extra: Any
    ) -> Any:
        return self.ok(
            "POST",
            "/api/v1/links",
            {"product_id": product_id, "channel": channel, **extra},
            token=api_key,
        )


@pytest.fixture
def api(client: Any) -> Api:
    return Api(client)


SHANGHAI = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 20, 10, 0, tzinfo=SHANGHAI)
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?[+-]\d\d:\d\d$")
real_redis_only = pytest.mark.skipif(
    not real_store(), reason="concurrency needs a real Redis (REDIS_URL or REDIS_CLUSTER_URL)"
)


# -- a storefront, a browser and the mock clock, as the order and attribution tests drive them --


def when(text: str) -> datetime:
    """A time as the API writes it: RFC 3339 with the service's offset, parsed."""
    assert RFC3339.match(text) and text.endswith("+08:00"), text
    return datetime.fromisoformat(text)


def mock_clock(app: Any) -> MockClock:
    """The app's mock clock, set to a fixed time so that every figure is known."""
    clock = context_of(app).clock
    assert isinstance(clock, MockClock)
    clock.set(T0)
    return clock


def advance(clock: MockClock, **delta: float) -> datetime:
    return clock.set(clock.now() + timedelta(**delta))


class Shop:
    """The storefront ``taobao`` as a real integration drives it: events signed by
    ``StorefrontClient``, posted through the Flask test client, stamped with the
    mock clock's time and dated (``occurred_at``) by it unless told otherwise."""

    def __init__(self, client: Any, clock: MockClock, secret: str, storefront: str = "taobao"):
        self.clock = clock
        self.client = StorefrontClient(
            storefront,
            secret,
            lambda path, body, headers: client.post(path, data=body, headers=headers),
            clock=clock.now,
        )

    def event(self, order_id: str, status: str, amount: int, **kw: Any) -> dict[str, Any]:
        at = kw.pop("at", None) or self.clock.now().astimezone(SHANGHAI)
        return self.client.event(order_id, status, amount, at, **kw)

    def send(self, order_id: str, status: str, amount: int, **kw: Any) -> Any:
        msg_id = kw.pop("msg_id", None)
        timestamp = kw.pop("timestamp", None)
        event = self.event(order_id, status, amount, **kw)
        return self.client.send(event, msg_id=msg_id, timestamp=timestamp)

    def ok(self, order_id: str, status: str, amount: int, **kw: Any) -> dict[str, Any]:
        response = self.send(order_id, status, amount, **kw)
        assert response.status_code == 200, (response.status_code, response.get_json())
        return response.get_json()


class Browser:
    """One device clicking links: its own test client, so its own ``rd_did`` cookie."""

    def __init__(self, app: Any, user_agent: str = DESKTOP_CHROME) -> None:
        self.client = app.test_client()
        self.user_agent = user_agent
        self.device_id: str | None = None

    def click(self, link: dict[str, Any]) -> str:
        """Follow the link; answers the click id the redirect carried."""
        response = self.client.get(f"/r/{link['token']}", headers={"User-Agent": self.user_agent})
        assert response.status_code == 302, response.status_code
        set_cookie = response.headers.get("Set-Cookie")
        if set_cookie:
            self.device_id = SimpleCookie(set_cookie)["rd_did"].value
        return parse_qs(urlsplit(response.headers["Location"]).query)["rd_click"][0]


def stats(api: Any, link: dict[str, Any]) -> dict[str, int]:
    return api.ok("GET", f"/api/v1/links/{link['id']}")["stats"]


def money(stats: dict[str, int]) -> tuple[int, int, int]:
    return stats["orders"], stats["gmv"], stats["commission"]


def order_of(api: Any, order_id: str) -> dict[str, Any]:
    return api.ok("GET", f"/api/v1/orders/taobao/{order_id}")


def order_missing(api: Any, order_id: str) -> bool:
    return api.admin("GET", f"/api/v1/orders/taobao/{order_id}").status_code == 404


@pytest.fixture
def clock(app: Any) -> MockClock:
    """The app's mock clock, set to ``T0``."""
    return mock_clock(app)


@pytest.fixture
def world(api: Api, clock: MockClock) -> dict[str, Any]:
    """The storefront taobao (tea, cup), the agency starlight, alice in it, bob on his
    own; made at ``T0``."""
    return api.world()


@pytest.fixture
def shop(client: Any, clock: MockClock, world: dict[str, Any]) -> Shop:
    return Shop(client, clock, world["shop"]["signing_secret"])


@pytest.fixture
def runner() -> CliRunner:
    """The ``redirector`` command line, run in process."""
    return CliRunner()


# -- postbacks: endpoints registered through the API, receivers on loopback ---------------


class Postbacks:
    """Postback endpoints as a test registers them (through the API), and the
    delivery worker run by hand, in the test's thread (``run``)."""

    def __init__(self, api: Api, app: Any) -> None:
        self.api = api
        self.ctx = context_of(app)

    def register(
        self, receiver: Any, events: list[str], token: str = ADMIN_TOKEN, **extra: Any
    ) -> dict[str, Any]:
        """Register ``receiver``'s URL; its verifying secrets get the new secret."""
        hook = self.api.ok(
            "POST", "/api/v1/webhooks", {"url": receiver.url, "events": events, **extra}, token
        )
        receiver.secrets.append(hook["secret"])
        return hook

    def run(self) -> int:
        from redirector import postbacks

        return postbacks.run_until_idle(self.ctx)

    def deliveries(self, hook: dict[str, Any], token: str = ADMIN_TOKEN) -> list[dict[str, Any]]:
        """The endpoint's log, oldest first."""
        found = self.api.ok(
            "GET", f"/api/v1/webhooks/{hook['id']}/deliveries?limit=200", None, token
        )
        return list(reversed(found["deliveries"]))


@pytest.fixture
def hooks(api: Api, app: Any) -> Postbacks:
    return Postbacks(api, app)


@pytest.fixture
def receiver() -> Iterator[Any]:
    """A postback receiver on a free loopback port, verifying what it gets."""
    from redirector.simulate.receiver import Receiver

    with Receiver() as running:
        yield running
