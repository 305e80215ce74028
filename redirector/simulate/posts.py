"""What creators publish: posts, one tracking link per product in each.

Each creator posts a few times a week within the posting hours, following the
diurnal curve; everyone's first post comes on the first morning. A post goes
on the creator's own channel (mostly) as a video, article, image or live
stream, with one to five products, and its links are made with the creator's
own API key. The channel's crawler and a link preview or two fetch a new
post's links at once.
"""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor

from .agents import bot_request
from .shape import (
    DIURNAL_SHARE,
    HOUR_MS,
    LIVE_HOURS,
    PLACEMENTS_BY_CHANNEL,
    POSTING_HOURS,
    POSTING_SHARE,
    POSTS_PER_DAY,
    STOREFRONT_WEIGHTS,
    VIRALITY_SIGMA,
    at,
    weighted,
)
from .transport import Http
from .world import Click, Creator, Link, Post, Product, World

__all__ = ["Publisher"]


class Publisher:
    """Publishes the posts of each hour and makes their links on the service."""

    def __init__(
        self, world: World, http: Http, rng: random.Random, pool: ThreadPoolExecutor
    ) -> None:
        self.world = world
        self.http = http
        self.rng = rng
        self.pool = pool

    def publish(self, hour: int, tick: int) -> list[Click]:
        """The posts of this hour, their links made; answers the bots' first
        fetches of those links, to be sent."""
        made = self._new_posts(hour, tick)
        if not made:
            return []
        jobs = [(post, product) for post in made for product in post.products]
        answers = list(self.pool.map(lambda job: self.make_link(*job), jobs))
        for (post, product), (link_id, token) in zip(jobs, answers, strict=True):
            link = Link(
                link_id,
                f"{self.http.base}/r/{token}",
                post.creator,
                product,
                post.channel,
                post.placement,
                tick,
            )
            self.world.links[link_id] = link
            post.links.append(link)
        self.world.posts.extend(made)
        # The channel's crawler and a preview or two fetch a new post's links.
        bots = []
        for post in made:
            for link in post.links:
                for _ in range(self.rng.choice((0, 1, 1, 2))):
                    bots.append(Click(link, None, tick, bot_request(self.rng)))
        return bots

    def _new_posts(self, hour: int, tick: int) -> list[Post]:
        rng = self.rng
        local_hour = at(tick).hour
        made: list[Post] = []
        for creator in self.world.creators:
            if hour < 24:
                first = hour == (sum(map(ord, creator.id)) % 10)
                if first and not any(p.creator is creator for p in self.world.posts):
                    made.append(self.new_post(creator, tick))
                    continue
            chance = POSTS_PER_DAY[creator.channel] * DIURNAL_SHARE[local_hour] / POSTING_SHARE
            if local_hour in POSTING_HOURS and rng.random() < chance:
                made.append(self.new_post(creator, tick))
        return made

    def new_post(self, creator: Creator, tick: int) -> Post:
        rng = self.rng
        channel = creator.channel if rng.random() < 0.8 else rng.choice(self.world.channels)
        placement = weighted(rng, PLACEMENTS_BY_CHANNEL[channel])
        count = rng.choice((3, 4, 5)) if placement == "live" else rng.choice((1, 1, 1, 2, 3))
        storefronts = self.world.storefronts
        by_store = [storefronts[weighted(rng, STOREFRONT_WEIGHTS)] for _ in range(count)]
        products: list[Product] = []
        for storefront in by_store:
            choices = [p for p in self.world.products if p.storefront is storefront]
            product = rng.choice(choices)
            if product not in products:
                products.append(product)
        post = Post(
            creator, channel, placement, products, tick, rng.lognormvariate(0, VIRALITY_SIGMA)
        )
        if placement == "live":
            post.live_until_ms = tick + rng.choice(LIVE_HOURS) * HOUR_MS
        return post

    def make_link(self, post: Post, product: Product) -> tuple[str, str]:
        body = {
            "product_id": product.id,
            "channel": post.channel,
            "post_id": f"{post.channel}-{post.published_ms // 1000}-{post.creator.id[-12:]}",
            "placement": post.placement,
        }
        _, answer = self.http.api("POST", "/api/v1/links", body, token=post.creator.api_key)
        return answer["id"], answer["token"]
