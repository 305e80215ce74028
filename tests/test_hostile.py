"""Hostile input: secrets at rest, secrets in logs, failed-authentication limits,
the client address behind proxies, and the console's security headers.

(That the redirect never goes to an unregistered URL, whatever the token, path,
query and headers, is ``test_redirect.test_redirect_never_goes_to_an_unregistered_url``.)
"""

from __future__ import annotations

import ipaddress
import json
import logging
import math
import re
import time
from typing import Any

import pytest
import redis
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from redis.backoff import NoBackoff
from redis.retry import Retry

from redirector import create_app, webhooks
from redirector.config import Settings
from redirector.errors import ConfigError
from redirector.proxies import ClientIp, client_ip, parse_address, parse_networks
from redirector.secrets_at_rest import SecretBox, SecretUnreadable
from redirector.storefront_client import StorefrontClient

from .conftest import ADMIN_TOKEN, DESKTOP_CHROME, SECRET_KEYS, Api, cluster_url, real_redis_url
from .test_console import csrf_token
from .test_redirect import closed_port

ATTACKER = "203.0.113.66"
NEIGHBOUR = "203.0.113.77"
LIMIT = 20
NEW_KEY = "test-signing-key-rotated-in-0123456789"


# -- helpers --------------------------------------------------------------------------------


def call(client: Any, path: str, token: str | None, ip: str, method: str = "GET", **kw: Any) -> Any:
    headers = kw.pop("headers", {})
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return client.open(
        path, method=method, headers=headers, environ_overrides={"REMOTE_ADDR": ip}, **kw
    )


def fail_auth(client: Any, ip: str, times: int, **kw: Any) -> list[int]:
    return [
        call(client, "/api/v1/programs", "rdk_wrong", ip, **kw).status_code for _ in range(times)
    ]


def assert_too_many(response: Any) -> None:
    assert response.status_code == 429, (response.status_code, response.get_data(as_text=True))
    assert 1 <= int(response.headers["Retry-After"]) <= 60
    body = response.get_json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == "too_many_requests"
    assert str(response.headers["Retry-After"]) + " s" in body["error"]["message"]


def shop_for(app: Any, secret: str, storefront: str = "taobao", ip: str = "127.0.0.1") -> Any:
    client = app.test_client()
    return StorefrontClient(
        storefront,
        secret,
        lambda path, body, headers: client.post(
            path, data=body, headers=headers, environ_overrides={"REMOTE_ADDR": ip}
        ),
        clock=app.extensions["redirector"].clock.now,
    )


def paid(shop: StorefrontClient, order_id: str) -> Any:
    return shop.send(shop.event(order_id, "paid", 12800, shop._clock()))


def everything_in(store: Any) -> list[str]:
    """Every key of the store, and every member, field and value in it."""
    readers = {
        "string": lambda k: [store.get(k)],
        "hash": lambda k: [x for pair in store.hgetall(k).items() for x in pair],
        "set": lambda k: list(store.smembers(k)),
        "zset": lambda k: [m for m, _ in store.zrange(k, 0, -1, withscores=True)],
        "list": lambda k: store.lrange(k, 0, -1),
        "stream": lambda k: [json.dumps(e) for e in store.xrange(k)],
    }
    out = []
    for key in store.scan_iter():
        out.append(key)
        out.extend(str(v) for v in readers[store.type(key)](key))
    return out


def app_with(settings: Settings, store: Any, **changes: Any) -> Any:
    return create_app(
        settings.with_overrides(**changes), store=store, test_config={"TESTING": True}
    )


# -- storefront secrets are sealed at rest ----------------------------------------------------


def test_no_key_or_value_in_the_store_holds_a_storefront_secret(
    app: Any, api: Api, store: Any, world: dict[str, Any]
) -> None:
    secret = world["shop"]["signing_secret"]
    rotated = api.ok("POST", "/api/v1/storefronts/taobao/signing-secret", {"grace_seconds": 60})
    key_text = secret.removeprefix(webhooks.SECRET_PREFIX)

    stored = everything_in(store)

    assert stored, "the world is in the store"
    for value in stored:
        for plain in (secret, key_text, rotated["signing_secret"]):
            assert plain not in value
    # ...and callbacks signed with either secret still verify (the old one in its grace).
    assert paid(shop_for(app, secret), "o-old").status_code == 200
    assert paid(shop_for(app, rotated["signing_secret"]), "o-new").status_code == 200


