"""The comparison: the simulator's books against what the API reports.

Every link's stats (clicks, unique clicks, bot clicks, orders, GMV,
commission), every statement from the start month to the month the clock
ends in, line by line, and the payouts and balances of this run's accounts.
Only lines of this run's accounts are compared, so several runs may share
one service; when a statement holds only this run's lines, its totals must
also be their sum.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from .books import (
    EMPTY_LINE,
    STATEMENT_FIGURES,
    STATEMENT_NAMES,
    Books,
    LineKey,
    Order,
    statement_totals,
)
from .options import Row
from .transport import Http
from .world import Creator, World

__all__ = [
    "LINK_FIGURES",
    "Comparison",
    "compare_links",
    "compare_payouts",
    "compare_statements",
    "read_links",
    "read_statement",
    "summary_rows",
]

LINK_FIGURES = ("clicks", "unique_clicks", "bot_clicks", "orders", "gmv", "commission")


@dataclass(frozen=True)
class Comparison:
    """Figures summed on both sides, and each disagreement found on the way."""

    simulated: dict[str, int]
    reported: dict[str, int]
    mismatches: list[str]


def read_links(http: Http, creators: list[Creator]) -> dict[str, dict[str, int]]:
    """Every link's stats, read per creator."""
    stats: dict[str, dict[str, int]] = {}
    for creator in creators:
        offset: int | None = 0
        while offset is not None:
            _, doc = http.api(
                "GET", f"/api/v1/links?creator_id={creator.id}&limit=1000&offset={offset}"
            )
            stats.update((item["id"], item["stats"]) for item in doc["links"])
            offset = doc["next_offset"]
    return stats


def compare_links(http: Http, world: World) -> Comparison:
    reported_links = read_links(http, world.creators)
    simulated = dict.fromkeys(LINK_FIGURES, 0)
    reported = dict.fromkeys(LINK_FIGURES, 0)
    mismatches: list[str] = []
    for link in world.links.values():
        stats = reported_links.get(link.id, {})
        for name in LINK_FIGURES:
            want, got = getattr(link, name), stats.get(name, 0)
            simulated[name] += want
            reported[name] += got
            if want != got:
                mismatches.append(f"link {link.id} {name}: simulator {want}, API {got}")
    return Comparison(simulated, reported, mismatches)


def read_statement(
    http: Http, accounts: set[str], period: str
) -> tuple[dict[LineKey, dict[str, Any]], list[str]]:
    """The lines of ``accounts`` in a period's statement, and what is wrong with its totals."""
    _, doc = http.api("GET", f"/api/v1/settlements/{period}")
    lines: dict[LineKey, dict[str, Any]] = {}
    foreign = False
    for line in doc["lines"]:
        account = f"{line['account_type']}:{line['account_id']}"
        if account not in accounts:
            foreign = True
            continue
        lines[(account, line["channel"], bool(line.get("adjustment")))] = {
            **{name: line[name] for name in STATEMENT_NAMES},
            "creators": {
                c["creator_id"]: (c["orders"], c["gmv"], c["commission"]) for c in line["creators"]
            },
            "order_ids": sorted(line.get("order_ids") or []),
        }
    problems = []
    if not foreign:  # only this run on the service: the totals are the lines' sum
        for name, total in statement_totals(lines).items():
            if doc["totals"][name] != total:
                problems.append(
                    f"{period} totals {name}: {doc['totals'][name]}, lines sum to {total}"
                )
    return lines, problems


def compare_statements(http: Http, books: Books, periods: list[str]) -> Comparison:
    simulated = dict.fromkeys(STATEMENT_NAMES, 0)
    reported = dict.fromkeys(STATEMENT_NAMES, 0)
    mismatches: list[str] = []
    accounts = books.accounts()
    for name in periods:
        expected = books.expected_statement(name)
        theirs, problems = read_statement(http, accounts, name)
        mismatches.extend(problems)
        mismatches.extend(_line_mismatches(name, expected, theirs))
        for totals, lines in ((simulated, expected), (reported, theirs)):
            for figure, value in statement_totals(lines).items():
                totals[figure] += value
    return Comparison(simulated, reported, mismatches)


