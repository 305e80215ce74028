"""Live-stream crowds, and the click fraud the run injects: what the review must
tell apart.

- **Crowds** (legitimate): when a live stream begins, now and then its link is
  hit at once by a crowd of first-time phones (``CROWD_MEDIAN`` of them, heavy
  tailed): the channel's in-app browsers, no ``rd_did`` cookie yet, most on
  mobile data behind their carrier's few NAT addresses (``network``). They
  buy as a crowd does: a few, minutes later.
- **A click farm** on one link, for ``FARM_HOURS`` hours: scripted phones that
  drop their cookie on every request, replaying ``FARM_AGENTS`` device images
  from the farm's two proxies, ``FARM_CLICKS_PER_HOUR`` clicks an hour; a few
  clicks end in a scripted order, 20 s to 3 min later (beyond the instant
  rule, to pass for a person).
- **Instant conversions**: now and then a phone clicks a link and its order is
  paid 2-8 s later: a bot's checkout, or a creator buying through its own link.
- **Cookie stuffing**: a page embeds one link as an image for ``EMBED_HOURS``
  hours; its visitors' browsers fetch it (``Sec-Fetch-Dest: image``, or from
  old browsers no Sec-Fetch and an image ``Accept``), sending their cookie if
  they have one. Some visitors later buy on that storefront on their own; the
  stuffing claims those orders for the link.

Every injected order carries its kind as ground truth (``books.Order.fraud``).
All draws come from one stream of the seed (``{seed}:fraud``).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable

from .agents import CONTEXT_MIX, BotRequest, human_user_agent
from .network import FARM_ADDRESSES, address_for, carrier_address
from .shape import BASE_CONVERSION, HOUR_MS, poisson, weighted
from .world import Click, Device, Link, Post

__all__ = ["CROWD_MEDIAN", "Injections"]

CROWD_CHANCE = 0.25  # of live streams as they begin: a crowd comes at once
CROWD_MEDIAN = 300  # phones in a crowd (lognormal)
CROWD_SIGMA = 0.6
CROWD_MAX = 2000
CROWD_ON_MOBILE_DATA = 0.9
CROWD_CONVERSION = 0.7 * BASE_CONVERSION  # most of a crowd watches and leaves
FARM_HOURS = 4
FARM_CLICKS_PER_HOUR = 240
FARM_AGENTS = 3
FARM_CONVERSION = 0.05
INSTANT_PER_DAY = 1.5
EMBED_HOURS = 12
EMBED_VISITS_PER_HOUR = 40
EMBED_PURCHASE = 0.12  # of visitors: buy on the stuffed link's storefront within a day
EMBED_REFERER = "https://deals-daily.example/today"

Weighted = list[tuple[Link, float]]


def _start(rng: random.Random, window_hours: int, length: int) -> int:
    """An hour to begin an injection at: after the first third of the window
    (posts are out by then), early enough to run its course within it."""
    first = min(24, window_hours // 3)
    last = max(first + 1, window_hours - length)
    return rng.randrange(first, last)


class Injections:
    """The hour's crowds and injected fraud: clicks to send, and which convert."""

    def __init__(self, rng: random.Random, window_hours: int) -> None:
        self.rng = rng
        self.farm_start = _start(rng, window_hours, FARM_HOURS)
        self.embed_start = _start(rng, window_hours, EMBED_HOURS)
        android = [human_user_agent(rng, "browser/android") for _ in range(FARM_AGENTS)]
        self.farm_agents = android
        self.farm_link: Link | None = None
        self.embed_link: Link | None = None
        self.stuffed: list[Click] = []  # the stuffing's fetches (their ids, once answered)

    def crowds(self, tick: int, posts: list[Post]) -> list[Click]:
        """Crowds on the live streams that began in the hour before ``tick``."""
        rng = self.rng
        clicks: list[Click] = []
        for post in posts:
            if not (post.live_until_ms > tick and tick - HOUR_MS < post.published_ms <= tick):
                continue
            if rng.random() >= CROWD_CHANCE:
                continue
            link = rng.choice(post.links)
            size = min(CROWD_MAX, int(rng.lognormvariate(math.log(CROWD_MEDIAN), CROWD_SIGMA)))
            mobile = {c: w for c, w in CONTEXT_MIX[link.channel].items() if "desktop" not in c}
            for _ in range(size):
                context = weighted(rng, mobile)
                address = address_for(rng, context, CROWD_ON_MOBILE_DATA)
                device = Device(context, human_user_agent(rng, context), address)
                clicks.append(Click(link, device, tick, None, kind="crowd"))
        return clicks

    def converts(self, click: Click, conversion_factor: float) -> bool:
        """Whether an injected or crowd click leads to an order."""
        if click.kind == "crowd":
            return self.rng.random() < CROWD_CONVERSION * conversion_factor
        if click.kind == "farm":
            return self.rng.random() < FARM_CONVERSION
        if click.kind == "embed":
            return self.rng.random() < EMBED_PURCHASE
        return click.kind == "instant"

    def fraud(
        self, hour: int, tick: int, active: Weighted, visitor: Callable[[], Device]
    ) -> list[Click]:
        """The hour's farm, instant and stuffing clicks (none before links exist)."""
        if not active:
            return []
        rng = self.rng
        links, weights = [a[0] for a in active], [a[1] for a in active]
        clicks: list[Click] = []
        if self.farm_start <= hour < self.farm_start + FARM_HOURS:
            link = self.farm_link = self.farm_link or rng.choices(links, weights)[0]
            for _ in range(poisson(rng, FARM_CLICKS_PER_HOUR)):
                # A new cookie-less phone each time, from one of few images.
                device = Device(
                    "browser/android", rng.choice(self.farm_agents), rng.choice(FARM_ADDRESSES)
                )
                clicks.append(Click(link, device, tick, None, kind="farm"))
        if rng.random() < INSTANT_PER_DAY / 24:
            context = rng.choice(("douyin/android", "douyin/ios", "browser/android"))
            device = Device(context, human_user_agent(rng, context), carrier_address(rng))
            clicks.append(Click(rng.choices(links, weights)[0], device, tick, None, kind="instant"))
        if self.embed_start <= hour < self.embed_start + EMBED_HOURS:
            link = self.embed_link = self.embed_link or rng.choices(links, weights)[0]
            for _ in range(poisson(rng, EMBED_VISITS_PER_HOUR)):
                clicks.append(self._embed_fetch(link, visitor(), tick))
        return clicks

    def _embed_fetch(self, link: Link, device: Device, tick: int) -> Click:
        """A visitor's browser fetching the stuffed link for an ``<img>``."""
        headers: list[tuple[str, str]] = [("Referer", EMBED_REFERER)]
        if self.rng.random() < 0.6:  # a browser with Fetch Metadata
            headers += [
                ("Sec-Fetch-Dest", "image"),
                ("Sec-Fetch-Mode", "no-cors"),
                ("Sec-Fetch-Site", "cross-site"),
                ("Accept", "image/avif,image/webp,image/apng,image/*,*/*;q=0.8"),
            ]
        else:  # too old for it: only its Accept tells
            headers.append(("Accept", "image/webp,image/*,*/*;q=0.8"))
        if device.cookie:
            headers.append(("Cookie", f"rd_did={device.cookie}"))
        bot = BotRequest("image", "GET", device.user_agent, tuple(headers))
        click = Click(link, device, tick, bot, kind="embed")
        self.stuffed.append(click)
        return click
