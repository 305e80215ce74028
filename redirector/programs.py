"""Commission programs: per channel, the three-way shares, the attribution
window and the holding days. Loaded once at start from ``config/programs.toml``
(or the file named by ``REDIRECTOR_PROGRAMS``); with no file, every
channel gets the defaults of docs/domain.md, Programs.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import ConfigError
from .money import DEFAULT_SHARES, Shares

CHANNELS = ("weibo", "douyin", "kuaishou")
DEFAULT_WINDOW_DAYS = 15
DEFAULT_HOLDING_DAYS = 0
_FIELDS = ("network_bps", "platform_bps", "guide_bps", "window_days", "holding_days")


@dataclass(frozen=True, slots=True)
class Program:
    channel: str
    shares: Shares
    window_days: int = DEFAULT_WINDOW_DAYS
    holding_days: int = DEFAULT_HOLDING_DAYS

    def to_json(self) -> dict[str, Any]:
        return {
            "channel": self.channel,
            "network_bps": self.shares.network,
            "platform_bps": self.shares.platform,
            "guide_bps": self.shares.guide,
            "window_days": self.window_days,
            "holding_days": self.holding_days,
        }


def default_programs() -> dict[str, Program]:
    return {channel: Program(channel, DEFAULT_SHARES) for channel in CHANNELS}


def load_programs(path: Path | None, setting: str = "REDIRECTOR_PROGRAMS") -> dict[str, Program]:
    """Read programs from a TOML file; any mistake is a ConfigError naming the file and field."""
    if path is None:
        return default_programs()
    table = _read_programs_table(path, setting)
    return {
        channel: _program(channel, raw, f"{setting}={path}: programs.{channel}")
        for channel, raw in table.items()
    }


def _read_programs_table(path: Path, setting: str) -> dict[str, Any]:
    """The file's ``[programs]`` table, which must hold at least one channel."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{setting}={path}: cannot read ({exc.strerror})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{setting}={path}: not valid TOML ({exc})") from exc
    table = data.get("programs")
    if not isinstance(table, dict) or not table:
        raise ConfigError(f"{setting}={path}: no [programs.<channel>] tables")
    return table


def _program(channel: str, raw: Any, where: str) -> Program:
    """One ``[programs.<channel>]`` table; ``where`` names it in errors."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{where} must be a table")
    unknown = set(raw) - set(_FIELDS)
    if unknown:
        raise ConfigError(f"{where}: unknown field {sorted(unknown)[0]}")
    values = {field: _field_value(raw, field, where) for field in _FIELDS}
    if values["window_days"] < 1:
        raise ConfigError(f"{where}.window_days must be at least 1")
    try:
        shares = Shares(values["network_bps"], values["platform_bps"], values["guide_bps"])
    except ValueError as exc:
        raise ConfigError(f"{where}: {exc}") from exc
    return Program(channel, shares, values["window_days"], values["holding_days"])


def _field_value(raw: dict[str, Any], field: str, where: str) -> int:
    """A field's non-negative integer; the window and holding days have defaults."""
    value = raw.get(field)
    if value is None and field in ("window_days", "holding_days"):
        value = DEFAULT_WINDOW_DAYS if field == "window_days" else DEFAULT_HOLDING_DAYS
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ConfigError(f"{where}.{field} must be a non-negative integer")
    return value
