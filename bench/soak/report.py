"""The soak's report: the load and its latencies, what was sent and accepted,
the reconciliation, and PASS or FAIL per check."""

from __future__ import annotations

import os
from collections import Counter

from .recorder import PROBLEM_EXAMPLES, percentile
from .state import Soak

__all__ = ["report"]


def report(soak: Soak, measured_seconds: float, failures: dict[str, list[str]]) -> bool:
    """Print the report; answers whether every check passed."""
    _latencies(soak, measured_seconds)
    _traffic(soak)
    _events(soak)
    _reconciliation(soak)
    return _verdict(failures)


def _latencies(soak: Soak, measured_seconds: float) -> None:
    rec, args = soak.rec, soak.args
    print(
        f"\nsoak: {soak.load_seconds:.1f} s of load (latencies from {measured_seconds:.1f} s "
        f"after the warm-up), {soak.drain_seconds:.1f} s for the orders in flight, "
        f"{soak.verify_seconds:.1f} s to reconcile; {args.workers} gunicorn workers, "
        f"{args.click_threads} click and {args.callback_threads} callback threads, "
        f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the end"
    )
    print(f"\n{'kind':15} {'requests':>9} {'per s':>7} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    for kind in ("click", "callback", "statement read", "link read", "order read"):
        values = rec.latency.get(kind, [])
        top = max(values) if values else float("nan")
        print(
            f"{kind:15} {len(values):9d} {len(values) / measured_seconds:7.1f} "
            f"{percentile(values, 0.50) * 1000:8.2f} {percentile(values, 0.99) * 1000:8.2f} "
            f"{top * 1000:8.2f}"
        )
    warm = ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in sorted(rec.warmup_max.items()))
    print(f"slowest in the warm-up: {warm}")


def _traffic(soak: Soak) -> None:
    counts = soak.rec.counts
    human = sum(x.human for x in soak.links)
    bot = sum(x.bot for x in soak.links)
    pairs = sum(len(x.devices) for x in soak.links)
    print(
        f"\nclicks: {sum(x.sent for x in soak.links)} sent, {human + bot} answered 302 "
        f"({human} human, {bot} bot) on {len(soak.links)} links, {pairs} (link, device) pairs; "
        f"{counts['click reconnects']} resent on a closed keep-alive connection, "
        f"{counts['click answers lost']} answers lost; {soak.resolved} click ids resolved"
    )
    paid = [o for o in soak.orders if o.accepted]
    statuses = Counter(o.status for o in paid)
    print(
        f"orders: {len(soak.orders)} made, {len(paid)} paid "
        f"({sum(1 for o in paid if o.link)} attributed), "
        f"{counts['orders skipped (backlog)']} skipped for backlog; final: "
        + ", ".join(f"{s} {n}" for s, n in sorted(statuses.items()))
    )


def _events(soak: Soak) -> None:
    counts = soak.rec.counts
    applied = ", ".join(
        f"{name.split(': ')[1]} {n}"
        for name, n in sorted(counts.items())
        if name.startswith("events applied")
    )
    print(
        f"events: {counts['events sent']} posted, {counts['events accepted']} accepted "
        f"(applied: {applied}; {counts['no-op resends']} no-op resends under a new webhook-id)"
    )
    print(
        f"  duplicates: {counts['replays answered']} replays answered the first answer "
        f"({counts['later replays sent']} resent later, {counts['concurrent copy groups']} "
        f"messages sent three at once)"
    )
    print(
        f"  out of order: {counts['out-of-order pairs']} pairs delivered second first, "
        f"{counts['out-of-order 409 (retried)']} 409s retried; resent: "
        f"{counts['busy 503 (resent)']} busy 503s, {counts['event answers lost (resent)']} "
        f"lost answers"
    )
    if counts["orders still open after the drain"]:
        print(f"  orders still open after the drain: {counts['orders still open after the drain']}")
    print(
        f"reads: {counts['statement reads']} statements, {counts['link reads']} links, "
        f"{counts['order reads']} orders"
    )


def _reconciliation(soak: Soak) -> None:
    for line in soak.reconciled:
        print(f"redirector reconcile: {line}")
    for period, totals in sorted(soak.settled.items()):
        print(
            f"statement {period} (ledger): {totals['orders']} orders, gmv {totals['gmv']}, "
            f"commission {totals['commission']} = network {totals['network']} + platform "
            f"{totals['platform']} + guide {totals['guide']}; ad rebate {totals['ad_rebate']}"
        )
    print()


def _verdict(failures: dict[str, list[str]]) -> bool:
    for check, problems in failures.items():
        print(f"{'PASS' if not problems else 'FAIL'}  {check}")
        for problem in problems[:PROBLEM_EXAMPLES]:
            print(f"      {problem}")
        if len(problems) > PROBLEM_EXAMPLES:
            print(f"      ... and {len(problems) - PROBLEM_EXAMPLES} more")
    ok = not any(failures.values())
    print("PASS" if ok else "FAIL")
    return ok
