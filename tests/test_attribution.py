"""Attribution at ``paid``, through the API with real clicks: which click, if any,
an order is credited to. And the rule itself, ``attribution.choose``, pure."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from redirector import clicks
from redirector.attribution import DAY_MS, Attribution, Candidate, attribute, choose, eligible
from redirector.clicks import Click
from redirector.clock import MockClock
from redirector.extension import context_of

from .conftest import (
    SHANGHAI,
    Browser,
    Shop,
    advance,
    money,
    order_of,
    stats,
    when,
)

GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
WINDOW = timedelta(days=15)


@pytest.fixture
def world(api: Any, world: dict[str, Any]) -> dict[str, Any]:
    """The shared world, and a second storefront, youzan, selling a mug."""
    api.ok("PUT", "/api/v1/storefronts/youzan", {"name": "Youzan", "hosts": ["shop.youzan.com"]})
    api.ok(
        "PUT",
        "/api/v1/products/mug",
        {
            "storefront_id": "youzan",
            "title": "Enamel mug",
            "price": 3900,
            "commission_rate_bps": 1000,
            "web_url": "https://shop.youzan.com/v2/goods/mug",
        },
    )
    return world


def credited(answer: dict[str, Any]) -> tuple[str, str] | None:
    """(creator, click) an order answer names, or None."""
    found = answer["attributed"]
    return (found["creator_id"], found["click_id"]) if found else None


def test_an_order_naming_a_click_is_credited_to_that_click(
    app: Any, api: Any, world: dict, shop: Shop, clock: MockClock
) -> None:
    link = api.link(world["alice"], "tea")
    click_id = Browser(app).click(link)
    advance(clock, hours=3)

    answer = shop.ok("o-1", "paid", 12800, click_id=click_id)
    assert answer["attributed"] == {
        "click_id": click_id,
        "link_id": link["id"],
        "creator_id": "alice",
    }
    assert answer["commission"] == 1920
    assert order_of(api, "o-1")["attributed"]["by"] == "click_id"
    assert money(stats(api, link)) == (1, 12800, 1920)


def test_a_bot_click_is_never_credited(
    app: Any, api: Any, world: dict, shop: Shop, clock: MockClock
) -> None:
    link = api.link(world["alice"], "tea")
    crawler = Browser(app, GOOGLEBOT)
    click_id = crawler.click(link)
    assert stats(api, link)["bot_clicks"] == 1
    advance(clock, minutes=5)

    answer = shop.ok("o-1", "paid", 12800, click_id=click_id, device_id=crawler.device_id)
    assert answer["attributed"] is None and answer["commission"] == 0
    assert money(stats(api, link)) == (0, 0, 0)


@pytest.mark.parametrize(
    ("after", "attributed"),
    [(WINDOW, True), (WINDOW + timedelta(seconds=1), False)],
    ids=["exactly 15 days", "15 days and a second"],
)
def test_a_click_counts_for_15_days(
    app: Any,
    api: Any,
    store: Any,
    world: dict,
    shop: Shop,
    clock: MockClock,
    after: timedelta,
    attributed: bool,
) -> None:
    link = api.link(world["alice"], "tea")
    browser = Browser(app)
    clicked_at = clock.now()
    click_id = browser.click(link)

    MockClock(store).set(clicked_at + after)
    by_click = shop.ok("o-1", "paid", 12800, click_id=click_id)
    by_device = shop.ok("o-2", "paid", 5900, device_id=browser.device_id)
    assert (by_click["attributed"] is not None) is attributed
    assert (by_device["attributed"] is not None) is attributed
    expected = (2, 12800 + 5900, 1920 + 885) if attributed else (0, 0, 0)
    assert money(stats(api, link)) == expected


def test_the_window_follows_the_clock_set_through_the_api(
    app: Any, api: Any, world: dict, shop: Shop, clock: MockClock
) -> None:
    link = api.link(world["alice"], "tea")
    click_id = Browser(app).click(link)
    later = clock.now() + timedelta(days=16)
    api.ok("PUT", "/api/v1/clock", {"now": later.astimezone(SHANGHAI).isoformat()})

    answer = shop.ok("o-1", "paid", 12800, click_id=click_id)
    assert answer["attributed"] is None
    assert when(order_of(api, "o-1")["paid_at"]) == later


def test_a_click_made_after_the_order_is_not_credited(
    app: Any, api: Any, world: dict, shop: Shop, clock: MockClock
) -> None:
    link = api.link(world["alice"], "tea")
    ordered_at = clock.now()
    advance(clock, seconds=1)
    browser = Browser(app)
    click_id = browser.click(link)

    answer = shop.ok(
        "o-1", "paid", 12800, at=ordered_at, click_id=click_id, device_id=browser.device_id
    )
    assert answer["attributed"] is None
    assert money(stats(api, link)) == (0, 0, 0)


def test_a_click_on_another_storefronts_link_is_not_used(
    app: Any, api: Any, world: dict, shop: Shop, clock: MockClock
) -> None:
    mug = api.link(world["alice"], "mug")
    click_id = Browser(app).click(mug)
    advance(clock, minutes=10)

    answer = shop.ok("o-1", "paid", 12800, click_id=click_id)
    assert answer["attributed"] is None and answer["commission"] == 0
    assert money(stats(api, mug)) == (0, 0, 0)


def test_without_a_usable_click_id_the_devices_last_click_on_the_storefront_wins(
    app: Any, api: Any, world: dict, shop: Shop, clock: MockClock
) -> None:
    alice_tea = api.link(world["alice"], "tea")
    bob_cup = api.link(world["bob"], "cup", channel="douyin")
    alice_mug = api.link(world["alice"], "mug")
    browser = Browser(app)
    browser.click(alice_tea)
    advance(clock, hours=1)
    last_on_taobao = browser.click(bob_cup)
    advance(clock, hours=1)
    browser.click(alice_mug)  # newer, but another storefront's
    Browser(app).click(alice_tea)  # newer, but another device's
    advance(clock, hours=1)

    no_click = shop.ok("o-1", "paid", 12800, device_id=browser.device_id)
    bad_click = shop.ok("o-2", "paid", 5900, click_id="nonsense", device_id=browser.device_id)
    assert credited(no_click) == ("bob", last_on_taobao)
    assert credited(bad_click) == ("bob", last_on_taobao)
    order = order_of(api, "o-1")["attributed"]
    assert (order["by"], order["account_type"], order["channel"]) == (
        "device_id",
        "creator",
        "douyin",
    )
    # bob's cup at 2000 bps: both orders on his link, none on the others.
    assert money(stats(api, bob_cup)) == (2, 12800 + 5900, 2560 + 1180)
    assert money(stats(api, alice_tea)) == (0, 0, 0)
    assert money(stats(api, alice_mug)) == (0, 0, 0)


def test_an_order_naming_a_click_of_another_storefront_falls_back_to_the_device(
    app: Any, api: Any, world: dict, shop: Shop, clock: MockClock
) -> None:
    tea = api.link(world["alice"], "tea")
    mug = api.link(world["bob"], "mug")
    browser = Browser(app)
    on_taobao = browser.click(tea)
    advance(clock, minutes=30)
    on_youzan = browser.click(mug)
    advance(clock, minutes=30)

    answer = shop.ok("o-1", "paid", 12800, click_id=on_youzan, device_id=browser.device_id)
    assert credited(answer) == ("alice", on_taobao)
    assert order_of(api, "o-1")["attributed"]["by"] == "device_id"


def test_a_click_recorded_late_after_an_outage_takes_its_place_by_its_own_time(
    app: Any, api: Any, world: dict, shop: Shop, clock: MockClock, store: Any
) -> None:
    tea = api.link(world["alice"], "tea")
    cup = api.link(world["bob"], "cup")
    browser = Browser(app)
    browser.click(tea)
    advance(clock, minutes=5)
    # Answered while Redis was away: spooled, and recorded only after the next click.
    spooled_at = clock.now_ms()
    spooled_id = clicks.new_click_id(tea["id"], spooled_at)
    advance(clock, minutes=5)
    newest = browser.click(cup)
    advance(clock, minutes=5)
    services = context_of(app)
    device = services.devices.verify(browser.device_id)
    clicks.replay_clicks(
        store,
        [
            clicks.ClickFacts(link_id=tea["id"], click_id=spooled_id, at_ms=spooled_at,
                              device=device, ip_hash="000000000000", user_agent="desktop",
                              bot=False, referrer="", local_date="2025-01-01"),
        ],
        clicks.ClickPolicy(services.settings.retention_seconds, 86_400_000),
    )  # fmt: skip

    answer = shop.ok("o-1", "paid", 12800, device_id=browser.device_id)
    assert credited(answer) == ("bob", newest)


@pytest.fixture
def weibo_window_7_days(env: dict[str, str], tmp_path: Any) -> None:
    """Programs where weibo's window is 7 days and douyin's the default 15
    (asked for before ``app``, which is built from ``env``)."""
    program = "network_bps = 1000\nplatform_bps = 3000\nguide_bps = 6000\nholding_days = 0\n"
    path = tmp_path / "programs.toml"
    path.write_text(
        f"[programs.weibo]\n{program}window_days = 7\n\n"
        f"[programs.douyin]\n{program}window_days = 15\n"
    )
    env["REDIRECTOR_PROGRAMS"] = str(path)


def test_each_link_counts_for_its_own_programs_window(
    weibo_window_7_days: None,
    app: Any,
    api: Any,
    store: Any,
    world: dict,
    shop: Shop,
    clock: MockClock,
) -> None:
    on_weibo = api.link(world["alice"], "tea", channel="weibo")
    on_douyin = api.link(world["alice"], "tea", channel="douyin")
    browser = Browser(app)
    clicked_at = clock.now()
    weibo_click, douyin_click = browser.click(on_weibo), browser.click(on_douyin)

    MockClock(store).set(clicked_at + timedelta(days=7))
    assert shop.ok("o-1", "paid", 12800, click_id=weibo_click)["attributed"] is not None
    MockClock(store).set(clicked_at + timedelta(days=7, seconds=1))
    assert shop.ok("o-2", "paid", 12800, click_id=weibo_click)["attributed"] is None
    assert credited(shop.ok("o-3", "paid", 12800, click_id=douyin_click)) == (
        "alice",
        douyin_click,
    )


def test_attribution_is_decided_at_paid_and_never_after(
    app: Any, api: Any, world: dict, shop: Shop, clock: MockClock
) -> None:
    link = api.link(world["alice"], "tea")
    shop.ok("o-1", "paid", 12800)  # no click named: kept unattributed
    browser = Browser(app)
    click_id = browser.click(link)
    advance(clock, minutes=5)

    answer = shop.ok("o-1", "confirmed", 12800, click_id=click_id, device_id=browser.device_id)

    assert answer["attributed"] is None and answer["commission"] == 0
    assert order_of(api, "o-1")["attributed"] is None
    assert money(stats(api, link)) == (0, 0, 0)


def test_clicks_at_the_same_instant_keep_their_arrival_order(
    app: Any, api: Any, world: dict, shop: Shop, clock: MockClock
) -> None:
    tea = api.link(world["alice"], "tea")
    cup = api.link(world["bob"], "cup")
    browser = Browser(app)
    browser.click(tea)
    later = browser.click(cup)  # the mock clock stands still: the same millisecond

    answer = shop.ok("o-1", "paid", 12800, device_id=browser.device_id)
    assert credited(answer) == ("bob", later)


def test_a_forged_device_id_is_not_credited(
    app: Any, api: Any, world: dict, shop: Shop, clock: MockClock
) -> None:
    link = api.link(world["alice"], "tea")
    browser = Browser(app)
    browser.click(link)
    advance(clock, minutes=1)
    assert browser.device_id is not None
    raw, _, signature = browser.device_id.partition(".")
    forged = [raw, f"{raw}.{signature[::-1]}", f"{raw[::-1]}.{signature}", "x" * 128]

    for n, device_id in enumerate(forged):
        answer = shop.ok(f"o-{n}", "paid", 12800, device_id=device_id)
        assert answer["attributed"] is None, device_id
    assert money(stats(api, link)) == (0, 0, 0)
    # The cookie as the service set it does carry the device.
    assert shop.ok("o-real", "paid", 12800, device_id=browser.device_id)["attributed"]


def test_a_click_on_a_link_whose_channel_has_no_program_is_not_credited(
    app: Any, api: Any, world: dict, clock: MockClock
) -> None:
    link = api.link(world["alice"], "tea")
    click_id = Browser(app).click(link)
    services = context_of(app)

    def credit(programs: Any) -> Attribution | None:
        return attribute(
            services.store,
            storefront_id="taobao",
            order_ms=clock.now_ms(),
            click_id=click_id,
            device=None,
            programs=programs,
            verify_device=services.devices.verify,
        )

    # No program for the link's channel: no window, so the click counts for nothing.
    assert credit({}) is None
    assert credit(services.settings.programs) == Attribution(click_id, link["id"], "click_id")


def test_the_commission_rate_is_the_one_in_force_at_paid(
    app: Any, api: Any, world: dict, shop: Shop, clock: MockClock
) -> None:
    link = api.link(world["alice"], "tea")
    click_id = Browser(app).click(link)
    assert shop.ok("o-1", "paid", 12800, click_id=click_id)["commission"] == 1920

    tea = api.ok("GET", "/api/v1/products?storefront_id=taobao")["items"]
    tea = next(p for p in tea if p["id"] == "tea")
    body = {k: tea[k] for k in ("storefront_id", "title", "price", "web_url", "app_url")}
    api.ok("PUT", "/api/v1/products/tea", {**body, "commission_rate_bps": 3000})

    advance(clock, days=1)
    assert shop.ok("o-1", "confirmed", 12800)["commission"] == 1920
    assert shop.ok("o-1", "refunded", 12800, refunded_amount=2800)["commission"] == 1500
    assert order_of(api, "o-1")["commission_rate_bps"] == 1500
    # An order paid after the change takes the new rate.
    assert shop.ok("o-2", "paid", 12800, click_id=click_id)["commission"] == 3840
    assert money(stats(api, link)) == (2, 10000 + 12800, 1500 + 3840)


def test_an_unattributed_order_is_kept_earning_nothing(
    app: Any, api: Any, world: dict, shop: Shop, clock: MockClock
) -> None:
    link = api.link(world["alice"], "tea")
    Browser(app).click(link)
    advance(clock, minutes=1)
    clicks_before = stats(api, link)

    assert shop.ok("o-1", "paid", 12800) == {
        "order_id": "o-1",
        "status": "paid",
        "attributed": None,
        "commission": 0,
    }
    shop.ok("o-1", "confirmed", 12800)
    assert shop.ok("o-1", "refunded", 12800, refunded_amount=800)["commission"] == 0

    order = order_of(api, "o-1")
    assert (order["status"], order["refunded_amount"]) == ("refunded", 800)
    assert (order["attributed"], order["commission_rate_bps"], order["commission"]) == (
        None,
        None,
        0,
    )
    assert len(order["history"]) == 3
    assert stats(api, link) == clicks_before


# -- the rule, pure ------------------------------------------------------------------------

ORDER_MS = 1_795_140_000_000


def candidate(
    ago_ms: int,
    *,
    storefront: str = "taobao",
    bot: bool = False,
    window_days: int = 15,
    name: str = "c",
) -> Candidate:
    click = Click(
        id=name,
        link_id=f"link-{name}",
        at_ms=ORDER_MS - ago_ms,
        device="dev",
        ip_hash="",
        user_agent="desktop",
        bot=bot,
        unique=True,
        referrer="",
    )
    return Candidate(click, storefront, window_days)


def test_choose_a_good_click_id_wins_over_any_device_click() -> None:
    named = candidate(10 * DAY_MS, name="named")
    newer = candidate(1000, name="newer")
    assert choose("taobao", ORDER_MS, named, [newer]) == Attribution(
        "named", "link-named", "click_id"
    )


@pytest.mark.parametrize(
    ("named", "why"),
    [
        (candidate(1000, bot=True), "bot"),
        (candidate(1000, storefront="youzan"), "another storefront"),
        (candidate(-1), "after the order"),
        (candidate(15 * DAY_MS + 1), "older than the window"),
        (candidate(8 * DAY_MS, window_days=7), "older than its program's window"),
        (None, "none named"),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_choose_an_unusable_click_id_falls_back_to_the_device(
    named: Candidate | None, why: str
) -> None:
    device = candidate(2 * DAY_MS, name="device")
    assert choose("taobao", ORDER_MS, named, [device]) == Attribution(
        "device", "link-device", "device_id"
    )
    assert choose("taobao", ORDER_MS, named, []) is None


def test_choose_the_edges_of_the_window_and_of_the_order_time() -> None:
    assert choose("taobao", ORDER_MS, candidate(15 * DAY_MS), [])
    assert choose("taobao", ORDER_MS, candidate(0), [])
    assert choose("taobao", ORDER_MS, candidate(15 * DAY_MS + 1), []) is None
    assert choose("taobao", ORDER_MS, None, [candidate(15 * DAY_MS + 1)]) is None


def test_choose_the_newest_eligible_device_click_wins() -> None:
    newest_first = [
        candidate(1000, storefront="youzan", name="other-shop"),
        candidate(2000, bot=True, name="bot"),
        candidate(3000, name="last"),
        candidate(4000, name="earlier"),
    ]
    assert choose("taobao", ORDER_MS, None, newest_first) == Attribution(
        "last", "link-last", "device_id"
    )


candidates = st.builds(
    candidate,
    st.integers(-DAY_MS, 20 * DAY_MS),
    storefront=st.sampled_from(["taobao", "youzan"]),
    bot=st.booleans(),
    window_days=st.sampled_from([1, 7, 15, 30]),
    name=st.text("abcdef", min_size=1, max_size=4),
)


@given(named=st.none() | candidates, device=st.lists(candidates, max_size=6))
def test_choose_answers_the_named_click_if_eligible_else_the_first_eligible_device_click(
    named: Candidate | None, device: list[Candidate]
) -> None:
    found = choose("taobao", ORDER_MS, named, device)
    if named is not None and eligible(named, "taobao", ORDER_MS):
        assert found == Attribution(named.click.id, named.click.link_id, "click_id")
        return
    usable = [c for c in device if eligible(c, "taobao", ORDER_MS)]
    if not usable:
        assert found is None
        return
    assert found == Attribution(usable[0].click.id, usable[0].click.link_id, "device_id")
    chosen = usable[0].click
    assert not chosen.bot and chosen.at_ms <= ORDER_MS
    assert ORDER_MS - chosen.at_ms <= usable[0].window_days * DAY_MS
