"""The shape of the simulated traffic, and the calendar it follows.

Clicks follow a diurnal curve of the audience's zone (Asia/Shanghai: quiet
nights, a lunch bump, the evening peak of Chinese social apps), are busier on
weekends and triple on the shopping festivals (11.11, 12.12, 6.18), and fade
with a post's age; a share of them comes from live streams, which convert
more. Every figure that shapes the traffic is here; the draws that use them
take their ``random.Random`` from the caller (one stream per concern), so the
same seed makes the same run.
"""

from __future__ import annotations

import math
import random
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

__all__ = [
    "BASE_CONVERSION",
    "BOT_SHARE",
    "CANCEL_SHARE",
    "CHANNELS",
    "CROSS_STORE_SHARE",
    "DAY_MS",
    "DECAY_HOURS",
    "DIURNAL_SHARE",
    "HOUR_MS",
    "LIVE_CONVERSION",
    "LIVE_HOURS",
    "LIVE_HOURS_MEAN",
    "LIVE_SHARE",
    "LOCAL_TZ",
    "MEAN_VIRALITY",
    "ORGANIC_SHARE",
    "PLACEMENTS_BY_CHANNEL",
    "PLACEMENT_CONVERSION",
    "POSTING_HOURS",
    "POSTING_SHARE",
    "POSTS_PER_DAY",
    "POST_LIFETIME_HOURS",
    "REACH_SIGMA",
    "REFUND_SHARE",
    "REPLAY_SHARE",
    "RETURNING_SHARE",
    "STOREFRONT_WEIGHTS",
    "VIRALITY_SIGMA",
    "at",
    "clicks_per_day",
    "day_factors",
    "ms_of",
    "poisson",
    "weighted",
]

LOCAL_TZ = ZoneInfo("Asia/Shanghai")  # the audience's zone: the diurnal curve
HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS
CHANNELS = ("weibo", "douyin", "kuaishou")

# Relative click intensity per local hour (0-23): quiet nights, a lunch bump,
# the evening peak of Chinese social apps.
DIURNAL = (
    0.9, 0.5, 0.3, 0.2, 0.15, 0.2, 0.4, 0.8, 1.2, 1.4, 1.5, 1.6,
    1.9, 1.7, 1.4, 1.4, 1.5, 1.6, 1.8, 2.2, 2.6, 2.8, 2.5, 1.6,
)  # fmt: skip
DIURNAL_SHARE = tuple(x / sum(DIURNAL) for x in DIURNAL)
POSTING_SHARE = sum(DIURNAL_SHARE[8:])  # posts follow the curve, within the posting hours
WEEKEND_FACTOR = 1.15
FESTIVALS = {(11, 11), (12, 12), (6, 18)}  # shopping festivals: Double 11, Double 12, 618
FESTIVAL_TRAFFIC = 3.0
FESTIVAL_CONVERSION = 1.3

BASE_CONVERSION = 0.06  # human click -> order, before the placement's factor
# By placement; a live post's replay converts like a video, its stream far better.
PLACEMENT_CONVERSION = {"video": 1.0, "article": 0.9, "image": 0.7, "live": 1.0}
LIVE_CONVERSION = 3.0
# Mean conversion of a click over the mix of placements and live bursts on an
# ordinary day, to turn --orders-per-day into a click volume (measured).
MIX_CONVERSION = 0.082
LIVE_SHARE = 0.2  # of human clicks, made during live streams
REACH_SIGMA = 0.9  # creators' reach: lognormal, a few big ones
VIRALITY_SIGMA = 0.6  # posts' luck: lognormal
MEAN_VIRALITY = math.exp(VIRALITY_SIGMA**2 / 2)
ORGANIC_SHARE = 0.04  # of orders: bought with no click at all
CROSS_STORE_SHARE = 0.03  # of converting clicks: bought on another storefront
BOT_SHARE = 0.06  # of requests on the redirect (previews of new posts come on top)
RETURNING_SHARE = 0.3  # of human clicks: a device seen before
CANCEL_SHARE = 0.05
REFUND_SHARE = 0.08
REPLAY_SHARE = 0.01

PLACEMENTS_BY_CHANNEL = {
    "weibo": {"article": 0.3, "image": 0.3, "video": 0.3, "live": 0.1},
    "douyin": {"video": 0.7, "live": 0.3},
    "kuaishou": {"video": 0.6, "live": 0.4},
}
POSTS_PER_DAY = {"weibo": 0.6, "douyin": 0.45, "kuaishou": 0.45}
# How fast a post's traffic fades (hours, e-folding), by placement.
DECAY_HOURS = {"video": 20.0, "article": 40.0, "image": 12.0, "live": 8.0}
POST_LIFETIME_HOURS = 8 * 24
LIVE_HOURS = (2, 2, 3)  # how long a live stream lasts
LIVE_HOURS_MEAN = sum(LIVE_HOURS) / len(LIVE_HOURS)
POSTING_HOURS = range(8, 24)  # local hours creators publish in
STOREFRONT_WEIGHTS = {"taobao": 0.5, "youzan": 0.25, "moku": 0.25}


def poisson(rng: random.Random, lam: float) -> int:
    if lam <= 0:
        return 0
    if lam < 30:
        limit, k, p = math.exp(-lam), 0, 1.0
        while True:
            p *= rng.random()
            if p <= limit:
                return k
            k += 1
    return max(0, round(rng.gauss(lam, math.sqrt(lam))))


def day_factors(day: date) -> tuple[float, float]:
    """How much busier a day is than an ordinary weekday: (traffic, conversion)."""
    traffic = WEEKEND_FACTOR if day.weekday() >= 5 else 1.0
    if (day.month, day.day) in FESTIVALS:
        return traffic * FESTIVAL_TRAFFIC, FESTIVAL_CONVERSION
    return traffic, 1.0


def clicks_per_day(orders_per_day: float, first: date, days: int) -> float:
    """Human clicks on an ordinary day, so that the window averages
    ``orders_per_day`` orders (weekends and festivals bring more)."""
    mean_day = (
        sum(
            traffic * conversion
            for traffic, conversion in (day_factors(first + timedelta(days=d)) for d in range(days))
        )
        / days
    )
    return orders_per_day * (1 - ORGANIC_SHARE) / (MIX_CONVERSION * mean_day)


def weighted(rng: random.Random, weights: dict[str, float]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def ms_of(moment: datetime) -> int:
    return round(moment.timestamp() * 1000)


def at(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=LOCAL_TZ)
