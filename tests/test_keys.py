"""Every key starts with the one prefix, and what one script touches shares a slot."""

from __future__ import annotations

import inspect

from redis.crc import key_slot

from redirector import keys


def _all_keys() -> list[str]:
    made = []
    for name, fn in inspect.getmembers(keys, inspect.isfunction):
        if name.startswith("_") or name in ("click_keys", "postback_keys"):
            continue
        params = inspect.signature(fn).parameters
        args = [7 if p == "day" else f"x{p}" for p in params]
        made.append(fn(*args))
    return made


def test_every_key_has_the_prefix_and_no_empty_segment():
    made = _all_keys()
    assert len(made) >= 15
    for key in made:
        assert key.startswith(keys.PREFIX + ":"), key
        assert "::" not in key, key


def test_the_click_script_keys_share_one_slot():
    slots = {key_slot(k.encode()) for k in keys.click_keys("AbCdEfGhIj", 20000, 3, 28800000)}
    assert len(slots) == 1


def test_different_links_spread_over_slots():
    slots = {key_slot(keys.link(f"link{i:06d}").encode()) for i in range(200)}
    assert len(slots) > 100


def test_devices_share_index_keys_by_the_start_of_their_ids():
    assert keys.device_clicks("Ab12345678901234", 20000) == keys.device_clicks("Abzzzz", 20000)
    assert keys.device_clicks("Ab12345678901234", 20000) != keys.device_clicks("Ac1", 20000)
    assert keys.device_clicks("Ab1", 20000) != keys.device_clicks("Ab1", 20001)
    slots = {
        key_slot(keys.device_clicks(f"{a}{b}xyz", 1).encode())
        for a in "abcdefgh"
        for b in "1234567890"
    }
    assert len(slots) > 60


def test_an_endpoints_delivery_keys_share_one_slot_and_endpoints_spread() -> None:
    slots = {key_slot(k.encode()) for k in keys.postback_keys("ep_AbCdEfGh")}
    assert len(slots) == 1
    spread = {key_slot(keys.postback_queue(f"ep_{i:06d}").encode()) for i in range(200)}
    assert len(spread) > 100


def test_the_outbox_lives_in_the_money_slot_with_what_writes_to_it() -> None:
    money = {
        key_slot(k.encode()) for k in (keys.outbox(), keys.money_sequence(), keys.order("s", "o"))
    }
    assert (
        money
        == {key_slot(keys.postback_routes().encode())}
        == {key_slot(keys.outbox_lease().encode())}
    )
