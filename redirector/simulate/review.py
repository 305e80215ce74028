"""The review of click fraud, as the simulator books it: which orders the
service holds, and how well its holds match the fraud the run injected.

**Prediction** is ``holds``'s: which orders the service holds.

**The admin.** Each held order is reviewed the next morning (``REVIEW_HOUR``
local time): the simulator plays the admin who investigated, so it rejects the
orders it injected as fraud and releases the others, through the API.

**The table.** Per kind of injected fraud, and for the legitimate orders of
live-stream crowds, other live streams and the rest: orders, those held by
the service, and those *stopped* (held, or credited to no click of the fraud:
cookie stuffing is stopped at the click, which the service counts as a bot and
never attributes; a visitor's order may still go to a genuine click of its
own). Precision is the share of held orders that are fraud; recall the share
of fraud stopped.
"""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import TYPE_CHECKING

from .options import ReviewFigures, ReviewLine, Row
from .shape import HOUR_MS, at, ms_of

if TYPE_CHECKING:
    from .books import Order
    from .transport import Http
    from .world import Click

__all__ = [
    "FRAUD_KINDS",
    "REVIEW_HOUR",
    "compare_review",
    "read_reviews",
    "review_table",
    "review_time",
]

FRAUD_KINDS = ("farm", "instant", "embed")
REVIEW_HOUR = 10  # local time: the admin goes through the held orders each morning


def review_time(paid_ms: int) -> int:
    """When the admin reviews an order held at ``paid_ms``: the next
    ``REVIEW_HOUR`` local time at least an hour later (a minute past it)."""
    local = at(paid_ms + HOUR_MS)
    target = local.replace(hour=REVIEW_HOUR, minute=1, second=0, microsecond=0)
    if target < local:
        target = (local + timedelta(days=1)).replace(hour=REVIEW_HOUR, minute=1, second=0)
    return ms_of(target)


def _stopped(order: Order, held: set[str], stuffed: set[str]) -> bool:
    """Whether a fraudulent order earned its fraud nothing: held, or credited to
    no click of the fraud (a stuffed ``<img>`` fetch, the farm's or instant click)."""
    if order.id in held or order.credited is None:
        return True
    if order.fraud == "embed":
        return order.credited not in stuffed
    return order.click is None or order.credited != order.click.id


def review_table(
    orders: Iterable[Order],
    held: set[str],
    earned: dict[str, int],
    stuffed_clicks: Iterable[Click] = (),
) -> tuple[list[ReviewLine], ReviewFigures]:
    """The table and its figures from the ground truth, the orders the service
    held (``held``: ids) and the commission it shows for each (``earned``)."""
    sent = [o for o in orders if o.status != "none"]
    stuffed = {c.id for c in stuffed_clicks if c.id}
    groups = [(f"fraud: {kind}", [o for o in sent if o.fraud == kind]) for kind in FRAUD_KINDS]
    legit = [o for o in sent if not o.fraud]
    groups += [
        ("legitimate: live-stream crowds", [o for o in legit if o.audience == "crowd"]),
        ("legitimate: other live streams", [o for o in legit if o.audience == "live"]),
        ("legitimate: the rest", [o for o in legit if not o.audience]),
    ]
    lines = [
        ReviewLine(
            label,
            len(group),
            sum(o.id in held for o in group),
            sum(_stopped(o, held, stuffed) for o in group) if label.startswith("fraud") else None,
            sum(earned.get(o.id, 0) for o in group),
        )
        for label, group in groups
    ]
    fraud = [o for o in sent if o.fraud]
    held_legit = [o for o in legit if o.id in held]
    figures = ReviewFigures(
        held=sum(o.id in held for o in sent),
        held_fraud=sum(o.id in held for o in fraud),
        fraud=len(fraud),
        stopped=sum(_stopped(o, held, stuffed) for o in fraud),
        crowd_held=sum(o.audience == "crowd" for o in held_legit),
        live_held=sum(o.audience == "live" for o in held_legit),
        other_held=sum(not o.audience for o in held_legit),
    )
    return lines, figures


def read_reviews(
    http: Http, orders: list[Order], pool: ThreadPoolExecutor
) -> dict[str, tuple[str | None, int]]:
    """Each sent order's review status (None: never held) and commission, as the API shows."""

    def read(order: Order) -> tuple[str, tuple[str | None, int]]:
        _, doc = http.api("GET", f"/api/v1/orders/{order.storefront.id}/{order.id}")
        review = doc.get("review") or {}
        return order.id, (review.get("status"), int(doc.get("commission", 0)))

    sent = [o for o in orders if o.status != "none" and not o.failed]
    return dict(pool.map(read, sent))


def compare_review(
    books_orders: list[Order], shown: dict[str, tuple[str | None, int]]
) -> tuple[list[Row], list[str]]:
    """Held, released and rejected orders and what they earn: books beside API."""
    rows: list[Row] = []
    mismatches: list[str] = []
    for i, status in enumerate(("held", "released", "rejected")):
        mine = [o for o in books_orders if o.id in shown and _books_status(o) == status]
        theirs = [oid for oid, (s, _) in shown.items() if s == status]
        section = "review" if i == 0 else ""
        rows.append(Row(f"{status} orders", len(mine), len(theirs), section=section))
        rows.append(
            Row(
                f"commission of {status} orders",
                sum(o.commission for o in mine),
                sum(shown[oid][1] for oid in theirs),
                money=True,
            )
        )
        for oid in sorted({o.id for o in mine} ^ set(theirs))[:10]:
            mismatches.append(f"order {oid}: {status} in one of the books and the API only")
    return rows, mismatches


def _books_status(order: Order) -> str | None:
    if order.review is not None:
        return order.review
    return "held" if order.hold else None
