"""The soak's run: the load (click, callback and read threads together for
``--minutes``), then the drain of the orders in flight, then the
reconciliation and the report (``main``)."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from contextlib import suppress
from pathlib import Path

from bench.redirect import private_spool
from tests.servers import redis_server

from .callbacks import callback_thread
from .clicks import click_thread
from .reads import read_thread
from .report import report
from .state import Soak
from .verify import verify
from .world import ADMIN, KEYS, serve, set_up

__all__ = ["main", "run"]


def run(soak: Soak) -> float:
    """The load, then the drain; answers the seconds latencies were measured."""
    args = soak.args
    seconds = args.minutes * 60
    warmup = min(5.0, seconds / 10)
    threads = [
        threading.Thread(target=click_thread, args=(soak, i), name=f"click-{i}")
        for i in range(args.click_threads)
    ]
    callbacks = [
        threading.Thread(target=callback_thread, args=(soak, i), name=f"callback-{i}")
        for i in range(args.callback_threads)
    ]
    reader = threading.Thread(target=read_thread, args=(soak,), name="reads")
    started = time.monotonic()
    for t in [*threads, *callbacks, reader]:
        t.start()
    # The workers compile the user-agent patterns on their first requests:
    # the first seconds count in the books, not in the latencies.
    soak.stop_clicks.wait(warmup)
    soak.rec.measuring = True
    measured = time.monotonic()
    soak.stop_clicks.wait(seconds - warmup)
    soak.stop_clicks.set()
    for t in [*threads, reader]:
        t.join()
    soak.rec.measuring = False
    soak.load_seconds = time.monotonic() - started
    measured_seconds = time.monotonic() - measured
    drain(soak, callbacks)
    soak.copies.shutdown()
    soak.drain_seconds = time.monotonic() - started - soak.load_seconds
    return measured_seconds


def drain(soak: Soak, callbacks: list[threading.Thread]) -> None:
    """Let the orders in flight finish, for at most ``--drain-seconds``; those
    still open then are abandoned and counted."""
    with soak.cond:
        soak.draining = True
        soak.cond.notify_all()
    drain_until = time.monotonic() + soak.args.drain_seconds
    for t in callbacks:
        t.join(max(0.0, drain_until - time.monotonic()))
    if any(t.is_alive() for t in callbacks):
        with soak.cond:
            soak.abandon = True
            left = len(soak.heap) + soak.in_flight
            soak.cond.notify_all()
        for t in callbacks:
            t.join()
        soak.rec.count("orders still open after the drain", left)


def parse_args(description: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=description)
    parser.add_argument("--minutes", type=float, default=3.0, help="load time (default 3)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers (default 3)")
    parser.add_argument("--click-threads", type=int, default=4)
    parser.add_argument("--callback-threads", type=int, default=4)
    parser.add_argument("--drain-seconds", type=float, default=60.0)
    args = parser.parse_args()
    if not 0 < args.minutes <= 60:
        parser.error("--minutes must be above 0 and at most 60")
    return args


def main(description: str = "") -> None:
    args = parse_args(description)
    with redis_server("--appendonly", "no") as redis_url:
        env = {
            "REDIS_URL": redis_url,
            "REDIRECTOR_ADMIN_TOKEN": ADMIN,
            "REDIRECTOR_SECRET_KEYS": KEYS,
            "REDIRECTOR_LOG_LEVEL": "warning",
            "REDIRECTOR_SPOOL_DIR": private_spool(),
            # The world makes its links in a burst: past the default creation limit.
            "REDIRECTOR_LINK_CREATION_LIMIT": "1000000/minute",
        }
        log_dir = tempfile.mkdtemp(prefix="redirector-soak-")
        log_path = Path(log_dir) / "service.log"
        with serve(env, args.workers, log_path) as base:
            soak = Soak(base, redis_url, args)
            soak.world = set_up(base, soak.rng)
            print(
                f"soak: {args.minutes:g} min on {base} (Redis {redis_url}), "
                f"{len(soak.links)} links, seed {args.seed}; service log {log_path}",
                flush=True,
            )
            measured_seconds = run(soak)
            failures = verify(soak, env, log_path)
        ok = report(soak, measured_seconds, failures)
    with suppress(OSError):
        if ok:
            log_path.unlink()
            os.rmdir(log_dir)
    sys.exit(0 if ok else 1)
