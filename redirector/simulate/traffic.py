"""The clicks of each hour, sent to the redirect as browsers and bots would.

Human clicks follow the diurnal curve and the day's factor, spread over the
links of live posts by weight (reach x virality x decay); a live stream draws
its audience at once, whatever the hour. Each click comes from a device of the
channel's audience (a returning one now and then, at most once an hour), which
sends back the ``rd_did`` cookie the service set. Bots (``BOT_SHARE`` of the
requests) fetch the same links. Every answer is checked against docs/rules.md
(app link for phones, web URL for desktops and bots): a departure is a
*finding*, not an error; the link's expected clicks, unique clicks (per
device and link, 24 h) and bot clicks move with what the service answered.
"""

from __future__ import annotations

import html
import random
import re
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import parse_qs, urlsplit

import requests

from .agents import CONTEXT_MIX, REFERRERS, BotRequest, bot_request, human_user_agent
from .books import Books
from .injections import Injections
from .network import address_for
from .shape import (
    BASE_CONVERSION,
    BOT_SHARE,
    DAY_MS,
    DIURNAL_SHARE,
    LIVE_CONVERSION,
    LIVE_HOURS_MEAN,
    LIVE_SHARE,
    MEAN_VIRALITY,
    PLACEMENT_CONVERSION,
    PLACEMENTS_BY_CHANNEL,
    POSTS_PER_DAY,
    RETURNING_SHARE,
    at,
    day_factors,
    poisson,
    weighted,
)
from .transport import Http
from .world import Click, Device, Link, World

__all__ = ["Traffic"]

Weighted = list[tuple[Link, float]]
# What a browser's navigation accepts (Chrome's): HTML first.
NAVIGATION_ACCEPT = (
    "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,"
    "image/apng,*/*;q=0.8"
)