def test_rotating_the_secret_keys_keeps_storefront_secrets_readable(
    app: Any, api: Api, store: Any, settings: Settings, world: dict[str, Any]
) -> None:
    secret = world["shop"]["signing_secret"]
    # A new key in front, the old ones kept behind it: the old seal still opens.
    rotated = app_with(settings, store, secret_keys=(NEW_KEY, *settings.secret_keys))
    assert paid(shop_for(rotated, secret), "o-1").status_code == 200

    # Rotating the storefront's secret there seals every secret kept under the new key,
    # so the old keys may then go.
    answer = call(
        rotated.test_client(),
        "/api/v1/storefronts/taobao/signing-secret",
        ADMIN_TOKEN,
        "127.0.0.1",
        "POST",
        json={"grace_seconds": 3600},
    )
    assert answer.status_code == 200, answer.get_json()
    only_new = app_with(settings, store, secret_keys=(NEW_KEY,))
    assert paid(shop_for(only_new, secret), "o-2").status_code == 200
    assert paid(shop_for(only_new, answer.get_json()["signing_secret"]), "o-3").status_code == 200


def test_a_seal_no_configured_key_opens_refuses_callbacks_and_says_so_without_the_secret(
    app: Any, store: Any, settings: Settings, world: dict[str, Any], caplog: Any
) -> None:
    secret = world["shop"]["signing_secret"]
    stranger = app_with(settings, store, secret_keys=("an-unrelated-key-0123456789",))
    caplog.set_level(logging.WARNING, logger="redirector")

    response = paid(shop_for(stranger, secret), "o-1")

    assert response.status_code == 401
    assert "taobao" in caplog.text and "REDIRECTOR_SECRET_KEYS" in caplog.text
    assert secret not in caplog.text


def test_a_secret_box_seals_afresh_each_time_and_opens_only_with_its_keys() -> None:
    keys = tuple(SECRET_KEYS.split(","))
    box = SecretBox(keys)
    first, second = box.seal("whsec_abc"), box.seal("whsec_abc")

    assert first != second and "whsec" not in first
    assert box.open(first) == box.open(second) == "whsec_abc"
    # A seal made before a new key was put in front still opens; the newest key seals.
    assert box.open(SecretBox(keys[1:]).seal("whsec_old")) == "whsec_old"
    with pytest.raises(SecretUnreadable):
        SecretBox(keys[1:]).open(first)
    with pytest.raises(SecretUnreadable):
        SecretBox(("another-key-entirely-0123",)).open(first)
    with pytest.raises(SecretUnreadable):
        box.open(first[:-4] + "AAAA")  # tampered
    assert SecretBox((NEW_KEY,)).open(SecretBox((NEW_KEY, *keys)).reseal(first)) == "whsec_abc"


# -- nothing secret is logged -------------------------------------------------------------------


