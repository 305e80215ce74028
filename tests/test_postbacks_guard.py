"""The private-address rule: tried at registration with literal addresses,
``localhost`` and a stubbed resolver (no name is ever looked up on a network),
and again before an attempt, where a name that now resolves to a private
address (DNS rebinding) gets no connection at all."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest

from redirector import create_app
from redirector.config import Settings
from redirector.postbacks import guard, sender

from .conftest import Api, Browser, Postbacks, advance, error_of

REFUSED = [
    "http://127.0.0.1/hook",
    "http://127.1/hook",  # the old short form the OS still reads as 127.0.0.1
    "http://2130706433/hook",  # 127.0.0.1 as one number
    "http://0x7f000001/hook",
    "http://localhost:8080/hook",
    "http://[::1]/hook",
    "http://[::ffff:127.0.0.1]/hook",  # IPv4-mapped
    "http://[::ffff:10.0.0.1]/hook",
    "http://[2002:a00:1::]/hook",  # 6to4 around 10.0.0.1
    "http://[64:ff9b::a9fe:a9fe]/hook",  # NAT64 around 169.254.169.254
    "https://10.1.2.3/hook",
    "https://172.16.0.9/hook",
    "https://192.168.1.1/hook",
    "https://169.254.169.254/latest/meta-data",  # link-local: cloud metadata
    "https://[fe80::1]/hook",
    "https://[fc00::1]/hook",  # unique local
    "https://100.64.0.1/hook",  # shared address space (CGNAT)
    "https://0.0.0.0/hook",
    "https://[::]/hook",
    "https://224.0.0.1/hook",  # multicast
    "https://[ff02::1]/hook",
    "https://240.0.0.1/hook",  # reserved
    "https://192.0.2.10/hook",  # documentation
    "https://intranet.example/hook",  # the stub resolves it to 10.20.30.40
    "https://mixed.example/hook",  # one public address and one private: refused whole
]
MALFORMED = [
    ("ftp://93.184.216.34/hook", "http or https"),
    ("https:///hook", "no host"),
    ("https://user:pw@93.184.216.34/hook", "user name or password"),
    ("https://93.184.216.34/hook#frag", "fragment"),
    ("https://93.184.216.34/ho ok", "white space"),
    ("https://93.184.216.34:99999/hook", "not a URL"),
    ("https://nowhere.example/hook", "does not resolve"),
]
STUB = {
    "intranet.example": ["10.20.30.40"],
    "mixed.example": ["93.184.216.34", "192.168.0.7"],
    "public.example": ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"],
}


@pytest.fixture(autouse=True)
def names(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """A resolver that knows only ``STUB`` and ``localhost``: no network."""
    table = {**STUB, "localhost": ["127.0.0.1", "::1"]}

    def resolve(host: str, port: int) -> list[str]:
        if host not in table:
            raise guard.BadTarget(f"host {host!r} does not resolve")
        return table[host]

    monkeypatch.setattr(guard, "system_resolve", resolve)
    return table


def register(api: Api, url: str, token: str | None = None) -> Any:
    body = {"url": url, "events": ["order.attributed"]}
    return api.call("POST", "/api/v1/webhooks", json=body, **({"token": token} if token else {}))


@pytest.mark.parametrize("url", REFUSED)
def test_private_and_special_addresses_are_refused_at_registration(
    api: Api, world: dict[str, Any], url: str
) -> None:
    error = error_of(register(api, url, world["bob"]), 422)
    assert error["fields"][0]["field"] == "url"
    assert "address" in error["message"]
    assert "10.20.30.40" not in error["message"]  # what a name resolves to stays ours
    assert api.ok("GET", "/api/v1/webhooks")["webhooks"] == []


@pytest.mark.parametrize(("url", "why"), MALFORMED)
def test_urls_that_are_no_target_are_refused(
    api: Api, world: dict[str, Any], url: str, why: str
) -> None:
    assert why in error_of(register(api, url), 422)["message"]


@pytest.mark.parametrize(
    "url",
    [
        "https://public.example/hook?x=1",
        "http://93.184.216.34:8443/hook",
        "https://[2606:4700::1]/",
    ],
)
def test_public_hosts_are_taken(api: Api, world: dict[str, Any], url: str) -> None:
    assert register(api, url).status_code == 201


def test_the_setting_allows_loopback_and_private_but_never_nowhere_or_multicast(
    settings: Settings, store: Any
) -> None:
    app = create_app(
        settings.with_overrides(webhook_allow_private=True),
        store=store,
        test_config={"TESTING": True},
    )
    api = Api(app.test_client())
    for url in (
        "http://127.0.0.1:9/h",
        "http://localhost:9/h",
        "http://[::1]:9/h",
        "http://10.0.0.1/h",
    ):
        assert register(api, url).status_code == 201, url
    for url in ("http://0.0.0.0:9/h", "http://[::]:9/h", "http://224.0.0.1/h"):
        assert register(api, url).status_code == 422, url


def test_the_rule_itself() -> None:
    def why(text: str, allow: bool = False) -> str | None:
        return guard.refusal(ipaddress.ip_address(text), allow_private=allow)

    assert why("93.184.216.34") is None and why("2606:4700::1") is None
    assert why("127.0.0.1") == why("::ffff:127.0.0.1") == "loopback"
    assert why("::1") == "loopback"
    assert why("10.0.0.1") == why("fc00::1") == "private"
    assert why("169.254.1.1") == why("fe80::1") == "link-local"
    assert why("100.64.0.1") == "non-public"
    assert why("0.0.0.0", allow=True) == "unspecified"
    assert why("ff02::1", allow=True) == "multicast"
    assert why("127.0.0.1", allow=True) is None and why("10.0.0.1", allow=True) is None


def test_at_delivery_a_name_rebound_to_a_private_address_gets_no_connection(
    api: Api,
    app: Any,
    world: dict[str, Any],
    shop: Any,
    clock: Any,
    names: dict[str, list[str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hook = api.ok(
        "POST",
        "/api/v1/webhooks",
        {"url": "https://public.example/hook", "events": ["order.attributed"]},
    )
    names["public.example"] = ["10.9.8.7"]  # the name now points inside
    connections: list[str] = []
    monkeypatch.setattr(sender, "connect", lambda address, *a: connections.append(address))
    link = api.link(world["bob"])
    click = Browser(app).click(link)
    advance(clock, minutes=30)
    shop.ok("T1", "paid", 12800, click_id=click)

    assert Postbacks(api, app).run() == 1
    attempt = Postbacks(api, app).deliveries(hook)[0]["attempts"][0]
    assert attempt["error"] == "refused: public.example resolves to a private address"
    assert connections == []


def test_the_setting_reads_yes_or_no_and_stops_the_start_on_anything_else(
    env: dict[str, str],
) -> None:
    from redirector.errors import ConfigError

    assert not Settings.from_env(env).webhook_allow_private
    for text, allowed in (("1", True), ("true", True), ("0", False), ("no", False)):
        settings = Settings.from_env({**env, "REDIRECTOR_WEBHOOK_ALLOW_PRIVATE": text})
        assert settings.webhook_allow_private is allowed
    with pytest.raises(ConfigError, match="ALLOW_PRIVATE='maybe' must be 1 or 0"):
        Settings.from_env({**env, "REDIRECTOR_WEBHOOK_ALLOW_PRIVATE": "maybe"})
