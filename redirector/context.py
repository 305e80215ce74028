"""What the domain works with, made once per process: the settings, the store
client, the clock and the signers.

Domain functions that read or write the store take a ``Context``; pure rules
take only the values they decide on. Nothing here holds state another worker
needs: that all lives in the store. The web layer keeps the process's context
on the Flask app (``extension``); the CLI and the benchmarks build their own.
"""

from __future__ import annotations

from dataclasses import dataclass

from .clock import Clock
from .config import Settings
from .devices import DeviceIds
from .links import LinkSigner
from .store import StoreClient

__all__ = ["Context"]


@dataclass(frozen=True, slots=True)
class Context:
    settings: Settings
    store: StoreClient
    clock: Clock
    link_signer: LinkSigner
    devices: DeviceIds
