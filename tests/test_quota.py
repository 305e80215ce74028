"""Bounded cost: a creator makes links within ``REDIRECTOR_LINK_CREATION_LIMIT``
(429 with Retry-After past it, through the API and the console alike), and the
public showcase reads one page of links per request, however many there are."""

from __future__ import annotations

from typing import Any

import pytest

from redirector import create_app, links, quota
from redirector.config import Settings
from redirector.errors import ConfigError
from redirector.showcase import PAGE_LINKS

from .conftest import Api, advance, error_of, mock_clock
from .test_console import csrf_token, sign_in


def limited_api(settings: Settings, store: Any, limit: str) -> tuple[Api, Any]:
    app = create_app(
        settings.with_overrides(link_creation_limit=limit),
        store=store,
        test_config={"TESTING": True},
    )
    return Api(app.test_client()), app


def make(api: Api, key: str) -> Any:
    return api.call(
        "POST", "/api/v1/links", token=key, json={"product_id": "tea", "channel": "weibo"}
    )


def test_the_61st_link_in_a_minute_is_429_until_the_minute_ends(
    api: Api, clock: Any, world: dict[str, Any]
) -> None:
    assert [make(api, world["alice"]).status_code for _ in range(60)] == [201] * 60

    refused = make(api, world["alice"])

    error = error_of(refused, 429)
    assert error["code"] == "too_many_requests" and "60 links in 60 s" in error["message"]
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert make(api, world["bob"]).status_code == 201  # per creator
    advance(clock, seconds=int(refused.headers["Retry-After"]))
    assert make(api, world["alice"]).status_code == 201


def test_a_day_limit_waits_for_the_day_and_refused_links_are_not_counted(
    settings: Settings, store: Any
) -> None:
    api, app = limited_api(settings, store, "3/minute;5/day")
    clock = mock_clock(app)  # 10:00 in Shanghai, 02:00 UTC
    world = api.world()
    key = world["alice"]
    assert [make(api, key).status_code for _ in range(4)] == [201, 201, 201, 429]
    advance(clock, minutes=1)
    assert [make(api, key).status_code for _ in range(3)] == [201, 201, 429]

    refused = make(api, key)
    # The day's window (UTC) ends at 00:00 UTC: 21 h 59 min away.
    assert int(refused.headers["Retry-After"]) == 22 * 3600 - 60
    advance(clock, days=1)
    assert [make(api, key).status_code for _ in range(4)] == [201, 201, 201, 429]


def test_the_console_makes_links_within_the_same_limit(settings: Settings, store: Any) -> None:
    api, app = limited_api(settings, store, "2/minute")
    mock_clock(app)
    world = api.world()
    assert [make(api, world["alice"]).status_code for _ in range(2)] == [201, 201]
    console = app.test_client()
    sign_in(console, world["alice"])
    answer = console.post(
        "/console/me/links",
        data={
            "product_id": "tea",
            "channel": "weibo",
            "csrf_token": csrf_token(console, "/console/me"),
        },
        follow_redirects=True,
    )
    assert "retry in" in answer.get_data(as_text=True)
    assert len(links.list_links(store, creator_id="alice")) == 2


def test_the_limit_is_read_and_checked() -> None:
    assert Settings.from_env({}).link_creation_limit == "60/minute;1000/day"
    assert quota.rates("60/minute;1000/day") == (quota.Rate(60, 60), quota.Rate(1000, 86400))
    read = Settings.from_env({"REDIRECTOR_LINK_CREATION_LIMIT": "10 per hour"})
    assert quota.rates(read.link_creation_limit) == (quota.Rate(10, 3600),)
    with pytest.raises(ConfigError, match="REDIRECTOR_LINK_CREATION_LIMIT"):
        Settings.from_env({"REDIRECTOR_LINK_CREATION_LIMIT": "lots"})


def test_windows_are_aligned_on_the_epoch() -> None:
    minute = quota.Rate(60, 60)
    assert quota.window_of(minute, 119_999) == 1 and quota.window_of(minute, 120_000) == 2
    assert quota.retry_after(minute, 60_000) == 60
    assert quota.retry_after(minute, 119_001) == 1 and quota.retry_after(minute, 119_999) == 1


# -- the showcase -------------------------------------------------------------------------------


def test_the_showcase_reads_one_page_of_links_and_offers_the_next(
    settings: Settings, store: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    api, app = limited_api(settings, store, "1000/minute")
    clock = mock_clock(app)
    world = api.world()
    cups = [api.link(world["alice"], "cup") for _ in range(5)]
    advance(clock, seconds=1)
    teas = [api.link(world["alice"], "tea") for _ in range(PAGE_LINKS)]
    read: list[int] = []
    list_links = links.list_links

    def counting(*args: Any, **kw: Any) -> Any:
        answer = list_links(*args, **kw)
        read.append(len(answer))
        return answer

    monkeypatch.setattr(links, "list_links", counting)
    public = app.test_client()

    first = public.get("/s/alice").get_data(as_text=True)

    assert sum(read) <= PAGE_LINKS + 1
    assert first.count('class="card product"') == 1 and any(t["url"] in first for t in teas)
    assert 'href="?page=2"' in first
    second = public.get("/s/alice?page=2").get_data(as_text=True)
    assert second.count('class="card product"') == 1 and any(c["url"] in second for c in cups)
    assert "?page=3" not in second
    assert 'id="showcase-empty"' in public.get("/s/alice?page=3").get_data(as_text=True)
    for page in ("0", "-1", "x", "1.5", "99999999999999999999", "\u0661"):
        assert public.get(f"/s/alice?page={page}").status_code == 404


def test_a_creator_with_thousands_of_links_costs_one_page(
    settings: Settings, store: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    api, app = limited_api(settings, store, "100000/minute")
    mock_clock(app)
    world = api.world()
    for _ in range(3 * PAGE_LINKS):
        api.link(world["alice"])
    asked: list[int] = []
    list_links = links.list_links

    def recording(*args: Any, **kw: Any) -> Any:
        asked.append(kw.get("limit", 100))
        return list_links(*args, **kw)

    monkeypatch.setattr(links, "list_links", recording)
    assert app.test_client().get("/s/alice").status_code == 200
    assert asked == [PAGE_LINKS + 1]
