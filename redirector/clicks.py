"""Clicks: recorded in one round trip on the redirect, read back for attribution.

Per link the store keeps (all in the link's slot, written by ``CLICK``):
- ``stats``: ``clicks`` (human), ``unique_clicks``, ``bot_clicks`` (bots never
  count as clicks);
- ``daily``: the same counters per local day, for charts;
- raw click records, one hash per link and UTC day, expiring after the longest
  attribution window plus a day (``Settings.retention_seconds``);
- uniqueness: a human click is unique when its device has no unique click on
  the link in the preceding 24 hours (``UNIQUE_WINDOW_SECONDS``);
- floods (``fraud``): human clicks per IP hash and per device in the current
  fixed window; a click over a threshold is flagged suspicious (its record's
  flag gets an ``s``, ``suspicious_clicks`` counts it) and still counts as a click.

Per device, its recent human clicks (``keys.device_clicks``), so an order that
carries only a device id can be attributed to that device's last click.

A click id is ``<link id>.<UTC day>.<random>``: it names the record's key, so a
click is found without an index.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from . import keys
from .fraud import FraudRules, flood_bucket
from .ids import random_id
from .links import LINK_ID_LENGTH
from .store import Script, StoreClient, execute_with_scripts

DAY_MS = 86_400_000
TRIM_EVERY = 16
DEFAULT_FRAUD = FraudRules()
RECORD_SEPARATOR = "|"

# KEYS[1] link hash        KEYS[2] link stats        KEYS[3] link daily series
# KEYS[4] click records of today (UTC day)
# KEYS[5] unique marks of today                      KEYS[6] unique marks of yesterday
# KEYS[7] flood counts of the current window (``keys.link_flood``)
# ARGV[1] now (ms)         ARGV[2] the click id's random part (its field)
# ARGV[3] device id (raw)
# ARGV[4] the record's head: "<ms into the UTC day>|<device>|<ip hash>|<ua class>"
# ARGV[5] "1" if bot       ARGV[6] local date YYYY-MM-DD
# ARGV[7] record retention (s)                       ARGV[8] unique window (ms)
# ARGV[9] referrer host
# ARGV[10] "1" if replayed from a spool (``spool.py``): the click was answered
#          already, so it counts even if the link was disabled since
# ARGV[11] ip hash   ARGV[12] most human clicks per IP hash in a flood window
# ARGV[13] most per device   ARGV[14] the flood counts' lifetime (s): two windows
# Answers {404} for an unknown link, {410} for a disabled link or inactive
# product (never to a replay), else {302, web_url, app_url, click_param, unique,
# already, suspicious}. It reads the link and records the click in one step, so a disabled
# link stops on the next click. A click whose record exists already counts
# nothing and answers already = 1: a click id is recorded once, however often
# it is sent (a spooled click whose first attempt did reach Redis, a replay
# interrupted and run again).
CLICK = Script(
    """
local link = redis.call('HMGET', KEYS[1], 'active', 'product_active', 'web_url', 'app_url',
                        'click_param')
if not link[1] or not link[3] then return {404} end
if ARGV[10] ~= '1' and (link[1] ~= '1' or link[2] ~= '1') then return {410} end
if redis.call('HEXISTS', KEYS[4], ARGV[2]) == 1 then
  return {302, link[3], link[4], link[5], 0, 1}
end
local now = tonumber(ARGV[1])
local unique = 0
local suspicious = 0
if ARGV[5] == '1' then
  redis.call('HINCRBY', KEYS[2], 'bot_clicks', 1)
  redis.call('HINCRBY', KEYS[3], ARGV[6] .. ':bot_clicks', 1)
