"""The run: the service's mock clock moved hour by hour through the window, then
through the lifecycle of the window's orders.

``--days`` bounds the *traffic*: posts, clicks and the orders they lead to.
After the window the clock keeps moving (only the hours where something
happens) until the last confirmation, cancellation and refund is delivered, so
every order lands and the comparison covers all of them. Each new month
closes the periods that ended (``--close``) and records every agency's ad
spend for it. At the end the clock is set past the last event, and far enough
that every settled period can be read.

Every random draw comes from ``--seed``, one stream per concern (world, posts,
traffic, orders), and no draw depends on the service's answers.
"""

from __future__ import annotations

import random
import re
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from ..periods import Period
from .books import Books
from .compare import compare_links, compare_payouts, compare_statements, summary_rows
from .hooks import Hooks
from .injections import Injections
from .options import Options, SimulationError, SimulationResult
from .orders import Orders
from .posts import Publisher
from .review import compare_review, read_reviews, review_table
from .shape import DAY_MS, HOUR_MS, LOCAL_TZ, at, clicks_per_day, ms_of
from .traffic import Traffic
from .transport import Http
from .world import World, build_world, read_programs, read_timezone

__all__ = ["Simulation"]

SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


def _check_options(options: Options) -> None:
    run_id = options.effective_run_id
    if not SLUG.match(run_id) or len(run_id) > 24:
        raise SimulationError(
            f"--run-id {run_id!r} must be a lower-case slug of at most 24 characters"
        )
    if options.days < 1 or options.creators < 1 or options.orders_per_day <= 0:
        raise SimulationError("--days, --creators and --orders-per-day must be positive")


