"""The charts the console embeds, read back from the page (each canvas carries
the configuration ``static/charts.js`` draws): categories are bars and never a
line joining them, every figure of a chart has its own colour, unique clicks
are drawn apart from the clicks (not hidden under them), and the money per day
is the API's per-day series (``GET /api/v1/links/{id}/series``) added up."""

from __future__ import annotations

import html as html_lib
import json
import re
from typing import Any

from redirector.console import figures
from tests.conftest import ADMIN_TOKEN, Api
from tests.test_console import Month, month, sign_in

__all__ = ["month"]  # the fixture, used here by name

CHART = re.compile(
    r"""<figure class="card chart-card" id="([^"]+)">.*?data-chart='([^']*)'""", re.S
)


def charts(page: str) -> dict[str, dict[str, Any]]:
    """Every chart of a page by its figure's id, as the page embeds it."""
    return {m.group(1): json.loads(html_lib.unescape(m.group(2))) for m in CHART.finditer(page)}


def drawn_as(spec: dict[str, Any], dataset: dict[str, Any]) -> str:
    return str(dataset.get("draw") or spec["type"])


def series_total(api: Api, link_ids: list[str], first: str, last: str, token: str) -> dict:
    """The API's per-day series of the links added up: ``{field: {date: value}}``."""
    total: dict[str, dict[str, int]] = {}
    for link_id in link_ids:
        doc = api.ok("GET", f"/api/v1/links/{link_id}/series?from={first}&to={last}", token=token)
        for day in doc["days"]:
            for name in ("clicks", "unique_clicks", "gmv", "commission"):
                at = total.setdefault(name, {})
                at[day["date"]] = at.get(day["date"], 0) + day[name]
    return total


def check_time_charts(spec_clicks: dict, spec_money: dict, api_days: dict, year: str) -> None:
    """Clicks per day: clicks as bars, unique clicks as a line over them, each in
    its own colour; money per day: GMV and commission lines equal to the API's."""
    by_field = {d["field"]: d for d in spec_clicks["datasets"]}
    assert drawn_as(spec_clicks, by_field["clicks"]) == "bar"
    assert drawn_as(spec_clicks, by_field["unique_clicks"]) == "line"
    colours = [d["color"] for d in spec_clicks["datasets"]]
    assert len(set(colours)) == len(colours)
    dates = [f"{year}-{label}" for label in spec_money["labels"]]
    assert spec_money["type"] == "line"
    money = {d["field"]: d for d in spec_money["datasets"]}
    assert set(money) == {"gmv", "commission"}
    assert money["gmv"]["color"] != money["commission"]["color"]
    for name in ("gmv", "commission"):
        assert money[name]["unit"] == "money"
        assert money[name]["data"] == [api_days[name][d] for d in dates], name
    assert sum(money["gmv"]["data"]) > 0  # the days shown hold the month's sales
    for name in ("clicks", "unique_clicks"):
        assert by_field[name]["data"] == [api_days[name][d] for d in dates], name


def test_the_dashboard_draws_categories_as_bars_and_money_per_day_from_the_series(
    client: Any, world: dict, api: Api, month: Month
) -> None:
    sign_in(client, ADMIN_TOKEN)
    page = client.get("/console/admin?days=90").get_data(as_text=True)
    shown = charts(page)
    assert set(shown) == {
        "chart-clicks",
        "chart-money",
        "chart-periods",
        "chart-channels",
        "chart-placements",
    }
    for name in ("chart-channels", "chart-placements"):
        spec = shown[name]
        assert spec["type"] == "bar"
        assert [drawn_as(spec, d) for d in spec["datasets"]] == ["bar", "bar"], name
        assert len({d["color"] for d in spec["datasets"]}) == 2
    channels = shown["chart-channels"]
    gmv = next(d for d in channels["datasets"] if d["field"] == "gmv")
    items = api.ok("GET", "/api/v1/links?limit=1000")["links"]
    assert sum(gmv["data"]) == sum(x["stats"]["gmv"] for x in items)
    # the clock is on 2026-04-02: 90 days back covers the whole of March
    first, last = "2026-01-03", "2026-04-02"
    api_days = series_total(api, [x["id"] for x in items], first, last, ADMIN_TOKEN)
    check_time_charts(shown["chart-clicks"], shown["chart-money"], api_days, "2026")
    assert shown["chart-money"]["labels"][0] == first[5:]
    assert shown["chart-money"]["labels"][-1] == last[5:]
    # every figure keeps its colour across the charts
    colours = {d["field"]: d["color"] for spec in shown.values() for d in spec["datasets"]}
    assert colours == {f: figures.COLOURS[f] for f in colours}


def test_a_creators_pages_chart_its_own_series(
    client: Any, world: dict, api: Api, month: Month
) -> None:
    mine = api.ok("GET", "/api/v1/links", token=world["alice"])["links"]
    sign_in(client, world["alice"])
    shown = charts(client.get("/console/me").get_data(as_text=True))
    first, last = "2026-03-04", "2026-04-02"  # the 30 days ending today
    api_days = series_total(api, [x["id"] for x in mine], first, last, world["alice"])
    check_time_charts(shown["chart-my-clicks"], shown["chart-my-money"], api_days, "2026")
    one = mine[0]
    shown = charts(client.get(f"/console/me/links/{one['id']}").get_data(as_text=True))
    api_days = series_total(api, [one["id"]], first, last, world["alice"])
    check_time_charts(shown["chart-link-clicks"], shown["chart-link-money"], api_days, "2026")