class Traffic:
    """The audience: its devices, the hour's clicks, and what the redirect answered."""

    def __init__(
        self,
        world: World,
        books: Books,
        http: Http,
        rng: random.Random,
        pool: ThreadPoolExecutor,
        clicks_per_day: float,
        injections: Injections,
    ) -> None:
        self.injections = injections
        self.world = world
        self.books = books
        self.http = http
        self.rng = rng
        self.pool = pool
        self.clicks_per_day = clicks_per_day
        self.live_rate = 0.0
        self.devices: dict[str, list[Device]] = defaultdict(list)

    def calibrate_live(self) -> None:
        """Live hours a day, weighted by reach: turns ``LIVE_SHARE`` of the clicks
        into a rate per live hour of a creator of reach 1."""
        live_weight = sum(
            POSTS_PER_DAY[c.channel]
            * PLACEMENTS_BY_CHANNEL[c.channel].get("live", 0)
            * LIVE_HOURS_MEAN
            * c.reach
            * MEAN_VIRALITY
            for c in self.world.creators
        )
        self.live_rate = self.clicks_per_day * LIVE_SHARE / max(live_weight, 0.1)

    def hour(self, hour: int, tick: int) -> list[tuple[Click, bool]]:
        """Send the hour's clicks; answers the human clicks that will convert
        (and whether each came from a live stream)."""
        rng = self.rng
        local = at(tick)
        factor, conversion_factor = day_factors(local.date())
        active, live_links = self._weights(tick)
        per_hour = self.clicks_per_day * DIURNAL_SHARE[local.hour] * factor
        humans = self._humans(active, live_links, per_hour, factor)
        clicks: list[Click] = []
        conversions: list[tuple[Click, bool]] = []
        for link, live in humans:
            device = self.pick_device(rng, link.channel, hour)
            click = Click(link, device, tick, None)
            clicks.append(click)
            if live:
                p = BASE_CONVERSION * LIVE_CONVERSION * conversion_factor
            else:
                p = BASE_CONVERSION * PLACEMENT_CONVERSION[link.placement] * conversion_factor
            if rng.random() < p:
                conversions.append((click, live))
        n_bots = poisson(rng, len(humans) * BOT_SHARE / (1 - BOT_SHARE))
        if active and n_bots:
            picks = rng.choices([a[0] for a in active], weights=[a[1] for a in active], k=n_bots)
            clicks.extend(Click(link, None, tick, bot_request(rng)) for link in picks)
        injections = self.injections
        extra = injections.crowds(tick, self.world.posts)
        for crowd_click in extra:
            assert crowd_click.device is not None
            crowd_click.device.last_hour = hour
            self.devices[crowd_click.device.context].append(crowd_click.device)
        extra += injections.fraud(hour, tick, active, lambda: self.visitor(hour))
        clicks += extra
        conversions += [(c, c.kind == "crowd") for c in extra
                        if injections.converts(c, conversion_factor)]  # fmt: skip
        self.send_clicks(clicks)
        return conversions

    def visitor(self, hour: int) -> Device:
        """A visitor of a web page: a device seen before (not this hour), else a
        new desktop browser."""
        rng = self.injections.rng
        pool = self.devices["browser/desktop"] + self.devices["browser/android"]
        for _ in range(3 if pool and rng.random() < 0.7 else 0):
            device = rng.choice(pool)
            if device.last_hour != hour:
                device.last_hour = hour
                return device
        context = "browser/desktop"
        device = Device(context, human_user_agent(rng, context), address_for(rng, context),
                        last_hour=hour)  # fmt: skip
        self.devices[context].append(device)
        return device

    def _weights(self, tick: int) -> tuple[Weighted, Weighted]:
        """The links drawing clicks this hour, with their weights: (all, live streams)."""
        active: Weighted = []
        live_links: Weighted = []
        for post in self.world.posts:
            if post.live_until_ms > tick >= post.published_ms:
                w = post.creator.reach * post.virality / len(post.links)
                live_links.extend((link, w) for link in post.links)
            weight = post.weight(tick)
            if weight > 0.001:
                active.extend((link, weight / len(post.links)) for link in post.links)
        return active, live_links

    def _humans(
        self, active: Weighted, live_links: Weighted, per_hour: float, factor: float
    ) -> list[tuple[Link, bool]]:
        """The links humans click this hour: (link, during a live stream)."""
        rng = self.rng
        humans: list[tuple[Link, bool]] = []
        if active:
            n = poisson(rng, per_hour * (1 - LIVE_SHARE))
            picks = rng.choices([a[0] for a in active], weights=[a[1] for a in active], k=n)
            humans.extend((link, False) for link in picks)
        if live_links:
            # A stream draws its audience at once, whatever the hour.
            rate = self.live_rate * factor
            n = poisson(rng, rate * sum(w for _, w in live_links))
            picks = rng.choices([a[0] for a in live_links], weights=[a[1] for a in live_links], k=n)
            humans.extend((link, True) for link in picks)
        return humans

    def pick_device(self, rng: random.Random, channel: str, hour: int) -> Device:
        context = weighted(rng, CONTEXT_MIX[channel])
        pool = self.devices[context]
        if pool and rng.random() < RETURNING_SHARE:
            for _ in range(3):
                device = rng.choice(pool)
                if device.last_hour != hour:
                    device.last_hour = hour
                    return device
        device = Device(
            context, human_user_agent(rng, context), address_for(rng, context), last_hour=hour
        )
        pool.append(device)
        return device

    # -- sending and checking ----------------------------------------------------

    def send_clicks(self, clicks: list[Click]) -> None:
        if not clicks:
            return
        answers = list(self.pool.map(self.send_click, clicks))
        for click, answer in zip(clicks, answers, strict=True):
            self.record_click(click, answer)

    def send_click(self, click: Click) -> requests.Response:
        headers = {"Accept-Language": "zh-CN,zh;q=0.9"}
        method = "GET"
        if click.bot is not None:
            method = click.bot.method
            headers["User-Agent"] = click.bot.user_agent
            headers.update(click.bot.headers)
        else:
            assert click.device is not None
            headers["User-Agent"] = click.device.user_agent
            headers["Accept"] = NAVIGATION_ACCEPT
            app = click.device.context.partition("/")[0]
            if app in REFERRERS:
                headers["Referer"] = REFERRERS[app]
            if click.device.cookie:
                headers["Cookie"] = f"rd_did={click.device.cookie}"
            # Not a farm's: it drops the cookie it was given.
            click.new_device = click.device.cookie is None or click.kind == "farm"
        source = click.device.address if click.device is not None else None
        return self.http.request(
            method, click.link.url, source, headers=headers, allow_redirects=False
        )

    def record_click(self, click: Click, answer: requests.Response) -> None:
        link = click.link
        location = answer.headers.get("Location", "")
        if answer.status_code == 200 and click.bot is None:
            # A landing page (WeChat, QQ): the shopper goes on by its button.
            location = page_destination(answer.text) or ""
        elif answer.status_code != 302:
            self.books.error(f"click on {link.id} answered {answer.status_code}")
            return
        param = link.product.storefront.param
        query = parse_qs(urlsplit(location).query)
        if not query.get(param):
            self.books.error(f"redirect of {link.id} carries no {param}: {location}")
            return
        click.id = query[param][-1]
        if click.bot is not None:
            self._record_bot(link, click.bot, location)
            return
        assert click.device is not None
        self._record_human(click, click.device, location, answer.headers.get("Set-Cookie", ""))

    def _record_bot(self, link: Link, bot: BotRequest, location: str) -> None:
        spec = link.product.spec
        counts, findings = self.books.counts, self.books.findings
        link.bot_clicks += 1
        counts["bot_clicks"] += 1
        counts[f"bots_{bot.kind}"] += 1
        expected = spec.path  # rules.md: bots go to the web URL
        if not location.startswith(expected) and spec.app and location.startswith(spec.app):
            findings[
                "bots whose user agent names a phone (crawlers, HEAD, prefetch) were sent "
                "to the app deep link; docs/rules.md says bots go to the web URL"
            ] += 1
        elif not location.startswith(expected):
            findings[f"bot redirect to an unexpected place: {location}"] += 1

    def _record_human(self, click: Click, device: Device, location: str, set_cookie: str) -> None:
        link, spec = click.link, click.link.product.spec
        link.clicks += 1
        self.books.counts["clicks"] += 1
        mobile = not device.context.endswith("/desktop")
        expected = spec.app if mobile and spec.app else spec.path
        if not location.startswith(expected):
            self.books.findings[f"human redirect to an unexpected place ({device.context})"] += 1
        self.books.review.counted(click)
        cookie = re.search(r"rd_did=([^;]+)", set_cookie)
        if click.kind == "farm":
            cookie = None  # dropped: the next request comes as a new device
        if cookie:
            if device.cookie is not None:
                self.books.findings["a device's own rd_did cookie was replaced"] += 1
            device.cookie = cookie.group(1)
        elif device.cookie is None and click.kind != "farm":
            self.books.error(f"first click of a device on {link.id} set no rd_did cookie")
        last = device.unique_at.get(link.id)
        if last is None or click.at_ms - last >= DAY_MS:
            device.unique_at[link.id] = click.at_ms
            link.unique_clicks += 1
        device.clicks.append(click)


_DESTINATION = re.compile(r'<a [^>]*id="open-destination" href="([^"]*)"')


def page_destination(page: str) -> str | None:
    """Where a landing page's button goes (docs/landing.md), or None."""
    found = _DESTINATION.search(page)
    return html.unescape(found.group(1)) if found else None
