"""Click fraud that a live stream's crowd does not trip: new devices are counted
per address and user agent, returning devices per device, a flood's first
clicks are judged by their whole window when an order is paid on them, and an
old browser's ``<img>`` fetch is no click."""

from __future__ import annotations

import random
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from redirector import clicks, fraud
from redirector.clicks import ClickFacts
from redirector.clock import MockClock

from .conftest import DESKTOP_CHROME, Api, Shop, advance, stats

CARRIER_ADDRESS = "10.64.0.1"  # one carrier-grade NAT address, shared by every phone below
RULES = fraud.FraudRules()


@pytest.fixture
def link(api: Api, world: dict[str, Any]) -> dict[str, Any]:
    return api.link(world["alice"], "tea")


def phone_agent(rng: random.Random) -> str:
    """A phone in a live stream's audience: models, system, app and network vary,
    as they do in the in-app browsers' user agents."""
    if rng.random() < 0.5:
        ios = rng.choice(("16_6", "17_4", "17_5_1", "17_6", "18_0", "18_1"))
        app = rng.choice(("29.1.0", "29.3.0", "29.5.0", "30.0.0"))
        net = rng.choice(("WIFI", "4G", "5G"))
        return (
            f"Mozilla/5.0 (iPhone; CPU iPhone OS {ios} like Mac OS X) AppleWebKit/605.1.15 "
            f"(KHTML, like Gecko) Mobile/15E148 aweme_{app} JsSdk/2.0 NetType/{net}"
        )
    model = rng.choice(("V2231A", "PFJM10", "23049RAD8C", "22081212C", "PJZ110", "ALN-AL00"))
    android = rng.choice(("12", "13", "14"))
    chrome = rng.choice(("118.0.5993.80", "124.0.6367.179", "126.0.6478.122"))
    net = rng.choice(("WIFI", "4G", "5G"))
    return (
        f"Mozilla/5.0 (Linux; Android {android}; {model} Build/UP1A; wv) AppleWebKit/537.36 "
        f"(KHTML, like Gecko) Version/4.0 Chrome/{chrome} Mobile Safari/537.36 "
        f"aweme_290500 NetType/{net}"
    )


def new_phone(app: Any, ip: str = CARRIER_ADDRESS) -> Any:
    """A device with no cookie yet (its own client) behind ``ip``."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = ip
    return client


def click(client: Any, link: dict[str, Any], agent: str, **headers: str) -> str:
    response = client.get(f"/r/{link['token']}", headers={"User-Agent": agent, **headers})
    assert response.status_code == 302, response.status_code
    return parse_qs(urlsplit(response.headers["Location"]).query)["rd_click"][0]


def review(api: Api, order_id: str) -> Any:
    """The order's review as (status, reason), or None."""
    found = api.ok("GET", f"/api/v1/orders/taobao/{order_id}")["review"]
    return found and (found["status"], found["reason"])


def test_a_live_streams_crowd_behind_one_carrier_address_is_no_flood(
    app: Any, api: Api, shop: Shop, store: Any, link: dict, clock: MockClock
) -> None:
    """150 first-time phones in one minute behind one NAT address, paying minutes
    later: no click suspicious, no order held."""
    rng = random.Random(17)
    agents = [phone_agent(rng) for _ in range(150)]
    # A crowd is many phones, but the popular ones repeat: the check is not
    # that every agent is unique.
    assert len(set(agents)) < len(agents)
    ids = [click(new_phone(app), link, agent) for agent in agents]
    assert not any(clicks.get_click(store, i).suspicious for i in ids)
    assert all(clicks.get_click(store, i).new_device for i in ids)
    assert stats(api, link)["suspicious_clicks"] == 0
    advance(clock, minutes=4)
    for n, click_id in enumerate(ids[::10]):
        shop.ok(f"crowd-{n}", "paid", 12800, click_id=click_id)
        assert review(api, f"crowd-{n}") is None


def test_a_farm_dropping_its_cookie_is_held_from_its_first_click(
    app: Any, api: Api, shop: Shop, store: Any, link: dict, clock: MockClock
) -> None:
    """New devices, one address, one agent: the clicks over the threshold are
    flagged as made, and an order on one of the first is held once paid, the
    window being a flood by then."""
    farm = "192.0.2.44"
    limit = RULES.max_new_per_address_agent
    ids = [click(new_phone(app, farm), link, DESKTOP_CHROME) for _ in range(limit + 5)]
    flags = [clicks.get_click(store, i).suspicious for i in ids]
    assert flags == [False] * limit + [True] * 5
    # Another agent at that address, and the same agent elsewhere, are apart.
    other = click(new_phone(app, farm), link, phone_agent(random.Random(1)))
    elsewhere = click(new_phone(app, "192.0.2.45"), link, DESKTOP_CHROME)
    advance(clock, minutes=2)
    shop.ok("farm-first", "paid", 12800, click_id=ids[0])
    shop.ok("farm-last", "paid", 12800, click_id=ids[-1])
    shop.ok("other-agent", "paid", 12800, click_id=other)
    shop.ok("other-address", "paid", 12800, click_id=elsewhere)
    assert review(api, "farm-first") == ("held", "flood")
    assert review(api, "farm-last") == ("held", "flood")
    assert review(api, "other-agent") is None
    assert review(api, "other-address") is None


