"""The reconciliation, once the load has stopped and the orders in flight have
finished:

1. clicks: per link, ``clicks`` = human 302s, ``bot_clicks`` = bot 302s,
   ``unique_clicks`` = devices seen; click ids unique and a sample (and every
   click an order names) resolves in Redis to the right link, device and bot
   flag; ``/metrics`` counted the same redirects;
2. events: every order's status, refunded amount, commission and attribution
   equal the ledger's; its history lists exactly the accepted webhook-ids, in
   order, once each, ``applied`` where the ledger says it changed the order;
   link stats ``orders``/``gmv``/``commission`` equal the ledger's sums;
3. statements: ``redirector reconcile`` passes for every period touched, and
   each statement equals one recomputed from the ledger (lines, creators, the
   three-way split, ad spend and rebate, totals);
4. the service log holds no error.
"""

from __future__ import annotations

import os
import random
import re
import subprocess
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import redis
import requests

from redirector import clicks as click_records

from .ledger import Order, split_three
from .state import Soak
from .world import ADMIN, HTTP_TIMEOUT, Api, now_ms, period_of_ms

__all__ = ["expected_statements", "verify"]

METRICS = ("orders", "gmv", "commission")
SPLIT = ("network", "platform", "guide")
FIGURES = (*METRICS, *SPLIT, "ad_rebate", "platform_net", "guide_payable")
LineKey = tuple[str, str]  # (account, channel)


def verify(soak: Soak, env: dict[str, str], log_path: Path) -> dict[str, list[str]]:
    """Every check's failures (an empty list: it passed)."""
    started = time.monotonic()
    api = Api(soak.base, ADMIN)
    failures: dict[str, list[str]] = {}
    failures["clicks"] = verify_clicks(soak, api)
    failures["events"] = verify_orders(soak, api)
    failures["statements"] = verify_statements(soak, api, env)
    failures["reads"] = []
    failures["metrics"] = verify_metrics(soak)
    lines = log_path.read_text(errors="replace").splitlines()
    bad = [x for x in lines if re.search(r"Traceback|\bERROR\b|CRITICAL|WORKER TIMEOUT", x)]
    failures["service log"] = [f"{len(bad)} error lines, first: {bad[0]}"] if bad else []
    rec = soak.rec
    for check in ("clicks", "events", "reads"):
        if rec.problems[check]:
            failures.setdefault(check, []).insert(
                0,
                f"{rec.problems[check]} during the run, e.g. " + " | ".join(rec.examples[check]),
            )
    soak.verify_seconds = time.monotonic() - started
    return failures


# -- clicks -----------------------------------------------------------------------------


def verify_clicks(soak: Soak, api: Api) -> list[str]:
    out: list[str] = []
    for link in soak.links:
        stats = api.call("GET", f"/api/v1/links/{link.id}")["stats"]
        seen = {"clicks": link.human, "bot_clicks": link.bot}
        seen["unique_clicks"] = len(link.devices)
        for name, value in seen.items():
            if stats[name] != value:
                out.append(f"link {link.id} {name}: service {stats[name]}, answered {value}")
    ids = [c.click_id for c in soak.clicks]
    if len(set(ids)) != len(ids):
        out.append(f"{len(ids) - len(set(ids))} click ids answered twice")
    return out + _resolve_clicks(soak)


def _resolve_clicks(soak: Soak) -> list[str]:
    """Every click an order names, and a sample of the others, as Redis holds them."""
    out: list[str] = []
    store = redis.Redis.from_url(soak.redis_url, decode_responses=True)
    named = {o.paid_extra.get("click_id") for o in soak.orders}
    rng = random.Random(soak.args.seed)
    sample = [c for c in soak.clicks if c.click_id in named]
    sample += rng.sample(soak.clicks, min(500, len(soak.clicks)))
    soak.resolved = len(sample)
    for seen_click in sample:
        found = click_records.get_click(store, seen_click.click_id)
        if found is None:
            out.append(f"click {seen_click.click_id} does not resolve")
        elif (
            found.link_id != seen_click.link_id
            or found.bot != seen_click.bot
            or (seen_click.device and found.device != seen_click.device)
            or found.at_ms > seen_click.answered_ms
        ):
            out.append(f"click {seen_click.click_id}: recorded {found}, answered {seen_click}")
    return out


