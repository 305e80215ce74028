"""The holds the books predict: what the service's click-fraud rules count,
counted from what the simulator sent and the service answered.

The rules are ``redirector.fraud``'s, at the thresholds the service ships with
(a service started with its default settings). Per link and flood window, the
clicks of new devices (sent with no ``rd_did`` cookie) per source address, and
per address and exact user agent. An attributed order is predicted held when
its click is a new device's in a window over either threshold (``flood``),
else when it was paid less than ``min_seconds`` after its click
(``instant_conversion``). The per-device rule is not modelled: a simulated
device clicks once an hour at most, so it never floods on its own.
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import TYPE_CHECKING

from ..devices import agent_hash
from ..fraud import FLOOD, INSTANT_CONVERSION, FraudRules

if TYPE_CHECKING:
    from .world import Click

__all__ = ["SHARED", "Review"]

SHARED = "shared"  # the address every request comes from when sources cannot be bound


class Review:
    """The new-device counts per flood window, and the holds they predict."""

    def __init__(self, rules: FraudRules | None = None) -> None:
        self.rules = rules or FraudRules()
        self.lock = threading.Lock()
        self.by_address: Counter[tuple[str, int, str]] = Counter()
        self.by_agent: Counter[tuple[str, int, str, str]] = Counter()
        self.shared_address = False  # every request from one address (``network``)

    def window(self, at_ms: int) -> int:
        return at_ms // (self.rules.window_seconds * 1000)

    def address(self, click: Click) -> str:
        device = click.device
        if self.shared_address or device is None or device.address is None:
            return SHARED
        return device.address

    def counted(self, click: Click) -> None:
        """A human click the service recorded (answered with a click id)."""
        if not click.new_device or click.device is None:
            return
        key = (click.link.id, self.window(click.at_ms), self.address(click))
        with self.lock:
            self.by_address[key] += 1
            self.by_agent[(*key, agent_hash(click.device.user_agent[:1024]))] += 1

    def hold_of(self, click: Click, paid_ms: int) -> str | None:
        """The hold an order paid at ``paid_ms`` on ``click`` gets, or None."""
        rules = self.rules
        if click.new_device and click.device is not None:
            key = (click.link.id, self.window(click.at_ms), self.address(click))
            agent = agent_hash(click.device.user_agent[:1024])
            if (
                self.by_address[key] > rules.max_new_per_address
                or self.by_agent[(*key, agent)] > rules.max_new_per_address_agent
            ):
                return FLOOD
        if paid_ms - click.at_ms < rules.min_seconds * 1000:
            return INSTANT_CONVERSION
        return None