def test_a_whole_story_logs_no_token_key_or_secret(
    app: Any, api: Api, client: Any, settings: Settings, store: Any, caplog: Any
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, every level
    world = api.world()
    alice, bob = world["alice"], world["bob"]
    secret = world["shop"]["signing_secret"]
    link = api.link(alice)
    click = client.get(f"/r/{link['token']}", headers={"User-Agent": DESKTOP_CHROME})
    assert click.status_code == 302
    shop = shop_for(app, secret)
    assert paid(shop, "o-1").status_code == 200
    assert shop.send(shop.event("o-1", "paid", 999, shop._clock())).status_code == 409
    forged = StorefrontClient("taobao", webhooks.new_secret(), shop._post, clock=shop._clock)
    assert paid(forged, "o-2").status_code == 401
    new_secret = api.ok("POST", "/api/v1/storefronts/taobao/signing-secret", {})["signing_secret"]
    new_key = api.ok("POST", "/api/v1/creators/bob/api-key")["api_key"]
    assert call(client, "/api/v1/links", bob, "127.0.0.1").status_code == 401  # the old key
    assert call(client, "/api/v1/links", new_key, "127.0.0.1").status_code == 200
    assert call(client, "/api/v1/agencies/x", alice, "127.0.0.1", "PUT", json={}).status_code in (
        403,
        422,
    )
    assert call(client, "/api/v1/links", alice, "127.0.0.1", "POST", data="{").status_code == 400
    for _ in range(LIMIT + 1):  # into the limit, with a near miss of the admin token
        call(client, "/api/v1/programs", ADMIN_TOKEN[:-1], ATTACKER)
    assert_too_many(call(client, "/api/v1/programs", ADMIN_TOKEN, ATTACKER))
    console = app.test_client()
    token = csrf_token(console)
    for credential in (alice[:-1], ADMIN_TOKEN):
        console.post("/console/sign-in", data={"credential": credential, "csrf_token": token})
    down = redis.Redis(port=closed_port(), socket_connect_timeout=0.2, retry=Retry(NoBackoff(), 0))
    outage = create_app(settings, store=down, test_config={"TESTING": True}).test_client()
    assert call(outage, "/api/v1/links", alice, "127.0.0.1").status_code == 503

    logged = caplog.text + "".join(
        json.dumps([str(a) for a in (r.args or ())]) for r in caplog.records
    )
    assert caplog.records, "the story logged something"
    for value in (ADMIN_TOKEN, alice, bob, new_key, secret, new_secret):
        assert value not in logged
        assert value.removeprefix(webhooks.SECRET_PREFIX) not in logged


# -- failed authentication is limited per client ------------------------------------------------


def test_the_21st_failed_authentication_in_a_minute_is_429(client: Any, world: dict) -> None:
    assert fail_auth(client, ATTACKER, LIMIT) == [401] * LIMIT

    assert_too_many(call(client, "/api/v1/programs", "rdk_wrong", ATTACKER))
    # Refused before the credential is read: a right guess now learns nothing either.
    assert_too_many(call(client, "/api/v1/programs", world["alice"], ATTACKER))
    assert_too_many(call(client, "/api/v1/programs", None, ATTACKER))


def test_another_client_is_not_limited_by_the_first(client: Any, world: dict) -> None:
    fail_auth(client, ATTACKER, LIMIT + 5)

    assert call(client, "/api/v1/programs", "rdk_wrong", NEIGHBOUR).status_code == 401
    assert call(client, "/api/v1/programs", world["alice"], NEIGHBOUR).status_code == 200


def test_successful_calls_are_never_limited_nor_counted(client: Any, world: dict) -> None:
    for _ in range(5 * LIMIT):
        assert call(client, "/api/v1/programs", world["alice"], ATTACKER).status_code == 200
        assert call(client, "/api/v1/products", ADMIN_TOKEN, ATTACKER).status_code == 200

    assert fail_auth(client, ATTACKER, LIMIT) == [401] * LIMIT


def test_public_endpoints_are_not_limited(client: Any) -> None:
    fail_auth(client, ATTACKER, LIMIT + 1)

    assert call(client, "/api/v1/leaderboard", None, ATTACKER).status_code == 200
    assert call(client, "/healthz", None, ATTACKER).status_code == 200
    assert call(client, "/openapi.json", None, ATTACKER).status_code == 200


def test_a_known_caller_without_the_role_is_not_a_failed_authentication(
    client: Any, world: dict
) -> None:
    for _ in range(LIMIT + 5):
        answer = call(client, "/api/v1/agencies/x", world["alice"], ATTACKER, "PUT", json={})
        assert answer.status_code in (403, 422)
    assert call(client, "/api/v1/programs", "rdk_wrong", ATTACKER).status_code == 401


def test_the_limit_lifts_as_failures_leave_the_window(settings: Settings, store: Any) -> None:
    client = app_with(settings, store, auth_failure_limit="3/second").test_client()
    assert fail_auth(client, ATTACKER, 4) == [401, 401, 401, 429]

    time.sleep(1.1)

    assert fail_auth(client, ATTACKER, 1) == [401]


def test_failed_sign_ins_on_the_console_share_the_apis_limit(client: Any, world: dict) -> None:
    token = csrf_token(client)

    def sign_in(credential: str) -> Any:
        return client.post(
            "/console/sign-in",
            data={"credential": credential, "csrf_token": token},
            environ_overrides={"REMOTE_ADDR": ATTACKER},
        )

    assert [sign_in("rdk_wrong").status_code for _ in range(LIMIT // 2)] == [401] * (LIMIT // 2)
    assert fail_auth(client, ATTACKER, LIMIT // 2) == [401] * (LIMIT // 2)

    refused = sign_in(world["alice"])
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert "text/html" in refused.content_type
    assert refused.headers["X-Frame-Options"] == "DENY"
    assert_too_many(call(client, "/api/v1/programs", world["alice"], ATTACKER))
    # The sign-in page itself, and signing in from elsewhere, still work.
    assert (
        client.get("/console/sign-in", environ_overrides={"REMOTE_ADDR": ATTACKER}).status_code
        == 200
    )
    ok = client.post(
        "/console/sign-in",
        data={"credential": world["alice"], "csrf_token": token},
        environ_overrides={"REMOTE_ADDR": NEIGHBOUR},
    )
    assert ok.status_code == 302


def test_bad_callback_signatures_are_limited_per_storefront_and_client(
    app: Any, api: Api, world: dict
) -> None:
    other = api.ok("PUT", "/api/v1/storefronts/youzan", {"name": "Youzan", "hosts": ["youzan.com"]})
    forged = shop_for(app, webhooks.new_secret(), ip=ATTACKER)
    assert [paid(forged, f"o-{i}").status_code for i in range(LIMIT)] == [401] * LIMIT

    refused = paid(forged, "o-x")
    assert refused.status_code == 429
    assert refused.get_json()["error"]["code"] == "too_many_requests"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    # The storefront's own, signed callbacks from that address wait too...
    assert (
        paid(shop_for(app, world["shop"]["signing_secret"], ip=ATTACKER), "o-1").status_code == 429
    )
    # ...but not those from its usual address, nor another storefront's, nor the API's.
    assert paid(shop_for(app, world["shop"]["signing_secret"]), "o-1").status_code == 200
    youzan = shop_for(app, other["signing_secret"], "youzan", ip=ATTACKER)
    assert paid(youzan, "o-1").status_code == 200
    assert call(api.client, "/api/v1/programs", world["alice"], ATTACKER).status_code == 200


def test_behind_trusted_proxies_the_forwarded_client_is_the_one_limited(
    settings: Settings, store: Any, api: Api
) -> None:
    client = app_with(settings, store, trusted_proxies=parse_networks("10.0.0.0/8")).test_client()

    def via_proxy(forwarded_for: str) -> Any:
        return call(
            client,
            "/api/v1/programs",
            "rdk_wrong",
            "10.1.2.3",
            headers={"X-Forwarded-For": forwarded_for},
        )

    assert [via_proxy(ATTACKER).status_code for _ in range(LIMIT)] == [401] * LIMIT

    assert_too_many(via_proxy(ATTACKER))
    assert_too_many(via_proxy(f"198.51.100.1, {ATTACKER}"))  # what the client wrote is ignored
    assert via_proxy(NEIGHBOUR).status_code == 401  # another client behind the same proxy


def test_without_trusted_proxies_forwarded_for_changes_nothing(client: Any) -> None:
    statuses = [
        call(
            client,
            "/api/v1/programs",
            "rdk_wrong",
            ATTACKER,
            headers={"X-Forwarded-For": f"192.0.2.{i}"},
        ).status_code
        for i in range(LIMIT + 1)
    ]

    assert statuses == [401] * LIMIT + [429]


@pytest.mark.skipif(
    not (real_redis_url() or cluster_url()),
    reason="needs a real Redis (REDIS_URL or REDIS_CLUSTER_URL)",
)
def test_on_redis_the_limit_is_shared_by_every_instance(settings: Settings, store: Any) -> None:
    on_redis = settings.with_overrides(redis_url=real_redis_url(), redis_cluster_url=cluster_url())
    first = create_app(on_redis, store=store).test_client()
    second = create_app(on_redis, store=store).test_client()

    assert fail_auth(first, ATTACKER, LIMIT // 2) == [401] * (LIMIT // 2)
    assert fail_auth(second, ATTACKER, LIMIT // 2) == [401] * (LIMIT // 2)

    assert_too_many(call(first, "/api/v1/programs", "rdk_wrong", ATTACKER))
    assert_too_many(call(second, "/api/v1/programs", "rdk_wrong", ATTACKER))
    assert call(second, "/api/v1/programs", "rdk_wrong", NEIGHBOUR).status_code == 401
    assert list(store.scan_iter("rd:limits:*")), "the counts are in the service's store"


def test_the_limiter_is_kept_where_the_store_is() -> None:
    from redirector.api.ratelimit import storage

    def url(**changes: Any) -> str:
        return storage(Settings().with_overrides(**changes))[0]

    assert url() == "memory://"
    assert url(redis_url="redis://127.0.0.1:6379/9") == "redis://127.0.0.1:6379/9"
    assert url(redis_url="unix:///run/redis.sock") == "redis+unix:///run/redis.sock"
    assert url(redis_cluster_url="redis://10.0.0.1:7000") == "redis+cluster://10.0.0.1:7000"
    options = storage(Settings().with_overrides(redis_url="redis://h:1/0"))[1]
    assert options["key_prefix"] == "rd:limits"


# -- settings ---------------------------------------------------------------------------------


def test_trusted_proxies_and_the_limit_are_read_and_checked() -> None:
    env = {"REDIRECTOR_TRUSTED_PROXIES": "10.0.0.0/8, 192.168.1.7 ,::1"}
    read = Settings.from_env(env)
    assert [str(n) for n in read.trusted_proxies] == ["10.0.0.0/8", "192.168.1.7/32", "::1/128"]
    assert read.auth_failure_limit == "20/minute"
    assert Settings.from_env({}).trusted_proxies == ()
    with pytest.raises(ConfigError, match=r"REDIRECTOR_TRUSTED_PROXIES.*'nonsense'"):
        Settings.from_env({"REDIRECTOR_TRUSTED_PROXIES": "10.0.0.0/8, nonsense"})
    with pytest.raises(ConfigError, match="REDIRECTOR_AUTH_FAILURE_LIMIT"):
        Settings.from_env({"REDIRECTOR_AUTH_FAILURE_LIMIT": "lots"})
    assert Settings.from_env({"REDIRECTOR_AUTH_FAILURE_LIMIT": "5/second"}).auth_failure_limit


# -- the client address -------------------------------------------------------------------------

PROXIES = parse_networks("10.0.0.0/8, 2001:db8::/32")


@pytest.mark.parametrize(
    ("remote", "forwarded", "expected"),
    [
        ("203.0.113.5", "198.51.100.1", "203.0.113.5"),  # the peer is not ours: header ignored
        ("10.0.0.2", None, "10.0.0.2"),
        ("10.0.0.2", "198.51.100.1", "198.51.100.1"),
        ("10.0.0.2", "1.1.1.1, 198.51.100.1", "198.51.100.1"),  # the client wrote 1.1.1.1
        ("10.0.0.2", "198.51.100.1, 10.0.0.9", "198.51.100.1"),  # two proxies of ours
        ("10.0.0.2", "10.0.0.8, 10.0.0.9", "10.0.0.8"),  # every hop ours: the leftmost
        ("10.0.0.2", "198.51.100.1, garbage", "10.0.0.2"),  # malformed: stop at the hop
        ("10.0.0.2", "garbage, 198.51.100.1", "198.51.100.1"),
        ("10.0.0.2", "198.51.100.1,", "10.0.0.2"),  # an empty entry is malformed too
        ("10.0.0.2", " 198.51.100.1:4431 ", "198.51.100.1"),
        ("10.0.0.2", "[2001:db8:1::5]:443, 198.51.100.1", "198.51.100.1"),
        ("10.0.0.2", "203.0.113.9, [2001:db8:1::5]", "203.0.113.9"),
        ("10.0.0.2", "::ffff:198.51.100.1", "198.51.100.1"),
        ("::ffff:10.0.0.2", "198.51.100.1", "198.51.100.1"),
        ("10.0.0.2", "unknown", "10.0.0.2"),
        ("", "198.51.100.1", ""),
    ],
)
def test_client_ip_rules(remote: str, forwarded: str | None, expected: str) -> None:
    assert client_ip(remote, forwarded, PROXIES) == expected


def test_client_ip_ignores_forwarded_for_when_no_proxy_is_trusted() -> None:
    assert client_ip("10.0.0.2", "198.51.100.1", ()) == "10.0.0.2"
    environ = {"REMOTE_ADDR": "10.0.0.2", "HTTP_X_FORWARDED_FOR": "198.51.100.1"}
    assert ClientIp(())(environ) == "10.0.0.2"
    assert ClientIp(PROXIES)(environ) == "198.51.100.1"


def test_addresses_as_proxies_write_them() -> None:
    assert str(parse_address("[::1]")) == "::1"
    assert parse_address("1.2.3.4:99999999") is None
    assert parse_address("[::1]x") is None
    assert parse_address("fe80::1%eth0") is None
    assert parse_address("1.2.3.4:８０") is None  # not ASCII digits


IPV4 = st.ip_addresses(v=4).map(str)
OUTSIDE = st.ip_addresses(v=4).filter(lambda a: a not in PROXIES[0]).map(str)
INSIDE = st.ip_addresses(network="10.0.0.0/8").map(str)
ENTRY = st.one_of(IPV4, st.text(alphabet=st.characters(exclude_characters=","), max_size=20))


@hypothesis_settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(remote=OUTSIDE, forwarded=st.lists(ENTRY, max_size=6))
def test_an_untrusted_peer_is_the_client_whatever_it_forwards(
    remote: str, forwarded: list[str]
) -> None:
    assert client_ip(remote, ",".join(forwarded), PROXIES) == remote


@hypothesis_settings(max_examples=300)
@given(
    written=st.lists(ENTRY, max_size=6),
    client=OUTSIDE,
    hops=st.lists(INSIDE, max_size=4),
    peer=INSIDE,
)
def test_nothing_the_client_writes_changes_who_it_is(
    written: list[str], client: str, hops: list[str], peer: str
) -> None:
    """Our proxies append what they saw; whatever the client put before that is ignored."""
    forwarded = ", ".join([*written, client, *hops])
    assert client_ip(peer, forwarded, PROXIES) == client


@hypothesis_settings(max_examples=300)
@given(remote=st.one_of(INSIDE, OUTSIDE), forwarded=st.lists(ENTRY, max_size=6))
def test_the_client_is_the_peer_or_a_forwarded_address_and_ours_only_if_all_are(
    remote: str, forwarded: list[str]
) -> None:
    found = client_ip(remote, ",".join(forwarded), PROXIES)

    candidates = {remote} | {str(a) for a in map(parse_address, forwarded) if a is not None}
    assert found in candidates
    if ipaddress.ip_address(found) in PROXIES[0]:
        # Ours only when the walk found nobody else: every hop it read was ours.
        walked = [remote]
        for entry in reversed(forwarded):
            address = parse_address(entry)
            if address is None:
                break
            walked.append(str(address))
        assert all(ipaddress.ip_address(a) in PROXIES[0] for a in walked[: walked.index(found) + 1])


# -- console headers ----------------------------------------------------------------------------


def test_console_pages_refuse_framing_and_foreign_code(client: Any) -> None:
    for path in ("/console/sign-in", "/leaderboard"):
        response = client.get(path)
        csp = response.headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
        assert "object-src 'none'" in csp and "unsafe-inline" not in csp
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_over_https_the_console_demands_https_and_a_secure_session_cookie(
    client: Any, world: dict
) -> None:
    page = client.get("/console/sign-in")
    assert "max-age=" in page.headers["Strict-Transport-Security"]

    signed_in = client.post(
        "/console/sign-in",
        data={"credential": world["alice"], "csrf_token": csrf_token(client)},
    )
    cookie = signed_in.headers["Set-Cookie"]
    assert cookie.startswith("rd_console=") and "Secure" in cookie and "HttpOnly" in cookie


def test_over_plain_http_there_is_no_hsts_nor_secure_cookie(
    settings: Settings, store: Any, world: dict
) -> None:
    client = app_with(settings, store, public_url="http://127.0.0.1:8000").test_client()
    page = client.get("/console/sign-in")
    assert "Strict-Transport-Security" not in page.headers

    signed_in = client.post(
        "/console/sign-in",
        data={"credential": world["alice"], "csrf_token": csrf_token(client)},
    )
    assert "Secure" not in signed_in.headers["Set-Cookie"]


def test_retry_after_is_a_whole_number_of_seconds_within_the_window(client: Any) -> None:
    fail_auth(client, ATTACKER, LIMIT)
    started = time.time()
    refused = call(client, "/api/v1/programs", "rdk_wrong", ATTACKER)
    seconds = int(refused.headers["Retry-After"])
    assert 1 <= seconds <= math.ceil(60 - (time.time() - started)) + 1
    assert re.search(r"retry in \d+ s", refused.get_json()["error"]["message"])