class Simulation:
    def __init__(self, options: Options, base_url: str, admin_token: str) -> None:
        _check_options(options)
        self.o = options
        self.run_id = options.effective_run_id
        self.http = Http(base_url, admin_token)
        seed = options.seed
        self.rng_world = random.Random(f"{seed}:world")
        self.start_date = options.effective_start
        self.start_ms = ms_of(datetime.combine(self.start_date, datetime.min.time(), LOCAL_TZ))
        self.window_hours = options.days * 24
        self.now_ms = self.start_ms
        self.pool = ThreadPoolExecutor(max(1, options.concurrency))
        self.world = World(self.run_id)
        self.books = Books(self.world)
        self.hooks = self.books.hooks = Hooks()
        self.publisher = Publisher(self.world, self.http, random.Random(f"{seed}:posts"), self.pool)
        per_day = clicks_per_day(options.orders_per_day, self.start_date, options.days)
        self.traffic = Traffic(
            self.world,
            self.books,
            self.http,
            random.Random(f"{seed}:traffic"),
            self.pool,
            per_day,
            Injections(random.Random(f"{seed}:fraud"), self.window_hours),
        )
        self.orders = Orders(
            self.world,
            self.books,
            random.Random(f"{seed}:orders"),
            self.pool,
            self.start_ms,
            self.http,
        )
        # Requests come from the devices' own addresses only where the service
        # can see them (``network``); else the books count one address for all.
        self.books.review.shared_address = not self.http.binds_sources

    @property
    def counts(self) -> Counter[str]:
        return self.books.counts

    # -- set-up ------------------------------------------------------------------

    def check_service(self) -> None:
        answer = self.http.request("GET", self.http.base + "/api/v1/clock", headers=self.http.admin)
        if answer.status_code == 404:
            raise SimulationError(
                f"the service at {self.http.base} runs on the real clock: start it with "
                "REDIRECTOR_CLOCK=mock (the simulator moves the clock through the month)"
            )
        if answer.status_code in (401, 403):
            raise SimulationError(
                "the admin token was refused: pass --admin-token or set REDIRECTOR_ADMIN_TOKEN"
            )
        if answer.status_code != 200:
            raise SimulationError(f"GET /api/v1/clock answered {answer.status_code}")

    def set_clock(self, now_ms: int) -> None:
        self.now_ms = now_ms
        self.http.api("PUT", "/api/v1/clock", {"now": at(now_ms).isoformat()})

    def setup(self) -> None:
        self.check_service()
        self.hooks.start(self.http)
        self.set_clock(self.start_ms)
        read_programs(self.world, self.http)
        read_timezone(self.world, self.http, self.start_ms)
        build_world(self.world, self.http, self.rng_world, self.o.creators, self.clock)
        self.read_min_payout()
        self.traffic.calibrate_live()

    def read_min_payout(self) -> None:
        """The service's minimum payout, as any account's balance tells it."""
        account_id = self.world.creators[0].account.split(":", 1)[1]
        _, doc = self.http.api("GET", f"/api/v1/accounts/{account_id}/balance")
        self.books.min_payout = int(doc["min_payout"])

    def clock(self) -> datetime:
        """The simulated now, which dates the storefronts' events."""
        return at(self.now_ms)

    # -- the clock loop ----------------------------------------------------------

    def run(self, progress: Callable[[str, int, int], None]) -> None:
        """Hour by hour: the window's traffic, then the lifecycle of its orders.
        ``progress(phase, done, total)`` is told the hours done."""
        hour = 0
        while True:
            tick = self.start_ms + hour * HOUR_MS
            in_window = hour < self.window_hours
            if not in_window and not self.orders.queue:
                break
            self.play_hour(hour, tick, in_window)
            hour += 1
            if in_window:
                progress("traffic", hour, self.window_hours)
            else:
                last = -(-(self.orders.last_event_ms - self.start_ms) // HOUR_MS) + 1
                progress("lifecycle", hour - self.window_hours, last - self.window_hours)
        self.set_clock(self._final_ms(self.start_ms + hour * HOUR_MS))

    def play_hour(self, hour: int, tick: int, in_window: bool) -> None:
        """An hour's order events, then (a new month) the closing and ad spend,
        then (in the window) its posts, clicks and the orders they lead to."""
        period = self.books.period
        month_turns = hour == 0 or str(period(tick)) != str(period(tick - HOUR_MS))
        if not (in_window or self.orders.due(tick) or month_turns):
            return
        self.set_clock(tick)
        self.orders.deliver_due(tick)
        if month_turns:
            self.turn_month(tick)
        if in_window:
            self.traffic.send_clicks(self.publisher.publish(hour, tick))
            conversions = self.traffic.hour(hour, tick)
            self.orders.plan_hour(conversions, tick, self.o.orders_per_day)

    def _final_ms(self, final: int) -> int:
        """Past the last event, and far enough that every settled period can be read."""
        books = self.books
        latest = max((Period.parse(p) for p in books.periods_seen), default=books.period(final))
        if latest > books.period(final).next():
            return ms_of(latest.previous().start(self.world.tz))
        return final

    def turn_month(self, tick: int) -> None:
        """A new month: close the ones that ended, record this one's ad spend."""
        books = self.books
        period = books.period(tick)
        if self.o.close_periods:
            for name in sorted(books.periods_seen - books.closed):
                if Period.parse(name) < period:
                    self.close(name)
        books.periods_seen.add(str(period))
        _, doc = self.http.api("GET", f"/api/v1/settlements/{period}")
        if doc["status"] == "closed":  # closed before this run, by someone else
            books.closed.add(str(period))
            return
        self.record_ad_spend(period)

    def record_ad_spend(self, period: Period) -> None:
        # Spend near the platform share the agency is likely to earn: some
        # accounts get all of it back, others part of it.
        days_here = sum(
            1
            for d in range(self.o.days)
            if str(self.books.period(self.start_ms + d * DAY_MS + 12 * HOUR_MS)) == str(period)
        )
        days_here = max(days_here, 5)
        products = self.world.products
        mean_commission = sum(p.spec.price * p.spec.rate_bps // 10_000 for p in products) / len(
            products
        )
        creators = self.world.creators
        total_reach = sum(c.reach for c in creators)
        for agency in self.world.agencies:
            share = sum(c.reach for c in creators if c.agency == agency) / total_reach
            platform = self.o.orders_per_day * days_here * mean_commission * 0.3 * share
            amount = int(platform * self.rng_world.uniform(0.3, 1.4)) // 100 * 100
            self.http.api("PUT", f"/api/v1/ad-spend/{period}/{agency}", {"amount": amount})
            self.books.ad_spend[(str(period), f"agency:{agency}")] = amount

    def close(self, name: str) -> None:
        status, doc = self.http.api("POST", f"/api/v1/settlements/{name}/close", ok=(200, 409))
        if status == 409 and "already closed" not in str(doc):
            raise SimulationError(f"closing {name} was refused: {doc}")
        if status == 200:
            self.hooks.expect_statement(name)
        self.books.closed.add(name)
        if status == 200:  # this run's close: it made the payouts
            self.books.close_period(name)
            for period, account, amount in self.books.payouts:
                if period == name and account in self.books.accounts():
                    self.hooks.expect_payout(period, account, amount)

    # -- the comparison ----------------------------------------------------------

    def periods_to_read(self) -> list[str]:
        """Every month the clock went through, and any period an order settled in."""
        period = self.books.period(self.start_ms)
        last = max(
            [self.books.period(self.now_ms), *(Period.parse(p) for p in self.books.periods_seen)]
        )
        periods = []
        while period <= last:
            periods.append(str(period))
            period = period.next()
        return periods

    def compare(self, started: float) -> SimulationResult:
        links = compare_links(self.http, self.world)
        periods = self.periods_to_read()
        statements = compare_statements(self.http, self.books, periods)
        paid = compare_payouts(self.http, self.books)
        books = self.books
        shown = read_reviews(self.http, self.orders.orders, self.pool)
        review_rows, review_mismatches = compare_review(self.orders.orders, shown)
        held = {order_id for order_id, (status, _) in shown.items() if status is not None}
        earned = {order_id: commission for order_id, (_, commission) in shown.items()}
        stuffed = self.traffic.injections.stuffed
        table, figures = review_table(self.orders.orders, held, earned, stuffed)
        more = books.counts["errors"] - len(books.errors)
        self.hooks.finish(self.http)
        hook_rows, hook_mismatches, hook_findings = self.hooks.compare()
        return SimulationResult(
            base_url=self.http.base,
            run_id=self.run_id,
            start=self.start_date,
            days=self.o.days,
            rows=[
                *summary_rows(links, statements, books.counts, self.orders.orders, paid),
                *review_rows,
                *hook_rows,
            ],
            mismatches=[
                *links.mismatches,
                *statements.mismatches,
                *paid.mismatches,
                *review_mismatches,
                *hook_mismatches,
            ],
            findings=[
                *(f"{text}: {n}" for text, n in sorted(books.findings.items())),
                *(
                    []
                    if self.http.binds_sources
                    else [
                        "every request came from one address (the service is not on "
                        "loopback, or this is not Linux): carrier NAT is not modelled"
                    ]
                ),
                *hook_findings,
            ],
            errors=[*books.errors, *([f"... and {more} more"] if more > 0 else [])],
            periods=periods,
            seconds=time.monotonic() - started,
            requests=self.http.count,
            final_clock=at(self.now_ms),
            seed=self.o.seed,
            review=table,
            review_figures=figures,
        )
