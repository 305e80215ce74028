"""Deliveries: an event on its way to one endpoint, its attempts and its log.

Each endpoint has a queue of deliveries, in the order their events were
recorded, and sends its head only (head-of-line): a later event waits until
the one before it is delivered or has finally failed, so a receiver sees one
endpoint's events in order even across retries. The price is that one
event the receiver keeps refusing holds the others back, for the whole retry
schedule at most (about 28 hours); then it is marked ``failed``, leaves the
queue, and the next one goes.

A delivery's id is its event's id, the ``webhook-id`` of every attempt. Its
record (JSON, ``keys.postback_deliveries``) keeps the message and every
attempt; the log (``keys.postback_log``) lists the endpoint's deliveries,
newest first, keeping the last ``LOG_LIMIT`` (a delivery still waiting is
never dropped).

The retry schedule (``next_attempt``): after a failed attempt (a status
other than 2xx, a timeout, a refused connection or address) the next one is
due ``RETRY_DELAYS`` later by the service's clock (the mock clock included);
after the last one the delivery is ``failed``. An admin or the endpoint's
owner may send a failed delivery again (``retry_by_hand``): it goes back to
the front of the queue (it is older than anything waiting) with the whole
schedule ahead of it again.

The scripts touch one endpoint's keys only (``keys.postback_keys``, one slot);
a delivery's outcome is recorded only by the holder of the endpoint's lease.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from .. import keys
from ..errors import Conflict, NotFound
from ..store import Script, ScriptCall, StoreClient
from .events import Event
from .sender import Answer

__all__ = [
    "DELIVERED",
    "FAILED",
    "LOG_LIMIT",
    "PENDING",
    "RETRY_DELAYS",
    "Delivery",
    "Head",
    "enqueue",
    "enqueue_call",
    "finish",
    "get_delivery",
    "head",
    "log",
    "next_attempt",
    "reschedule",
    "retry_by_hand",
]

PENDING = "pending"
DELIVERED = "delivered"
FAILED = "failed"
# Seconds to wait after the 1st, 2nd... failed attempt: 8 attempts in all,
# spread over about 28 hours.
RETRY_DELAYS = (5, 5 * 60, 30 * 60, 2 * 3600, 5 * 3600, 10 * 3600, 10 * 3600)
LOG_LIMIT = 1000
MAX_ATTEMPTS_KEPT = 50

# KEYS[1] endpoint   KEYS[2] queue   KEYS[3] deliveries   KEYS[4] log
# ARGV[1] delivery id   ARGV[2] its record   ARGV[3] now (ms)   ARGV[4] the log's limit
# Answers "ok" once queued, "dup" when it was before, "gone" when the endpoint is.
ENQUEUE = Script(
    """
if redis.call('EXISTS', KEYS[1]) == 0 then return 'gone' end
if redis.call('HEXISTS', KEYS[3], ARGV[1]) == 1 then return 'dup' end
local position = redis.call('HINCRBY', KEYS[1], 'positions', 1)
redis.call('HSET', KEYS[3], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[4], position, ARGV[1])
if redis.call('RPUSH', KEYS[2], ARGV[1]) == 1 then
  redis.call('HSET', KEYS[1], 'next_at', ARGV[3])
end
local excess = redis.call('ZCARD', KEYS[4]) - tonumber(ARGV[4])
if excess > 0 then
  for _, old in ipairs(redis.call('ZRANGE', KEYS[4], 0, excess - 1)) do
    if not redis.call('LPOS', KEYS[2], old) then
      redis.call('ZREM', KEYS[4], old)
      redis.call('HDEL', KEYS[3], old)
    end
  end
end
return 'ok'
"""
)

# KEYS[1] endpoint   KEYS[2] queue   KEYS[3] deliveries   KEYS[4] log   KEYS[5] lease
# ARGV[1] lease token   ARGV[2] how long it is renewed for (ms)
# Renews the lease and reads what the next attempt needs, in one round trip.
# Answers {"lost"} when the lease is not the holder's, {"idle"} when nothing is
# queued, else {"head", the head's record, the endpoint's fields and values...}.
HEAD = Script(
    """
