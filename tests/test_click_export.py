"""A link's raw clicks as CSV: exactly the clicks recorded in ``[from, to)``,
oldest first, within the retention of click records, devices shown only as a
pseudonym of the link's creator, and only to who may read the link."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from typing import Any

import pytest

from redirector import click_export, clicks
from redirector.extension import context_of

from .conftest import (
    ADMIN_TOKEN,
    IPHONE_WEIBO,
    SHANGHAI,
    T0,
    Api,
    Browser,
    advance,
    error_of,
    when,
)

RETENTION = timedelta(days=16)  # the default programs' 15-day window, plus a day


def export(api: Api, link: dict[str, Any], token: str | None, **query: str) -> Any:
    return api.call("GET", f"/api/v1/links/{link['id']}/clicks", token=token, query_string=query)


def rows(response: Any) -> list[dict[str, str]]:
    assert response.status_code == 200, response.get_data(as_text=True)
    text = response.get_data(as_text=True)
    assert text.startswith(",".join(click_export.CSV_COLUMNS) + "\r\n")
    return list(csv.DictReader(io.StringIO(text)))


def at(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds")


def bot_click(api: Api, link: dict[str, Any]) -> str:
    answer = api.client.head(f"/r/{link['token']}")
    return answer.headers["Location"].rsplit("rd_click=", 1)[1]


def test_the_rows_are_exactly_the_clicks_recorded_in_the_range(
    app: Any, api: Api, store: Any, world: dict, clock: Any
) -> None:
    link = api.link(world["alice"])
    one, two = Browser(app), Browser(app, IPHONE_WEIBO)
    made = [one.click(link)]  # T0: before the range
    advance(clock, hours=1)
    made.append(two.click(link))  # T0 + 1h: the range's first instant
    advance(clock, hours=1)
    made.append(one.click(link))  # a repeat: not unique
    advance(clock, minutes=1)
    made.append(bot_click(api, link))
    advance(clock, minutes=59)
    made.append(two.click(link))  # T0 + 3h: the range's end, left out

    answer = export(api, link, world["alice"], **{"from": at(T0 + timedelta(hours=1))},
                    to=at(T0 + timedelta(hours=3)))  # fmt: skip

    got = rows(answer)
    assert [r["click_id"] for r in got] == made[1:4]
    for row in got:
        recorded = clicks.get_click(store, row["click_id"])
        assert recorded is not None
        assert when(row["time"]) == datetime.fromtimestamp(recorded.at_ms / 1000, SHANGHAI)
        assert row["user_agent"] == recorded.user_agent
        assert row["referrer"] == recorded.referrer
        flags = (row["bot"], row["unique"], row["suspicious"])
        assert flags == tuple(str(int(f)) for f in (recorded.bot, recorded.unique, False))
        assert recorded.device not in answer.get_data(as_text=True)
    assert [(r["bot"], r["unique"]) for r in got] == [("0", "1"), ("0", "0"), ("1", "0")]
    assert got[0]["user_agent"] == clicks.get_click(store, made[1]).user_agent == "ios/weibo"
    # One device, one pseudonym; another device, another.
    everything = rows(export(api, link, world["alice"], **{"from": at(T0)}))
    assert [r["click_id"] for r in everything] == made
    devices = [r["device"] for r in everything]
    assert devices[0] == devices[2] != devices[1] == devices[4]
    assert len(devices[0]) == 12


def test_by_default_the_last_day_to_now(app: Any, api: Api, world: dict, clock: Any) -> None:
    link = api.link(world["alice"])
    browser = Browser(app)
    old = browser.click(link)
    advance(clock, hours=25)
    recent = browser.click(link)

    assert [r["click_id"] for r in rows(export(api, link, world["alice"]))] == [recent]
    only_to = export(api, link, world["alice"], to=at(T0 + timedelta(hours=1)))
    assert [r["click_id"] for r in rows(only_to)] == [old]


def test_a_range_over_several_utc_days_and_buckets_keeps_time_order(
    app: Any, api: Api, world: dict, clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Buckets of 3 records, so that one day's ten clicks fill four of them.
    monkeypatch.setattr(clicks, "BUCKET_ENTRIES", 3)
    link = api.link(world["alice"])
    made = []
    for n in range(10):
        made.append(Browser(app).click(link))
        advance(clock, minutes=7 if n < 9 else 23 * 60)  # the last: the next UTC day
    made.append(Browser(app).click(link))

    got = [r["click_id"] for r in rows(export(api, link, world["alice"], **{"from": at(T0)}))]

    assert got == made
    assert {clicks.parse_click_id(c).bucket for c in made[:10]} == {0, 1, 2, 3}
    assert len({clicks.parse_click_id(c).day for c in made}) == 2


def test_the_range_stays_within_the_retention_of_click_records(
    api: Api, world: dict, clock: Any
) -> None:
    link = api.link(world["alice"])
    horizon = T0 - RETENTION
    one_ms = timedelta(milliseconds=1)

    assert export(api, link, world["alice"], **{"from": at(horizon)}).status_code == 200
    early = export(api, link, world["alice"], **{"from": at(horizon - one_ms)})
    refused = error_of(early, 422)
    assert [f["field"] for f in refused["fields"]] == ["from"]
    assert "16 days" in refused["message"] and "2026-11-04T10:00:00+08:00" in refused["message"]
    gone = export(api, link, world["alice"], to=at(horizon))
    assert [f["field"] for f in error_of(gone, 422)["fields"]] == ["to"]

    # From the horizon to a day past now, and not a millisecond longer.
    longest = {"from": at(horizon), "to": at(T0 + timedelta(days=1))}
    assert export(api, link, world["alice"], **longest).status_code == 200
    too_long = {"from": at(horizon), "to": at(T0 + timedelta(days=1) + one_ms)}
    refused = error_of(export(api, link, world["alice"], **too_long), 422)
    assert [f["field"] for f in refused["fields"]] == ["to"] and "17 days" in refused["message"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"from": "2026-11-20T09:00:00+08:00", "to": "2026-11-20T09:00:00+08:00"}, "to"),
        ({"from": "2026-11-20T09:00:00+08:00", "to": "2026-11-20T08:00:00+08:00"}, "to"),
        ({"from": "yesterday"}, "from"),
        ({"from": "2026-11-20T09:00:00"}, "from"),  # no offset
        ({"to": "9999-12-31T23:59:59-23:59"}, "to"),
        ({"format": "json"}, "format"),
        ({"since": "2026-11-20T09:00:00+08:00"}, "since"),
    ],
)
def test_a_bad_range_or_parameter_is_422_naming_it(
    api: Api, world: dict, clock: Any, query: dict[str, str], field: str
) -> None:
    link = api.link(world["alice"])
    response = export(api, link, world["alice"], **query)
    assert [f["field"] for f in error_of(response, 422)["fields"]] == [field]


def test_only_the_links_creator_and_the_admin_read_its_clicks(
    app: Any, api: Api, world: dict
) -> None:
    link = api.link(world["alice"])
    Browser(app).click(link)

    assert error_of(export(api, link, world["bob"]), 404)["code"] == "not_found"
    assert export(api, link, None).status_code == 401
    # The admin sees the rows as the creator does: the creator's pseudonyms.
    assert rows(export(api, link, ADMIN_TOKEN)) == rows(export(api, link, world["alice"]))
    for missing in ("AbCdE12345", "nope"):
        assert api.call("GET", f"/api/v1/links/{missing}/clicks").status_code == 404


def test_a_device_is_a_pseudonym_of_its_own_for_each_creator(
    app: Any, api: Api, world: dict
) -> None:
    alices = [api.link(world["alice"]), api.link(world["alice"], "cup")]
    bobs = api.link(world["bob"])
    browser = Browser(app)
    for link in (*alices, bobs):
        browser.click(link)

    seen_by_alice = {rows(export(api, x, world["alice"]))[0]["device"] for x in alices}
    seen_by_bob = rows(export(api, bobs, world["bob"]))[0]["device"]
    assert len(seen_by_alice) == 1  # her repeat visitors are told apart across her links
    assert seen_by_bob not in seen_by_alice


def test_a_referrer_a_spreadsheet_would_run_is_written_as_text(
    app: Any, api: Api, world: dict, clock: Any
) -> None:
    link = api.link(world["alice"])
    for referer in ("https://weibo.com/u/1", "http://=1+2.example/", "http://-cmd.example/"):
        advance(clock, seconds=1)  # rows in time order; clicks of one millisecond by id
        api.client.get(
            f"/r/{link['token']}",
            headers={"User-Agent": Browser(app).user_agent, "Referer": referer},
        )
    got = [r["referrer"] for r in rows(export(api, link, world["alice"]))]
    assert got == ["weibo.com", "'=1+2.example", "'-cmd.example"]


def test_the_csv_is_streamed_as_an_attachment_never_cached(api: Api, world: dict) -> None:
    link = api.link(world["alice"])
    answer = export(api, link, world["alice"], **{"from": "2026-11-19T00:00:00+08:00"})

    assert answer.is_streamed
    assert answer.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert answer.headers["Cache-Control"] == "private, no-store"
    name = f"clicks-{link['id']}-2026-11-19-2026-11-20.csv"
    assert answer.headers["Content-Disposition"] == f'attachment; filename="{name}"'


def test_rows_are_read_a_day_at_a_time_as_they_are_written(
    app: Any, api: Api, world: dict, clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    link = api.link(world["alice"])
    first = Browser(app).click(link)
    advance(clock, days=3)
    Browser(app).click(link)
    days_read: list[int] = []
    reader = click_export.clicks_of_day

    def counting(r: Any, link_id: str, day: int) -> list[clicks.Click]:
        days_read.append(day)
        return reader(r, link_id, day)

    monkeypatch.setattr(click_export, "clicks_of_day", counting)
    ctx = context_of(app)
    span = click_export.ClickRange(int(T0.timestamp() * 1000), ctx.clock.now_ms() + 1)
    lazily = click_export.rows(ctx, link["id"], span)

    assert days_read == []
    assert next(lazily).id == first
    assert days_read == [span.start_ms // clicks.DAY_MS]
    assert len(list(lazily)) == 1
    assert len(days_read) == 4


def test_the_export_is_in_the_openapi_document(client: Any) -> None:
    operation = client.get("/openapi.json").get_json()["paths"]["/api/v1/links/{link_id}/clicks"]
    get = operation["get"]
    assert "text/csv" in get["responses"]["200"]["content"]
    assert {p["name"] for p in get["parameters"]} >= {"link_id", "from", "to", "format"}