else
  redis.call('HINCRBY', KEYS[2], 'clicks', 1)
  redis.call('HINCRBY', KEYS[3], ARGV[6] .. ':clicks', 1)
  local last = tonumber(redis.call('HGET', KEYS[5], ARGV[3]) or '')
  local before = tonumber(redis.call('HGET', KEYS[6], ARGV[3]) or '')
  if before and (not last or before > last) then last = before end
  if not last or now - last >= tonumber(ARGV[8]) then
    unique = 1
    redis.call('HSET', KEYS[5], ARGV[3], ARGV[1])
    redis.call('EXPIRE', KEYS[5], 2 * 86400 + 3600)
    redis.call('HINCRBY', KEYS[2], 'unique_clicks', 1)
    redis.call('HINCRBY', KEYS[3], ARGV[6] .. ':unique_clicks', 1)
  end
  local by_ip = redis.call('HINCRBY', KEYS[7], 'ip:' .. ARGV[11], 1)
  local by_device = redis.call('HINCRBY', KEYS[7], 'dev:' .. ARGV[3], 1)
  redis.call('EXPIRE', KEYS[7], ARGV[14])
  if by_ip > tonumber(ARGV[12]) or by_device > tonumber(ARGV[13]) then
    suspicious = 1
    redis.call('HINCRBY', KEYS[2], 'suspicious_clicks', 1)
    redis.call('HINCRBY', KEYS[3], ARGV[6] .. ':suspicious_clicks', 1)
  end
end
local flag = 'h'
if ARGV[5] == '1' then flag = 'b' elseif unique == 1 then flag = 'u' end
if suspicious == 1 then flag = flag .. 's' end
redis.call('HSET', KEYS[4], ARGV[2], ARGV[4] .. '|' .. flag .. '|' .. ARGV[9])
redis.call('EXPIRE', KEYS[4], ARGV[7])
return {302, link[3], link[4], link[5], unique, 0, suspicious}
"""
)


@dataclass(frozen=True, slots=True)
class ClickOutcome:
    status: int  # 302, 404 or 410
    web_url: str = ""
    app_url: str = ""
    click_param: str = ""
    unique: bool = False
    already_recorded: bool = False  # the click id was recorded before: nothing counted
    suspicious: bool = False  # over a flood threshold (``fraud``)


@dataclass(frozen=True, slots=True)
class Click:
    id: str
    link_id: str
    at_ms: int
    device: str
    ip_hash: str
    user_agent: str
    bot: bool
    unique: bool
    referrer: str
    suspicious: bool = False  # part of a flood (``fraud``): its order is held


def new_click_id(link_id: str, now_ms: int) -> str:
    return f"{link_id}.{now_ms // DAY_MS}.{random_id(8)}"


def parse_click_id(click_id: str) -> tuple[str, int] | None:
    """(link id, UTC day) named by a click id, or None if it cannot be one of ours."""
    parts = click_id.split(".")
    if len(parts) != 3 or len(parts[0]) != LINK_ID_LENGTH or not parts[1].isdigit():
        return None
    if not parts[0].isalnum() or not parts[0].isascii() or len(parts[1]) > 7:
        return None
    return parts[0], int(parts[1])


def record_click(
    r: StoreClient,
    *,
    link_id: str,
    click_id: str,
    now_ms: int,
    device: str,
    ip_hash: str,
    user_agent: str,
    bot: bool,
    referrer: str,
    local_date: str,
    retention_seconds: int,
    unique_window_ms: int,
    replay: bool = False,
    fraud: FraudRules = DEFAULT_FRAUD,
) -> ClickOutcome:
    """Read the link and record the click in one round trip (one pipeline).

    ``replay``: the click comes from a spool, answered while the store was
    away; it keeps its own time and counts even if the link was disabled since.
    Recording a click id a second time counts nothing (``already_recorded``)."""

    def build(pipe: Any) -> None:
        _queue_click(
            pipe, link_id, click_id, now_ms, device, ip_hash, user_agent, bot, referrer,
            local_date, retention_seconds, unique_window_ms, replay, fraud,
        )  # fmt: skip

    return _outcome(execute_with_scripts(r, [CLICK], build)[0])


def replay_clicks(
    r: StoreClient,
    spooled: Sequence[Mapping[str, Any]],
    *,
    retention_seconds: int,
    unique_window_ms: int,
    fraud: FraudRules = DEFAULT_FRAUD,
) -> list[ClickOutcome]:
    """Record clicks answered while the store was away (``replay``), many in
    one round trip. Each mapping holds ``record_click``'s click fields.

    Uniqueness is judged against the device's marks as they are at replay: if
    the device clicked the link again, live, since, that later click took the
    unique mark, and the replayed one counts as a repeat (one unique click
    either way)."""
    positions: list[int] = []

    def build(pipe: Any) -> None:
        positions.clear()
        queued = 0
        for c in spooled:
            positions.append(queued)
            queued += _queue_click(
                pipe, c["link_id"], c["click_id"], int(c["now_ms"]), c["device"], c["ip_hash"],
                c["user_agent"], bool(c["bot"]), c["referrer"], c["local_date"],
                retention_seconds, unique_window_ms, True, fraud,
            )  # fmt: skip

    answers = execute_with_scripts(r, [CLICK], build)
    return [_outcome(answers[i]) for i in positions]


def _queue_click(
    pipe: Any,
    link_id: str,
    click_id: str,
    now_ms: int,
    device: str,
    ip_hash: str,
    user_agent: str,
    bot: bool,
    referrer: str,
    local_date: str,
    retention_seconds: int,
    unique_window_ms: int,
    replay: bool,
    fraud: FraudRules = DEFAULT_FRAUD,
) -> int:
    """Queue one click's script and device index; answers how many commands."""
    day = now_ms // DAY_MS
    # Compact, since a record is most of what a click costs in memory: the key
    # already names the link and the day, so the field is the id's random part
    # and the time is counted from the day's start.
    head = RECORD_SEPARATOR.join((str(now_ms - day * DAY_MS), device, ip_hash, user_agent))
    args = [
        now_ms,
        click_id.rsplit(".", 1)[1],
        device,
        head,
        "1" if bot else "0",
        local_date,
        retention_seconds,
        unique_window_ms,
        referrer,
        "1" if replay else "0",
        ip_hash,
        fraud.max_clicks_per_ip,
        fraud.max_clicks_per_device,
        2 * fraud.window_seconds,
    ]
    CLICK.queue(pipe, keys.click_keys(link_id, day, flood_bucket(now_ms, fraud)), args)
    if bot:
        return 1
    # Beside the script, not in it: the device's keys live in another slot. An
    # entry for a click the script refused (404/410) names no record and is
    # skipped when attributing; queued again for a click recorded before, it
    # changes nothing.
    dkey = keys.device_clicks(device)
    pipe.zadd(dkey, {click_id: now_ms})
    pipe.expire(dkey, retention_seconds)
    if secrets.randbelow(TRIM_EVERY) == 0:
        # Trimming on one click in TRIM_EVERY keeps a busy device's index
        # bounded without paying for it on every click.
        pipe.zremrangebyscore(dkey, "-inf", now_ms - retention_seconds * 1000)
        return 4
    return 3