def verify_metrics(soak: Soak) -> list[str]:
    """``/metrics`` (summed over the workers) counted the redirects answered."""
    text = requests.get(f"{soak.base}/metrics", timeout=HTTP_TIMEOUT).text
    out = []
    for outcome in ("human", "bot"):
        mine = sum(x.bot if outcome == "bot" else x.human for x in soak.links)
        pattern = rf'^redirector_clicks_total\{{outcome="{outcome}"\}} ([\d.e+]+)$'
        match = re.search(pattern, text, re.M)
        theirs = int(float(match.group(1))) if match else None
        if theirs != mine:
            out.append(f"redirector_clicks_total{{outcome={outcome!r}}} {theirs}, answered {mine}")
    if not text.strip():
        out.append("/metrics answered an empty document")
    return out


# -- events -----------------------------------------------------------------------------


def verify_orders(soak: Soak, api: Api) -> list[str]:
    out: list[str] = []
    per_link: dict[str, Counter[str]] = defaultdict(Counter)
    for order in soak.orders:
        if not order.accepted:
            continue  # never paid (the drain ran out): nothing to find
        out += _verify_order(soak, api, order)
        if order.link and order.status != "cancelled":
            figures = per_link[order.link.id]
            figures["orders"] += 1
            figures["gmv"] += order.amount - order.refunded
            figures["commission"] += order.commission()
    for link in soak.links:
        stats = api.call("GET", f"/api/v1/links/{link.id}")["stats"]
        for name in ("orders", "gmv", "commission"):
            if stats[name] != per_link[link.id][name]:
                out.append(
                    f"link {link.id} {name}: service {stats[name]}, "
                    f"ledger {per_link[link.id][name]}"
                )
    return out


def _verify_order(soak: Soak, api: Api, order: Order) -> list[str]:
    """One order as the service holds it, against the ledger."""
    out: list[str] = []
    doc = api.call("GET", f"/api/v1/orders/{order.storefront}/{order.order_id}")
    ref = f"{order.storefront}:{order.order_id}"
    mine = {"status": order.status, "refunded_amount": order.refunded}
    mine.update(commission=order.commission(), attributed=order.expected)
    theirs = {k: doc[k] for k in ("status", "refunded_amount", "commission")}
    theirs["attributed"] = doc["attributed"] and {
        k: doc["attributed"][k] for k in ("click_id", "link_id", "creator_id")
    }
    if mine != theirs:
        out.append(f"order {ref}: service {theirs}, ledger {mine}")
    history = [(h["webhook_id"], h["applied"]) for h in doc["history"]]
    if history != order.accepted:
        out.append(f"order {ref}: history {history}, accepted {order.accepted}")
    if order.link and order.confirmed_ms is not None:
        holding = soak.world.programs[order.link.channel]["holding_days"]
        if doc["settled_period"] != period_of_ms(order.confirmed_ms, holding):
            out.append(f"order {ref}: settled in {doc['settled_period']}")
    return out


# -- statements -------------------------------------------------------------------------


def expected_statements(soak: Soak) -> dict[str, dict[LineKey, dict[str, Any]]]:
    """period -> (account, channel) -> figures and creators, from the ledger."""
    periods: dict[str, dict[LineKey, dict[str, Any]]] = defaultdict(dict)
    for order in soak.orders:
        if order.link is None or order.confirmed_ms is None:
            continue
        link = order.link
        holding = soak.world.programs[link.channel]["holding_days"]
        period = period_of_ms(order.confirmed_ms, holding)
        line = periods[period].setdefault(
            (link.account, link.channel),
            {"orders": 0, "gmv": 0, "commission": 0, "creators": defaultdict(Counter)},
        )
        net, commission = order.amount - order.refunded, order.commission()
        for target in (line, line["creators"][link.creator]):
            target["orders"] += 1
            target["gmv"] += net
            target["commission"] += commission
    return periods


