"""How many links a creator may make (``REDIRECTOR_LINK_CREATION_LIMIT``).

Rules:
- the limit is one or more rates in limits' notation, separated by ``;``
  (default ``60/minute;1000/day``);
- each rate counts a creator's links in fixed windows of its length, aligned on
  the epoch (a minute from :00, a day from 00:00 UTC), by the service's clock;
- a link that would take any window past its rate is refused (429), with the
  seconds until the last of the full windows ends; a refused link is not
  counted, so waiting is always enough;
- the counts are kept in the store (every worker shares them) and expire with
  their window.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

from limits import parse_many

from . import keys
from .errors import TooManyRequests
from .store import Script, StoreClient

__all__ = ["DEFAULT", "Rate", "rates", "retry_after", "spend", "window_of"]

DEFAULT = "60/minute;1000/day"


@dataclass(frozen=True, slots=True)
class Rate:
    amount: int
    seconds: int


@lru_cache(maxsize=16)
def rates(text: str) -> tuple[Rate, ...]:
    """The rates of a limit in limits' notation (``ValueError`` if it reads none)."""
    return tuple(Rate(item.amount, item.get_expiry()) for item in parse_many(text))


def window_of(rate: Rate, now_ms: int) -> int:
    """The window of ``rate`` that ``now_ms`` falls in, counted from the epoch."""
    return now_ms // (rate.seconds * 1000)


def retry_after(rate: Rate, now_ms: int) -> int:
    """Whole seconds until the window of ``rate`` holding ``now_ms`` ends (at least 1)."""
    ends_ms = (window_of(rate, now_ms) + 1) * rate.seconds * 1000
    return max(1, math.ceil((ends_ms - now_ms) / 1000))


# KEYS[n]: the creator's count in the current window of the n-th rate
#          (keys.links_made, all in the registry slot)
# ARGV[n]: the n-th rate's amount; ARGV[#KEYS + n]: its window, in seconds (the
#          count's expiry)
# Answers the positions of the full windows, nothing counted; or an empty list,
# the link counted in every window.
SPEND = Script(
    """
local full = {}
for i = 1, #KEYS do
  if tonumber(redis.call('GET', KEYS[i]) or '0') >= tonumber(ARGV[i]) then
    full[#full + 1] = i
  end
end
if #full > 0 then return full end
for i = 1, #KEYS do
  redis.call('INCR', KEYS[i])
  redis.call('EXPIRE', KEYS[i], ARGV[#KEYS + i])
end
return full
"""
)


def spend(r: StoreClient, creator_id: str, limit: tuple[Rate, ...], now_ms: int) -> None:
    """Count one link of ``creator_id`` against ``limit``, or refuse it (429)."""
    if not limit:
        return
    counts = [keys.links_made(creator_id, rate.seconds, window_of(rate, now_ms)) for rate in limit]
    args = [rate.amount for rate in limit] + [rate.seconds for rate in limit]
    full = [limit[int(i) - 1] for i in SPEND(r, counts, args)]
    if full:
        wait = max(retry_after(rate, now_ms) for rate in full)
        worst = max(full, key=lambda rate: rate.seconds)
        raise TooManyRequests(
            f"creator {creator_id!r} made {worst.amount} links in {worst.seconds} s, "
            f"the most allowed; retry in {wait} s",
            retry_after=wait,
        )