def _outcome(answer: Any) -> ClickOutcome:
    status = int(answer[0])
    if status != 302:
        return ClickOutcome(status)
    return ClickOutcome(
        302,
        answer[1],
        answer[2] or "",
        answer[3],
        bool(int(answer[4])),
        int(answer[5]) == 1,
        len(answer) > 6 and int(answer[6]) == 1,
    )


def get_click(r: StoreClient, click_id: str) -> Click | None:
    """The recorded click, or None (unknown, malformed or expired)."""
    named = parse_click_id(click_id)
    if named is None:
        return None
    link_id, day = named
    raw = r.hget(keys.link_clicks(link_id, day), click_id.rsplit(".", 1)[1])
    if raw is None:
        return None
    into_day, device, ip_hash, user_agent, flag, referrer = raw.split(RECORD_SEPARATOR, 5)
    return Click(
        id=click_id,
        link_id=link_id,
        at_ms=day * DAY_MS + int(into_day),
        device=device,
        ip_hash=ip_hash,
        user_agent=user_agent,
        bot=flag[:1] == "b",
        unique=flag[:1] == "u",
        referrer=referrer,
        suspicious=flag[1:2] == "s",
    )


def device_click_ids(r: StoreClient, device: str, since_ms: int, until_ms: int) -> list[str]:
    """The device's recorded human click ids in [since, until], newest first."""
    return r.zrevrangebyscore(keys.device_clicks(device), until_ms, since_ms)