def verify_statements(soak: Soak, api: Api, env: dict[str, str]) -> list[str]:
    out: list[str] = []
    expected = expected_statements(soak)
    soak.world.periods |= set(expected) | {period_of_ms(now_ms())}
    command = Path(sys.executable).with_name("redirector")
    for period in sorted(soak.world.periods):
        done = subprocess.run(
            [str(command) if command.exists() else "redirector", "reconcile", period],
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            timeout=600,
        )
        said = (done.stdout.strip() or done.stderr.strip()).splitlines()
        soak.reconciled.append(f"exit {done.returncode}: {said[-1] if said else ''}")
        if done.returncode != 0:
            out.append(f"reconcile {period}: exit {done.returncode}: {done.stdout.strip()}")
        doc = api.call("GET", f"/api/v1/settlements/{period}")
        out += compare_statement(soak, period, doc, expected.get(period, {}))
    return out


def compare_statement(
    soak: Soak, period: str, doc: dict[str, Any], lines: dict[LineKey, dict[str, Any]]
) -> list[str]:
    out: list[str] = []
    rendered = _render_lines(soak, period, lines)
    totals: Counter[str] = Counter()
    for line in rendered.values():
        for name in FIGURES:
            totals[name] += line[name]
    ad_spend = soak.world.ad_spend
    totals["ad_spend"] = sum(ad_spend.get((period, a), 0) for a in {a for a, _ in rendered})
    theirs = {(f"{x['account_type']}:{x['account_id']}", x["channel"]): x for x in doc["lines"]}
    if any(x.get("adjustment") for x in doc["lines"]):
        out.append(f"statement {period}: adjustment lines, but no period was closed")
    for key in sorted(set(theirs) | set(rendered)):
        mine, got = rendered.get(key), theirs.get(key)
        if got is not None:
            got = {k: v for k, v in got.items() if k != "adjustment"}
        if mine != got:
            out.append(f"statement {period} line {key}: service {got}, ledger {mine}")
    if dict(totals) != {k: doc["totals"][k] for k in totals}:
        out.append(f"statement {period} totals: service {doc['totals']}, ledger {dict(totals)}")
    soak.settled[period] = dict(totals)
    return out


def _render_lines(
    soak: Soak, period: str, lines: dict[LineKey, dict[str, Any]]
) -> dict[LineKey, dict[str, Any]]:
    """The ledger's lines as the statement renders them: split three ways, then an
    account's ad spend rebated over its lines in (account, channel) order."""
    ad_spend = soak.world.ad_spend
    rendered: dict[LineKey, dict[str, Any]] = {}
    for (account, channel), line in sorted(lines.items()):
        program = soak.world.programs[channel]
        shares = (program["network_bps"], program["platform_bps"], program["guide_bps"])
        network, platform, guide = split_three(line["commission"], shares)
        kind, ident = account.split(":", 1)
        creators = [
            {"creator_id": creator, **{m: figures[m] for m in METRICS}}
            for creator, figures in sorted(line["creators"].items())
        ]
        rendered[(account, channel)] = {
            "account_id": ident,
            "account_type": kind,
            "channel": channel,
            **{m: line[m] for m in METRICS},
            "network": network,
            "platform": platform,
            "guide": guide,
            "ad_spend": ad_spend.get((period, account), 0),
            "ad_rebate": 0,
            "platform_net": platform,
            "guide_payable": guide,
            "creators": creators,
        }
    for account in {a for a, _ in rendered}:
        left = ad_spend.get((period, account), 0)
        for key in sorted(k for k in rendered if k[0] == account):
            line = rendered[key]
            rebate = min(line["platform"], left)
            left -= rebate
            line["ad_rebate"] = rebate
            line["platform_net"] = line["platform"] - rebate
            line["guide_payable"] = line["guide"] + rebate
    return rendered
