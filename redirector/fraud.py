"""Click fraud: the thresholds that flag floods of clicks and hold instant conversions.

- **Flood**: on one link, more than ``max_clicks_per_ip`` clicks from one IP
  hash, or more than ``max_clicks_per_device`` from one device, within a
  window of ``window_seconds``. Counted by the click script (``clicks.CLICK``)
  per fixed window; the click over the threshold, and every later one in that
  window, is flagged suspicious. A suspicious click still counts as a click.
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
from typing import Any

from .errors import ConfigError

FLOOD = "flood"
INSTANT_CONVERSION = "instant_conversion"
REASONS = (FLOOD, INSTANT_CONVERSION)

_SECTIONS: dict[str, tuple[str, ...]] = {
    "flood": ("window_seconds", "max_clicks_per_ip", "max_clicks_per_device"),
    "instant_conversion": ("min_seconds",),
}


@dataclass(frozen=True, slots=True)
class FraudRules:
    window_seconds: int = 60
    max_clicks_per_ip: int = 20
    max_clicks_per_device: int = 5
    min_seconds: int = 10

    def to_json(self) -> dict[str, Any]:
        return {
            "flood": {
                "window_seconds": self.window_seconds,
                "max_clicks_per_ip": self.max_clicks_per_ip,
                "max_clicks_per_device": self.max_clicks_per_device,
            },
            "instant_conversion": {"min_seconds": self.min_seconds},
        }


def hold_reason(rules: FraudRules, *, suspicious: bool, click_ms: int, paid_ms: int) -> str | None:
    """Why an order paid at ``paid_ms`` on a click made at ``click_ms`` is held, or None.

    A flood flag comes first: it says more about the click than its timing."""
    if suspicious:
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
    return FraudRules(**values)