if redis.call('GET', KEYS[5]) ~= ARGV[1] then return {'lost'} end
redis.call('PEXPIRE', KEYS[5], ARGV[2])
local head = redis.call('LINDEX', KEYS[2], 0)
if not head then return {'idle'} end
local record = redis.call('HGET', KEYS[3], head)
if not record then return {'idle'} end
local answer = {'head', record}
for _, v in ipairs(redis.call('HGETALL', KEYS[1])) do answer[#answer + 1] = v end
return answer
"""
)

# KEYS[1] endpoint   KEYS[2] queue   KEYS[3] deliveries   KEYS[4] log   KEYS[5] lease
# ARGV[1] lease token   ARGV[2] delivery id   ARGV[3] its record after the attempt
# ARGV[4] "retry" (it stays at the head) or "done" (delivered or failed: it leaves)
# ARGV[5] when it is due again ("retry")   ARGV[6] now (ms)
# Answers "ok", or "lost" (the lease is not ours), "gone" (no endpoint), "moved"
# (the delivery is no longer queued): then nothing is written.
FINISH = Script(
    """
if redis.call('GET', KEYS[5]) ~= ARGV[1] then return 'lost' end
if redis.call('EXISTS', KEYS[1]) == 0 then return 'gone' end
if not redis.call('LPOS', KEYS[2], ARGV[2]) then return 'moved' end
redis.call('HSET', KEYS[3], ARGV[2], ARGV[3])
if ARGV[4] == 'retry' then
  local due = ARGV[5]
  if redis.call('LINDEX', KEYS[2], 0) ~= ARGV[2] then due = ARGV[6] end
  redis.call('HSET', KEYS[1], 'next_at', due)
else
  redis.call('LREM', KEYS[2], 1, ARGV[2])
  if redis.call('LLEN', KEYS[2]) > 0 then
    redis.call('HSET', KEYS[1], 'next_at', ARGV[6])
  else
    redis.call('HSET', KEYS[1], 'next_at', '')
  end
end
return 'ok'
"""
)

# KEYS[1] endpoint   KEYS[5] lease (KEYS as FINISH's)
# ARGV[1] lease token   ARGV[2] when the head is due (ms). Answers 1 once set.
RESCHEDULE = Script(
    """
if redis.call('GET', KEYS[5]) ~= ARGV[1] then return 0 end
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'next_at', ARGV[2])
return 1
"""
)

# KEYS[1] endpoint   KEYS[2] queue   KEYS[3] deliveries
# ARGV[1] delivery id   ARGV[2] its record as read   ARGV[3] its record, pending again
# ARGV[4] now (ms). Answers "ok", "gone", or "changed" (the record moved meanwhile).
RETRY_BY_HAND = Script(
    """
if redis.call('EXISTS', KEYS[1]) == 0 then return 'gone' end
if redis.call('HGET', KEYS[3], ARGV[1]) ~= ARGV[2] then return 'changed' end
redis.call('HSET', KEYS[3], ARGV[1], ARGV[3])
redis.call('LPUSH', KEYS[2], ARGV[1])
redis.call('HSET', KEYS[1], 'next_at', ARGV[4])
return 'ok'
"""
)


@dataclass(frozen=True, slots=True)
class Delivery:
    """One event on its way to one endpoint."""

    id: str  # the event's id: the webhook-id
    type: str
    body: str
    state: str
    created_at: int
    next_at: int | None  # when the next attempt is due (pending only)
    attempts: tuple[dict[str, Any], ...] = ()
    round: int = 0  # attempts since it was queued, or last sent again by hand
    delivered_at: int | None = None
    failed_at: int | None = None
    position: int | None = field(default=None, compare=False)  # in the log, when read from it

    @classmethod
    def of(cls, event: Event, now_ms: int) -> Delivery:
        return cls(event.id, event.type, event.body, PENDING, now_ms, now_ms)

    def to_record(self) -> str:
        return json.dumps(
            {
                "id": self.id,
                "type": self.type,
                "body": self.body,
                "state": self.state,
                "created_at": self.created_at,
                "next_at": self.next_at,
                "attempts": list(self.attempts),
                "round": self.round,
                "delivered_at": self.delivered_at,
                "failed_at": self.failed_at,
            },
            ensure_ascii=False,
            separators=(",", ":"),
        )

    @classmethod
    def from_record(cls, record: str, position: int | None = None) -> Delivery:
        doc = json.loads(record)
        return cls(
            id=doc["id"],
            type=doc["type"],
            body=doc["body"],
            state=doc["state"],
            created_at=doc["created_at"],
            next_at=doc["next_at"],
            attempts=tuple(doc["attempts"]),
            round=doc["round"],
            delivered_at=doc["delivered_at"],
            failed_at=doc["failed_at"],
            position=position,
        )

    def to_json(self) -> dict[str, Any]:
        """The delivery as the API's log shows it."""
        return {
            "id": self.id,
            "webhook_id": self.id,
            "event_type": self.type,
            "state": self.state,
            "created_at": self.created_at,
            "attempt_count": len(self.attempts),
            "next_attempt_at": self.next_at if self.state == PENDING else None,
            "delivered_at": self.delivered_at,
            "failed_at": self.failed_at,
            "attempts": [dict(a) for a in self.attempts],
            "payload": json.loads(self.body),
        }


def next_attempt(delivery: Delivery, answer: Answer, at_ms: int) -> Delivery:
    """The delivery after one attempt made at ``at_ms``: delivered, due again
    on the schedule, or failed after its last attempt. Pure."""
    attempt = {
        "attempted_at": at_ms,
        "status_code": answer.status,
        "error": answer.error,
        "response": answer.excerpt,
        "duration_ms": answer.duration_ms,
    }
    attempts = (*delivery.attempts, attempt)[-MAX_ATTEMPTS_KEPT:]
    done = replace(delivery, attempts=attempts, round=delivery.round + 1)
    if answer.delivered:
        return replace(done, state=DELIVERED, next_at=None, delivered_at=at_ms)
    if delivery.round < len(RETRY_DELAYS):
        return replace(done, next_at=at_ms + RETRY_DELAYS[delivery.round] * 1000)
    return replace(done, state=FAILED, next_at=None, failed_at=at_ms)


