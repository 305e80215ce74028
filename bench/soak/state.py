"""Everything the soak's threads share: the world it set up, the clicks it saw,
the orders of its ledger with the heap of their next steps, and its records."""

from __future__ import annotations

import argparse
import itertools
import random
import threading
from concurrent.futures import ThreadPoolExecutor

from .ledger import Order
from .recorder import Recorder
from .world import ClickSeen, Link, Setup

__all__ = ["Soak"]


class Soak:
    def __init__(self, base: str, redis_url: str, args: argparse.Namespace) -> None:
        self.base = base
        self.port = int(base.rsplit(":", 1)[1])
        self.redis_url = redis_url
        self.args = args
        self.rng = random.Random(args.seed)
        self.rec = Recorder()
        self.lock = threading.Lock()  # links' figures, clicks, devices
        self.world = Setup()
        self.clicks: list[ClickSeen] = []
        self.orders: list[Order] = []
        self.order_seq = itertools.count(1)
        # callbacks: a heap of (due, seq, order); one step per order in flight
        self.cond = threading.Condition()
        self.heap: list[tuple[float, int, Order]] = []
        self.heap_seq = itertools.count()
        self.in_flight = 0
        self.stop_clicks = threading.Event()
        self.draining = False
        self.abandon = False
        self.local = threading.local()
        self.copies = ThreadPoolExecutor(max_workers=6, thread_name_prefix="copy")
        # filled as it goes, for the report
        self.load_seconds = self.drain_seconds = self.verify_seconds = 0.0
        self.resolved = 0
        self.reconciled: list[str] = []
        self.settled: dict[str, dict[str, int]] = {}

    @property
    def links(self) -> list[Link]:
        return self.world.links

    def open_orders(self) -> int:
        with self.cond:
            return len(self.heap) + self.in_flight
