"""How the console writes figures: money from integer minor units, rates, times.

Pure functions (no Flask): the templates use them as filters.
"""

from __future__ import annotations

from datetime import datetime, tzinfo

SYMBOLS = {"CNY": "¥"}


def money(minor: int, currency: str = "CNY") -> str:
    """Integer minor units (fen) as ``¥1,234.56``; negative as ``-¥1,234.56``.

    Integer arithmetic only: no float ever touches an amount. Currencies other
    than CNY are written with their code (``USD 1,234.56``); every currency is
    taken to have two minor digits, as the service stores fen."""
    sign = "-" if minor < 0 else ""
    whole, cents = divmod(abs(int(minor)), 100)
    symbol = SYMBOLS.get(currency, f"{currency} ")
    return f"{sign}{symbol}{whole:,}.{cents:02d}"


def count(value: int) -> str:
    """A whole number with thousands separators: ``12,345``."""
    return f"{int(value):,}"


def percent_bps(bps: int) -> str:
    """Basis points as a percentage: 1500 -> ``15%``, 1250 -> ``12.5%``."""
    whole, rest = divmod(int(bps), 100)
    return f"{whole}%" if rest == 0 else f"{whole}.{rest:02d}".rstrip("0") + "%"


def local_time(ms: int | None, tz: tzinfo) -> str:
    """Epoch milliseconds as a local ``YYYY-MM-DD HH:MM:SS`` in the service's zone."""
    if ms is None:
        return "—"
    return datetime.fromtimestamp(ms / 1000, tz=tz).strftime("%Y-%m-%d %H:%M:%S")
