"""Postbacks: signed events sent to the endpoints creators and admins register.

- ``events``: the event types, who receives each, the message (pure);
- ``outbox``: events recorded in the same atomic step as their change, and
  the one call each kind of write uses to record them;
- ``endpoints``: registering, listing, removing, rotating secrets; routes;
- ``guard``: the private-address rule, at registration and before every attempt;
- ``dispatcher``: the outbox fanned out to the endpoints' queues, once each;
- ``deliveries``: per-endpoint queues (head-of-line), the retry schedule, the log;
- ``sender``: one signed POST (Standard Webhooks), 10 s at most;
- ``lease``: one holder at a time, across processes and hosts;
- ``worker``: the loop that dispatches and sends (``serve``'s thread, ``worker``).

The contract: docs/postbacks.md. (``webhooks`` is the other direction: the
storefronts' signed callbacks to us.)
"""

from __future__ import annotations

from .deliveries import (
    DELIVERED,
    FAILED,
    PENDING,
    RETRY_DELAYS,
    Delivery,
    get_delivery,
    log,
    retry_by_hand,
)
from .dispatcher import dispatch
from .endpoints import (
    ENDPOINT_ID_PATTERN,
    Endpoint,
    NewEndpoint,
    delete,
    get,
    list_endpoints,
    register,
    rotate_secret,
)
from .events import EVENT_TYPES, Event, new_event_id
from .outbox import entries, queue, stage
from .worker import Worker, deliver, due_endpoints, run_until_idle

__all__ = [
    "DELIVERED",
    "ENDPOINT_ID_PATTERN",
    "EVENT_TYPES",
    "FAILED",
    "PENDING",
    "RETRY_DELAYS",
    "Delivery",
    "Endpoint",
    "Event",
    "NewEndpoint",
    "Worker",
    "delete",
    "deliver",
    "dispatch",
    "due_endpoints",
    "entries",
    "get",
    "get_delivery",
    "list_endpoints",
    "log",
    "new_event_id",
    "queue",
    "register",
    "retry_by_hand",
    "rotate_secret",
    "run_until_idle",
    "stage",
]
