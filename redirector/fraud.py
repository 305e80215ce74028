"""Click fraud: the thresholds that tell a flood of clicks from a crowd, and hold
instant conversions.

A click farm and a live stream's crowd both arrive as many phones with no
``rd_did`` cookie yet, behind few addresses (carrier-grade NAT puts thousands
of phones behind one). What tells them apart is that a crowd is many different
phones (device models, system and app versions, network types: its user
agents are diverse), while a farm replays a few device images. So the flood
rules are:

- **Per device**: on one link, more than ``max_clicks_per_device`` clicks
  from one device within a window of ``window_seconds``.
- **New devices per address and agent**: on one link, more than
  ``max_new_per_address_agent`` clicks from devices the service did not know
  before (no cookie it issued) with one address and one exact user agent, in a
  window. A device that brings back its cookie is judged per device only.
- **New devices per address**: more than ``max_new_per_address`` such clicks
  from one address in a window, whatever their agents: a backstop against a
  farm that rotates its user agents, set far above a crowd's share of one
  carrier address.

Counted by the click script (``clicks.CLICK``) per fixed window; the click over
a threshold, and every later one in that window, is flagged suspicious (it
still counts as a click). The new-device counts are kept
``counts_kept_seconds``, so an order on one of a flood's *first* clicks is
held too, when it is paid: the window's counts say then what the click did
not know yet.
- **Instant conversion**: an order paid less than ``min_seconds`` after the
  click it is attributed to.

An order attributed to a suspicious click, or converting instantly, is *held*
(``orders``): it keeps its lifecycle but settles only once an admin releases
it; a rejected order earns nothing.

Loaded once at start from ``config/fraud.toml`` (or the file named by
``REDIRECTOR_FRAUD``); with no file, the defaults below, equal to the shipped
file.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from .errors import ConfigError

FLOOD = "flood"
INSTANT_CONVERSION = "instant_conversion"
REASONS = (FLOOD, INSTANT_CONVERSION)

_SECTIONS: dict[str, tuple[str, ...]] = {
    "flood": (
        "window_seconds",
        "max_clicks_per_device",
        "max_new_per_address_agent",
        "max_new_per_address",
        "counts_kept_seconds",
    ),
    "instant_conversion": ("min_seconds",),
}


@dataclass(frozen=True, slots=True)
class FraudRules:
    window_seconds: int = 60
    max_clicks_per_device: int = 5
    max_new_per_address_agent: int = 20
    max_new_per_address: int = 300
    counts_kept_seconds: int = 172_800
    min_seconds: int = 10

    def to_json(self) -> dict[str, Any]:
        return {
            "flood": {
                "window_seconds": self.window_seconds,
                "max_clicks_per_device": self.max_clicks_per_device,
                "max_new_per_address_agent": self.max_new_per_address_agent,
                "max_new_per_address": self.max_new_per_address,
                "counts_kept_seconds": self.counts_kept_seconds,
            },
            "instant_conversion": {"min_seconds": self.min_seconds},
        }


class CrowdCounts(NamedTuple):
    """A new device's click window, as counted by the end: clicks of new devices
    from its address, and from its address with its user agent."""

    by_address: int
    by_address_agent: int


def over_crowd(rules: FraudRules, counts: CrowdCounts) -> bool:
    """Whether a window's new-device counts make its clicks a flood."""
    return (
        counts.by_address > rules.max_new_per_address
        or counts.by_address_agent > rules.max_new_per_address_agent
    )


def hold_reason(
    rules: FraudRules,
    *,
    suspicious: bool,
    click_ms: int,
    paid_ms: int,
    crowd: CrowdCounts | None = None,
) -> str | None:
    """Why an order paid at ``paid_ms`` on a click made at ``click_ms`` is held, or None.

    ``crowd``: the click's window counts read at payment (a new device's click
    only). A flood comes first: it says more about the click than its timing."""
    if suspicious or (crowd is not None and over_crowd(rules, crowd)):
        return FLOOD
    if paid_ms - click_ms < rules.min_seconds * 1000:
        return INSTANT_CONVERSION
    return None


def flood_bucket(now_ms: int, rules: FraudRules) -> int:
    """The fixed window a click made at ``now_ms`` is counted in."""
    return now_ms // (rules.window_seconds * 1000)


def load_fraud_rules(path: Path | None, setting: str = "REDIRECTOR_FRAUD") -> FraudRules:
    """Read thresholds from a TOML file; any mistake is a ConfigError naming the setting."""
    if path is None:
        return FraudRules()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{setting}={path}: cannot read ({exc.strerror})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{setting}={path}: not valid TOML ({exc})") from exc
    unknown = set(data) - set(_SECTIONS)
    if unknown:
        raise ConfigError(f"{setting}={path}: unknown table [{sorted(unknown)[0]}]")
    values: dict[str, int] = {}
    defaults = FraudRules()
    for section, names in _SECTIONS.items():
        raw = data.get(section, {})
        if not isinstance(raw, dict):
            raise ConfigError(f"{setting}={path}: {section} must be a table")
        unknown = set(raw) - set(names)
        if unknown:
            raise ConfigError(f"{setting}={path}: {section}: unknown field {sorted(unknown)[0]}")
        for name in names:
            value = raw.get(name, getattr(defaults, name))
            # min_seconds = 0 turns the instant-conversion hold off.
            least = 0 if name == "min_seconds" else 1
            if not isinstance(value, int) or isinstance(value, bool) or value < least:
                raise ConfigError(
                    f"{setting}={path}: {section}.{name} must be an integer of at least {least}"
                )
            values[name] = value
    if values["counts_kept_seconds"] < 2 * values["window_seconds"]:
        raise ConfigError(
            f"{setting}={path}: flood.counts_kept_seconds must be at least two windows"
        )
    return FraudRules(**values)