def _line_mismatches(
    period: str,
    expected: dict[LineKey, dict[str, Any]],
    reported: dict[LineKey, dict[str, Any]],
) -> list[str]:
    out = []
    for key in sorted(set(expected) | set(reported)):
        ours, theirs = expected.get(key, EMPTY_LINE), reported.get(key, EMPTY_LINE)
        for field_name in (*STATEMENT_NAMES, "creators", "order_ids"):
            if ours[field_name] != theirs[field_name]:
                kind = "adjustment line" if key[2] else "line"
                out.append(
                    f"{period} {kind} {key[0]} {key[1]} {field_name}: "
                    f"simulator {ours[field_name]}, statement {theirs[field_name]}"
                )
    return out


def compare_payouts(http: Http, books: Books) -> Comparison:
    """Each of this run's accounts: the payouts its closes made (period and
    amount, in order) and the balance it carries."""
    names = ("payouts", "paid out", "carried")
    simulated, reported = dict.fromkeys(names, 0), dict.fromkeys(names, 0)
    mismatches: list[str] = []
    for account in sorted(books.accounts()):
        kind, ident = account.split(":", 1)
        _, doc = http.api("GET", f"/api/v1/payouts?account_id={ident}")
        theirs = [(p["period"], p["amount"]) for p in doc["payouts"] if p["account_type"] == kind]
        ours = [(period, amount) for period, who, amount in books.payouts if who == account]
        _, balance = http.api("GET", f"/api/v1/accounts/{ident}/balance")
        carried = books.balances.get(account, 0)
        for side, made, left in (
            (simulated, ours, carried),
            (reported, theirs, balance["balance"]),
        ):
            side["payouts"] += len(made)
            side["paid out"] += sum(amount for _, amount in made)
            side["carried"] += left
        if ours != theirs:
            mismatches.append(f"payouts of {account}: simulator {ours}, API {theirs}")
        if carried != balance["balance"]:
            mismatches.append(
                f"balance of {account}: simulator {carried}, API {balance['balance']}"
            )
    return Comparison(simulated, reported, mismatches)


def summary_rows(
    links: Comparison,
    statements: Comparison,
    counts: Counter[str],
    orders: list[Order],
    payouts: Comparison | None = None,
) -> list[Row]:
    """The summary's figures, simulator beside API where the API reports one."""
    c = counts
    sim, api = links.simulated, links.reported
    sent = [o for o in orders if o.status != "none"]
    by_status = Counter(o.status for o in sent)
    rows = [
        Row("clicks (human)", sim["clicks"], api["clicks"], section="traffic"),
        Row("unique clicks", sim["unique_clicks"], api["unique_clicks"]),
        Row("bot clicks", sim["bot_clicks"], api["bot_clicks"]),
        Row("orders paid", len(sent), None, section="orders"),
        Row("attributed", c["predicted_attributed"], c["attributed"]),
        Row("unattributed", len(sent) - c["attributed"], None),
        Row("cancelled", by_status["cancelled"], None),
        Row("refunded", by_status["refunded"], None),
        Row("refunds after closing", c["adjustments"], None),
        Row("still paid (unsettled)", by_status["paid"], None),
        Row("commission at paid", c["paid_commission"], c["answered_commission"], True),
        Row("events answered as expected", c["events"], c["events"] - c["surprises"]),
        Row("replays answered as first", c["replays"], c["replays_identical"]),
        Row("orders (not cancelled)", sim["orders"], api["orders"], section="links"),
        Row("GMV", sim["gmv"], api["gmv"], True),
        Row("commission", sim["commission"], api["commission"], True),
    ]
    for i, (name, label, money) in enumerate(STATEMENT_FIGURES):
        section = "statements" if i == 0 else ""
        rows.append(
            Row(label, statements.simulated[name], statements.reported[name], money, section)
        )
    if payouts is not None:
        for i, name in enumerate(("payouts", "paid out", "carried")):
            label = {"payouts": "payouts made", "paid out": "paid out", "carried": "balances"}[name]
            rows.append(
                Row(
                    label,
                    payouts.simulated[name],
                    payouts.reported[name],
                    money=i > 0,
                    section="payouts" if i == 0 else "",
                )
            )
    return rows
