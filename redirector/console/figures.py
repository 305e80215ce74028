"""The dashboard's figures, summed from what the API answers.

Nothing here computes a figure of its own: the inputs are the link documents
(``links.list_links``, the same stats ``GET /api/v1/links`` shows), their
per-day series (``series.link_series``, as ``GET /api/v1/links/{id}/series``) and statements
(``settlement.statement``); these functions only add them up. Pure.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, timedelta
from typing import Any

from ..links import STAT_FIELDS
from ..periods import Period

SERIES_FIELDS = ("clicks", "unique_clicks", "bot_clicks", "suspicious_clicks")
MONEY_FIELDS = ("gmv", "commission")
NO_PLACEMENT = "-"

# One colour per figure, the same on every chart, from the Okabe-Ito palette:
# told apart with the common colour-vision deficiencies, and each is also told
# apart by its drawing (bars, a line, a dashed line) and named in the legend.
COLOURS = {
    "clicks": "#0072B2",
    "unique_clicks": "#E69F00",
    "bot_clicks": "#CC79A7",
    "suspicious_clicks": "#D55E00",
    "orders": "#000000",
    "gmv": "#009E73",
    "commission": "#56B4E9",
}


def zero() -> dict[str, int]:
    return dict.fromkeys(STAT_FIELDS, 0)


def total_stats(links: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """The links' stats added up."""
    total = zero()
    for link in links:
        for name in STAT_FIELDS:
            total[name] += link["stats"][name]
    return total


def stats_by(
    links: Iterable[Mapping[str, Any]], field: str, order: Sequence[str] = ()
) -> dict[str, dict[str, int]]:
    """The links' stats added up per value of ``field`` (``channel``, ``placement``,
    ``creator_id``); values in ``order`` come first (even without links), the rest sorted."""
    groups: dict[str, dict[str, int]] = {value: zero() for value in order}
    for link in links:
        value = link[field] or NO_PLACEMENT
        target = groups.setdefault(value, zero())
        for name in STAT_FIELDS:
            target[name] += link["stats"][name]
    ordered = list(order) + sorted(v for v in groups if v not in order)
    return {value: groups[value] for value in ordered}


def once_per_account(lines: Sequence[Mapping[str, Any]]) -> list[int | None]:
    """Each statement line's ad spend as the page shows it: on the first line of
    its account, ``None`` on the account's other lines. A line carries its
    account's whole spend (the API's per-line field), which the totals count once
    per account; shown once, the column adds up to the total."""
    seen: set[tuple[str, str]] = set()
    shown: list[int | None] = []
    for line in lines:
        account = (line["account_type"], line["account_id"])
        shown.append(None if account in seen else line["ad_spend"])
        seen.add(account)
    return shown


def last_days(today: date, days: int) -> list[str]:
    """The ``days`` local dates ending with ``today``, oldest first, as ``YYYY-MM-DD``."""
    return [(today - timedelta(days=days - 1 - i)).isoformat() for i in range(days)]


def daily_totals(
    series: Iterable[Iterable[Mapping[str, Any]]],
    dates: Sequence[str],
    fields: Sequence[str] = SERIES_FIELDS,
) -> dict[str, list[int]]:
    """Per-day series of many links added up over ``dates`` (days without any: 0)."""
    index = {day: i for i, day in enumerate(dates)}
    totals = {name: [0] * len(dates) for name in fields}
    for one in series:
        for point in one:
            i = index.get(point["date"])
            if i is None:
                continue
            for name in fields:
                totals[name][i] += point[name]
    return totals


def recent_periods(current: Period, count: int) -> list[Period]:
    """``count`` periods ending with ``current``, oldest first."""
    periods = [current]
    for _ in range(count - 1):
        periods.append(periods[-1].previous())
    return list(reversed(periods))


def periods_since(first: Period | None, current: Period, most: int) -> list[Period]:
    """Up to ``most`` periods ending with ``current``, oldest first, none before
    ``first`` (the first period with data): months before the deployment had
    anything are not listed as open periods of zeros."""
    if first is None:
        return [current]
    return [p for p in recent_periods(current, most) if p >= first] or [current]


def dataset(
    label: str, field: str, unit: str, data: Sequence[int], draw: str | None = None
) -> dict[str, Any]:
    """One series of a chart, in the colour of its figure (``COLOURS``). ``draw``
    draws it otherwise than its chart's type: ``bar``, ``line`` or ``dashed`` (a line)."""
    return {
        "label": label,
        "field": field,
        "unit": unit,
        "color": COLOURS[field],
        **({"draw": draw} if draw else {}),
        "data": list(data),
    }


def chart(
    kind: str, labels: Sequence[str], datasets: Sequence[Mapping[str, Any]], **options: Any
) -> dict[str, Any]:
    """What ``static/charts.js`` draws: each dataset names its unit (``money`` in
    minor units, or ``count``), so the axis and the tooltips write it right."""
    return {"type": kind, "labels": list(labels), "datasets": list(datasets), **options}


def clicks_chart(
    dates: Sequence[str], daily: Mapping[str, Sequence[int]], name: Callable[[str], str]
) -> dict[str, Any]:
    """Clicks per day as bars and, over them, unique clicks as a line (never hidden
    under the clicks, which they never exceed); bot and suspicious clicks dashed.
    ``name`` gives a figure's label in the page's language."""
    draws = {"clicks": "bar", "bot_clicks": "dashed", "suspicious_clicks": "dashed"}
    return chart(
        "line",
        [d[5:] for d in dates],
        [dataset(name(f), f, "count", daily[f], draws.get(f)) for f in SERIES_FIELDS if f in daily],
    )


def money_chart(
    dates: Sequence[str], daily: Mapping[str, Sequence[int]], name: Callable[[str], str]
) -> dict[str, Any]:
    """GMV and commission per local day: a line through time."""
    return chart(
        "line",
        [d[5:] for d in dates],
        [dataset(name(f), f, "money", daily[f]) for f in MONEY_FIELDS],
    )
