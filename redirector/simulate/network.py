"""Where the simulated devices connect from: carrier-grade NAT, home lines, and
the click farm's proxies.

Mobile carriers put many phones behind a small pool of public addresses
(carrier-grade NAT), so a live stream's crowd reaches the service from a few
addresses. On Linux the whole of 127.0.0.0/8 is loopback, so the simulator
binds each request's source address to one of 127.<n>.x.y and a service on
loopback with default settings (no trusted proxy) sees them as distinct
clients, as it would see carriers' addresses: no proxy header is involved. A
service elsewhere, or another system, gets every request from the machine's
own address, and the run says so (a finding).

- phones on mobile data: one of ``NAT_POOL`` addresses of their carrier
  (``127.1x.0.y``), drawn per device; phones on Wi-Fi and desktops: a home
  line of their own (``127.1xx.y.z``);
- the click farm: its few proxies (``127.250.0.y``).
"""

from __future__ import annotations

import ipaddress
import random
import sys
from urllib.parse import urlsplit

__all__ = [
    "CARRIERS",
    "FARM_ADDRESSES",
    "NAT_POOL",
    "address_for",
    "carrier_address",
    "home_address",
    "loopback_binding",
]

# China Mobile, China Unicom, China Telecom: their shares of mobile data.
CARRIERS = (0.6, 0.25, 0.15)
NAT_POOL = 4  # public addresses per carrier the audience's phones share
MOBILE_DATA_SHARE = 0.8  # of phones: on mobile data rather than Wi-Fi
FARM_ADDRESSES = ("127.250.0.1", "127.250.0.2")


def carrier_address(rng: random.Random) -> str:
    carrier = rng.choices(range(len(CARRIERS)), weights=CARRIERS)[0]
    return f"127.{10 + carrier}.0.{1 + rng.randrange(NAT_POOL)}"


def home_address(rng: random.Random) -> str:
    return f"127.{100 + rng.randrange(100)}.{rng.randrange(256)}.{1 + rng.randrange(254)}"


def address_for(rng: random.Random, context: str, on_mobile_data: float = MOBILE_DATA_SHARE) -> str:
    """A device's address: a carrier's NAT pool for a phone on mobile data, else a home line."""
    mobile = not context.endswith("/desktop")
    if mobile and rng.random() < on_mobile_data:
        return carrier_address(rng)
    return home_address(rng)


def loopback_binding(base_url: str) -> bool:
    """Whether requests to ``base_url`` can come from any 127.x.y.z: the service
    is on loopback, and this is Linux (where all of 127.0.0.0/8 is local)."""
    host = urlsplit(base_url).hostname or ""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False  # a name (even localhost) may resolve to IPv6 first
    return address.version == 4 and address.is_loopback and sys.platform.startswith("linux")
