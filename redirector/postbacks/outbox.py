"""The outbox: events recorded in the same atomic step as the change they announce.

The outbox is a list in the ``{money}`` slot (``keys.outbox``), beside
everything an order event or a period's closing writes, so the script that
makes a change appends its events too: a crash can lose neither without the
other. Each entry is ``<money sequence> <entry JSON>``: the sequence the
change was written at (two events of one change share it) and the event
(``Event.to_json``). The dispatcher (``dispatch``) fans entries out to the
endpoints' queues, oldest first, and only then removes them.

How a write records its events, one call each:
- a script taking ``APPLY``'s operations (``orders.writes``): ``stage(ops, events)``
  adds one ``rpush`` operation per event (``APPLY`` puts the sequence in front);
- a script of its own (``closing.CLOSE``, ``payouts.MARK_PAID``): pass ``keys.outbox()`` among its
  KEYS and ``entries(events)`` as its last ARGV, and after its ``INCR`` of the
  money sequence run ``APPEND_LUA`` (which pushes ARGV[first..] with it);
- a MULTI/EXEC transaction on ``{money}`` keys: ``queue(pipe, events)`` adds a
  command that increments the sequence and appends them, applied with the
  transaction or not at all.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from .. import keys
from ..store import StorePipeline
from .events import Event

__all__ = ["APPEND_LUA", "OpList", "OutboxEntry", "entries", "parse", "queue", "stage"]


class OpList(Protocol):
    """An ``APPLY`` operation list (``orders.writes._Ops``)."""

    def add(self, op: str, key: str, name: Any = "", value: Any = "") -> None: ...


# Lua, for a script of its own: ``seq`` holds the money sequence it wrote at,
# ``outbox`` the key of the outbox, ``first`` the ARGV index of the first entry.
APPEND_LUA = """
for i = first, #ARGV do redis.call('RPUSH', outbox, seq .. ' ' .. ARGV[i]) end
"""

# KEYS[1] the money sequence   KEYS[2] the outbox
# ARGV[1..] entries (``entries``). Answers the sequence they were recorded at.
_APPEND = (
    "local seq = redis.call('INCR', KEYS[1]) local outbox, first = KEYS[2], 1"
    + APPEND_LUA
    + "return seq"
)


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    """One line of the outbox, as read back: the raw line (removed by value),
    the money sequence of the change, and the event."""

    line: str
    sequence: int
    event: Event


def entries(events: Iterable[Event]) -> list[str]:
    """The events as the outbox holds them (without the sequence)."""
    return [json.dumps(e.to_json(), ensure_ascii=False, separators=(",", ":")) for e in events]


def stage(ops: OpList, events: Iterable[Event]) -> None:
    """Append the events to an ``APPLY`` operation list: they are recorded with
    the change, or not at all."""
    for entry in entries(events):
        ops.add("rpush", keys.outbox(), "", entry)


def queue(pipe: StorePipeline, events: Sequence[Event]) -> None:
    """Queue the events in a MULTI transaction on ``{money}`` keys (after
    ``pipe.multi()``): the money sequence moves and they are appended when the
    transaction applies. The script's source goes with it (EVAL, not EVALSHA):
    a NOSCRIPT inside MULTI would fail this one command and apply the rest."""
    if events:
        pipe.execute_command(
            "EVAL", _APPEND, 2, keys.money_sequence(), keys.outbox(), *entries(events)
        )


def parse(line: str) -> OutboxEntry:
    sequence, _, body = line.partition(" ")
    return OutboxEntry(line, int(sequence), Event.from_json(json.loads(body)))
