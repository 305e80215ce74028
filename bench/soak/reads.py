"""The read thread: the current period's statement, links and orders in a loop,
each answer 200, the statement consistent in itself, and a link's click count
never below the 302s answered before the read nor above those sent."""

from __future__ import annotations

import random
import time
from typing import Any

import requests

from .state import Soak
from .world import ADMIN, HTTP_TIMEOUT, Link, now_ms, period_of_ms

__all__ = ["read_thread"]


def read_thread(soak: Soak) -> None:
    rng = random.Random(soak.args.seed * 1000 + 900)
    api = requests.Session()
    api.headers["Authorization"] = f"Bearer {ADMIN}"
    while not soak.stop_clicks.is_set():
        roll = rng.random()
        if roll < 0.4:
            read_statement(soak, api, period_of_ms(now_ms()))
        elif roll < 0.8:
            read_link(soak, api, rng.choice(soak.links))
        else:
            with soak.cond:
                order = rng.choice(soak.orders) if soak.orders else None
            if order is not None:
                path = f"/api/v1/orders/{order.storefront}/{order.order_id}"
                timed_get(soak, api, "order read", path, allow_404=True)
        time.sleep(0.02)


def timed_get(
    soak: Soak, api: requests.Session, kind: str, path: str, allow_404: bool = False
) -> Any:
    started = time.perf_counter()
    try:
        response = api.get(soak.base + path, timeout=HTTP_TIMEOUT)
    except requests.RequestException as exc:
        soak.rec.problem("reads", f"GET {path}: {exc!r}")
        return None
    soak.rec.time(kind, time.perf_counter() - started)
    soak.rec.count(f"{kind}s")
    if response.status_code == 404 and allow_404:
        return None  # an order whose paid event is not in yet
    if response.status_code != 200:
        soak.rec.problem("reads", f"GET {path}: {response.status_code} {response.text[:200]}")
        return None
    return response.json()


def read_statement(soak: Soak, api: requests.Session, period: str) -> None:
    doc = timed_get(soak, api, "statement read", f"/api/v1/settlements/{period}")
    if doc is None:
        return
    for name in ("orders", "gmv", "commission", "network", "platform", "guide"):
        if sum(line[name] for line in doc["lines"]) != doc["totals"][name]:
            soak.rec.problem("reads", f"statement {period}: lines do not sum to {name}")
    for line in doc["lines"]:
        if line["network"] + line["platform"] + line["guide"] != line["commission"]:
            soak.rec.problem("reads", f"statement {period}: split != commission: {line}")
        for name in ("orders", "gmv", "commission"):
            if sum(c[name] for c in line["creators"]) != line[name]:
                soak.rec.problem("reads", f"statement {period}: creators != line {name}")


def read_link(soak: Soak, api: requests.Session, link: Link) -> None:
    with soak.lock:
        before = link.human + link.bot
    doc = timed_get(soak, api, "link read", f"/api/v1/links/{link.id}")
    if doc is None:
        return
    with soak.lock:
        sent = link.sent
    counted = doc["stats"]["clicks"] + doc["stats"]["bot_clicks"]
    if not before <= counted <= sent:
        soak.rec.problem(
            "reads",
            f"link {link.id}: {counted} clicks, outside [{before} answered, {sent} sent]",
        )