def test_returning_devices_are_counted_per_device_not_per_address(
    app: Any, api: Api, shop: Shop, store: Any, link: dict, clock: MockClock
) -> None:
    """Phones that bring back their cookie are not new: many of them behind one
    address, with one agent, are no flood; each is still held to its own count."""
    count = RULES.max_new_per_address_agent + 10
    phones = [new_phone(app) for _ in range(count)]
    for phone in phones:
        click(phone, link, DESKTOP_CHROME)
    advance(clock, seconds=RULES.window_seconds * 3)  # later windows
    again = [click(phone, link, DESKTOP_CHROME) for phone in phones]
    found = [clicks.get_click(store, i) for i in again]
    assert not any(c.suspicious or c.new_device for c in found)
    advance(clock, minutes=3)
    shop.ok("returning", "paid", 12800, click_id=again[0])
    assert review(api, "returning") is None
    one = phones[0]
    repeats = [click(one, link, DESKTOP_CHROME) for _ in range(RULES.max_clicks_per_device + 1)]
    assert clicks.get_click(store, repeats[-1]).suspicious


def test_too_many_new_devices_at_one_address_whatever_their_agents(
    app: Any, store: Any, link: dict
) -> None:
    """The backstop against a farm rotating its user agents."""
    limit = RULES.max_new_per_address
    ids = [click(new_phone(app), link, f"{DESKTOP_CHROME} r{n}") for n in range(limit + 1)]
    assert [clicks.get_click(store, i).suspicious for i in ids[-2:]] == [False, True]


def test_an_old_browsers_image_fetch_is_no_click_and_gets_no_cookie(
    app: Any, api: Api, store: Any, link: dict
) -> None:
    """Cookie stuffing by ``<img>``: a browser without Sec-Fetch asks for images."""
    phone = new_phone(app)
    response = phone.get(
        f"/r/{link['token']}",
        headers={
            "User-Agent": DESKTOP_CHROME,
            "Accept": "image/webp,image/apng,image/*,*/*;q=0.8",
            "Referer": "https://stuffer.example/page",
        },
    )
    assert response.status_code == 302
    assert "rd_did" not in response.headers.get("Set-Cookie", "")
    figures = stats(api, link)
    assert (figures["clicks"], figures["bot_clicks"]) == (0, 1)
    # A navigation names HTML, whatever else it accepts.
    click(phone, link, DESKTOP_CHROME, Accept="text/html,image/avif,image/webp,*/*;q=0.8")
    assert stats(api, link)["clicks"] == 1


def test_a_spool_line_from_before_new_devices_replays_as_a_known_device() -> None:
    facts = ClickFacts("AbCdEfGhIj", "AbCdEfGhIj.20000.0.abcdefgh", 1, "d" * 16, "ip", "ios",
                       False, "", "2024-10-04", True, "a1b2c3")  # fmt: skip
    line = facts.to_spool()
    assert ClickFacts.from_spool(line) == facts
    del line["new_device"], line["agent"]
    old = ClickFacts.from_spool(line)
    assert (old.new_device, old.agent) == (False, "")
    assert old.to_spool() == line  # a known device's line keeps the earlier form


def test_the_hold_rule_with_window_counts() -> None:
    over_agent = fraud.CrowdCounts(5, RULES.max_new_per_address_agent + 1)
    over_address = fraud.CrowdCounts(RULES.max_new_per_address + 1, 1)
    at_limits = fraud.CrowdCounts(RULES.max_new_per_address, RULES.max_new_per_address_agent)
    hold = fraud.hold_reason
    assert hold(RULES, suspicious=False, click_ms=0, paid_ms=60_000, crowd=over_agent) == "flood"
    assert hold(RULES, suspicious=False, click_ms=0, paid_ms=60_000, crowd=over_address) == "flood"
    assert hold(RULES, suspicious=False, click_ms=0, paid_ms=60_000, crowd=at_limits) is None
    assert hold(RULES, suspicious=False, click_ms=0, paid_ms=1_000, crowd=at_limits) == (
        "instant_conversion"
    )