def enqueue_call(endpoint_id: str, event: Event, record: str, now_ms: int) -> ScriptCall:
    """The call that queues ``event`` (its record made by ``Delivery.of``) for
    the endpoint, once; it answers "ok", "dup" or "gone" (``run_scripts``)."""
    return ENQUEUE, keys.postback_keys(endpoint_id)[:4], [event.id, record, now_ms, LOG_LIMIT]


def enqueue(r: StoreClient, endpoint_id: str, event: Event, now_ms: int) -> str:
    """Queue the event for the endpoint, once: "ok", "dup" or "gone"."""
    script, keys_, args = enqueue_call(
        endpoint_id, event, Delivery.of(event, now_ms).to_record(), now_ms
    )
    return str(script(r, keys_, args))


def finish(r: StoreClient, endpoint_id: str, token: str, after: Delivery, now_ms: int) -> str:
    """Record an attempt's outcome, if the lease (``token``) is still ours."""
    outcome = "retry" if after.state == PENDING else "done"
    return str(
        FINISH(
            r,
            keys.postback_keys(endpoint_id),
            [token, after.id, after.to_record(), outcome, after.next_at or now_ms, now_ms],
        )
    )


@dataclass(frozen=True, slots=True)
class Head:
    """What the lease holder reads before an attempt: the endpoint's fields and
    the delivery at the head of its queue."""

    endpoint: dict[str, str]
    delivery: Delivery


def head(r: StoreClient, endpoint_id: str, token: str, ttl_ms: int) -> Head | str:
    """Renew the lease and read the head: a ``Head``, or "lost" or "idle"."""
    answer = HEAD(r, keys.postback_keys(endpoint_id), [token, ttl_ms])
    if answer[0] != "head":
        return str(answer[0])
    fields = answer[2:]
    endpoint = dict(zip(fields[::2], fields[1::2], strict=True))
    return Head(endpoint, Delivery.from_record(answer[1]))


def reschedule(r: StoreClient, endpoint_id: str, token: str, due_ms: int) -> bool:
    """The endpoint is next due at ``due_ms`` (its head's time), if the lease is ours."""
    return bool(RESCHEDULE(r, keys.postback_keys(endpoint_id), [token, due_ms]))


def get_delivery(r: StoreClient, endpoint_id: str, delivery_id: str) -> Delivery:
    record = r.hget(keys.postback_deliveries(endpoint_id), delivery_id)
    if record is None:
        raise NotFound(f"no delivery {delivery_id!r} for this endpoint")
    return Delivery.from_record(record)


def retry_by_hand(r: StoreClient, endpoint_id: str, delivery_id: str, now_ms: int) -> Delivery:
    """Send a failed delivery again, first, with the whole schedule ahead; 409
    unless it is failed."""
    for _ in range(10):
        record = r.hget(keys.postback_deliveries(endpoint_id), delivery_id)
        if record is None:
            raise NotFound(f"no delivery {delivery_id!r} for this endpoint")
        delivery = Delivery.from_record(record)
        if delivery.state != FAILED:
            raise Conflict(
                f"delivery {delivery_id!r} is {delivery.state}: only a failed one is sent again",
                state=delivery.state,
            )
        again = replace(delivery, state=PENDING, next_at=now_ms, round=0, failed_at=None)
        answer = RETRY_BY_HAND(
            r,
            keys.postback_keys(endpoint_id)[:3],
            [delivery_id, record, again.to_record(), now_ms],
        )
        if answer == "ok":
            return again
        if answer == "gone":
            raise NotFound(f"no delivery {delivery_id!r} for this endpoint")
    raise Conflict(f"delivery {delivery_id!r} keeps changing; try again")


def log(
    r: StoreClient, endpoint_id: str, limit: int, before: int | None = None
) -> tuple[list[Delivery], int | None]:
    """The endpoint's deliveries, newest first, ``limit`` of them from before the
    log position ``before``; answers them and the cursor of the next page."""
    top: float | str = f"({before}" if before is not None else "+inf"
    found: Sequence[tuple[str, float]] = r.zrevrangebyscore(
        keys.postback_log(endpoint_id), top, "-inf", start=0, num=limit, withscores=True
    )
    if not found:
        return [], None
    records: Mapping[str, str | None] = dict(
        zip(
            [i for i, _ in found],
            r.hmget(keys.postback_deliveries(endpoint_id), [i for i, _ in found]),
            strict=True,
        )
    )
    out = [
        Delivery.from_record(record, int(score))
        for (i, score) in found
        if (record := records[i]) is not None
    ]
    last = int(found[-1][1])
    return out, (last if len(found) == limit and last > 1 else None)
