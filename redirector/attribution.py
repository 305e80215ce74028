"""Attribution: which click, if any, an order is credited to. Decided once, at ``paid``.

1. By ``click_id``: the order names a recorded, human click on a link to a
   product of the same storefront, made no later than the order's
   ``occurred_at`` and no longer ago than the link's program window.
2. Else by ``device_id`` (the ``rd_did`` cookie as the service set it): that
   device's latest human click inside the window, not after ``occurred_at``, on a
   link whose product belongs to the same storefront (last click wins).
3. Else the order is kept unattributed and earns nothing.

``choose`` is the rule, pure; ``attribute`` gathers its inputs from the store.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from . import clicks, keys
from .clicks import DAY_MS, Click
from .programs import Program
from .store import StoreClient


@dataclass(frozen=True, slots=True)
class Candidate:
    """A click with what the rule needs to know about its link."""

    click: Click
    storefront_id: str
    window_days: int


@dataclass(frozen=True, slots=True)
class Attribution:
    click_id: str
    link_id: str
    how: str  # "click_id" | "device_id"
    # The click itself, for the fraud rules (its time, its flood flag).
    click: Click | None = field(default=None, compare=False)


def eligible(candidate: Candidate, storefront_id: str, order_ms: int) -> bool:
    click = candidate.click
    return (
        not click.bot
        and candidate.storefront_id == storefront_id
        and click.at_ms <= order_ms
        and order_ms - click.at_ms <= candidate.window_days * DAY_MS
    )


def choose(
    storefront_id: str,
    order_ms: int,
    by_click: Candidate | None,
    by_device: Iterable[Candidate],
) -> Attribution | None:
    """The rule. ``by_device`` must be newest first."""
    if by_click is not None and eligible(by_click, storefront_id, order_ms):
        return Attribution(by_click.click.id, by_click.click.link_id, "click_id", by_click.click)
    for candidate in by_device:
        if eligible(candidate, storefront_id, order_ms):
            return Attribution(
                candidate.click.id, candidate.click.link_id, "device_id", candidate.click
            )
    return None


def attribute(
    r: StoreClient,
    *,
    storefront_id: str,
    order_ms: int,
    click_id: str | None,
    device: str | None,
    programs: Mapping[str, Program],
    verify_device: Callable[[str], str | None],
) -> Attribution | None:
    """Read the candidates for an order and apply ``choose``."""
    link_facts: dict[str, tuple[str, int] | None] = {}

    def candidate(click: Click | None) -> Candidate | None:
        if click is None:
            return None
        if click.link_id not in link_facts:
            storefront, channel = r.hmget(keys.link(click.link_id), "storefront_id", "channel")
            program = programs.get(channel or "")
            link_facts[click.link_id] = (
                (storefront, program.window_days) if storefront and program else None
            )
        facts = link_facts[click.link_id]
        return Candidate(click, facts[0], facts[1]) if facts else None

    by_click = candidate(clicks.get_click(r, click_id)) if click_id else None
    if by_click is not None and eligible(by_click, storefront_id, order_ms):
        return choose(storefront_id, order_ms, by_click, ())

    raw_device = verify_device(device) if device else None
    if raw_device is None:
        return choose(storefront_id, order_ms, by_click, ())
    longest = max((p.window_days for p in programs.values()), default=15)

    ids = clicks.device_click_ids(r, raw_device, order_ms - longest * DAY_MS, order_ms)
    found = [candidate(click) for click in clicks.get_clicks(r, ids)]
    # Newest first by the clicks' own times: the index lists a day's clicks in
    # the order they were recorded, and a click replayed after an outage is
    # recorded late.
    by_device = sorted((c for c in found if c is not None), key=lambda c: -c.click.at_ms)
    return choose(storefront_id, order_ms, by_click, by_device)
