"""Clicks: recorded in one round trip on the redirect, read back for attribution.

Per link the store keeps (all in the link's slot, written by ``CLICK``):
- ``stats``: ``clicks`` (human), ``unique_clicks``, ``bot_clicks`` (bots never
  count as clicks);
- ``daily``: the same counters per local day, for charts;
- raw click records, in hashes per link, UTC day and bucket of about
  ``BUCKET_ENTRIES`` clicks (``RecordBuckets``), expiring after the longest
  attribution window plus a day (``Settings.retention_seconds``);
- uniqueness: a human click is unique when its device has no unique click on
  the link in the preceding 24 hours (``UNIQUE_WINDOW_SECONDS``);
- floods (``fraud``): human clicks per device in the current fixed window, and
  clicks of new devices per IP hash and per IP hash and user agent (kept
  longer, for the hold at payment); a click over a threshold is flagged
  suspicious (its record's flag gets an ``s``, ``suspicious_clicks`` counts
  it) and still counts as a click. A new device's record carries ``n`` and its
  agent hash in its flag, so the hold can find its counts.

Per device and UTC day, its human clicks (``keys.device_clicks``, shared by
the devices whose ids start alike), so an order that carries only a device id
can be attributed to that device's last click.

A click id is ``<link id>.<UTC day>.<bucket>.<random>``: it names the record's
key and field, so a click is found without an index.

A click travels as ``ClickFacts`` (what the redirect learned), recorded under a
``ClickPolicy`` (what is the same for every click, made once at start).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from . import keys
from .config import UNIQUE_WINDOW_SECONDS, Settings
from .fraud import FraudRules, flood_bucket
from .ids import random_id
from .links import LINK_ID_LENGTH
from .store import Script, ScriptCall, StoreClient, run_scripts

DAY_MS = 86_400_000
# A records bucket is full at this many entries: well below the 512 at which
# Redis leaves a hash's compact listpack encoding by default (so late writers
# still fit), and short, since every write to a listpack scans it.
BUCKET_ENTRIES = 96
RANDOM_LENGTH = 8  # base-62 characters of a click id's random part
# A device's index keeps its newest clicks of a day, up to this many.
DEVICE_CLICKS_PER_DAY = 16
DEFAULT_FRAUD = FraudRules()
RECORD_SEPARATOR = "|"

__all__ = [
    "BUCKET_ENTRIES",
    "CLICK",
    "DAY_MS",
    "DEVICE_CLICK",
    "DEVICE_CLICKS_PER_DAY",
    "Click",
    "ClickFacts",
    "ClickName",
    "ClickOutcome",
    "ClickPolicy",
    "RecordBuckets",
    "click_commands",
    "clicks_of_day",
    "device_click_ids",
    "device_entry",
    "get_click",
    "get_clicks",
    "new_click_id",
    "parse_click_id",
    "record_click",
    "replay_clicks",
]


class ClickFacts(NamedTuple):
    """A click as the redirect learned it: everything ``record_click`` records.

    A NamedTuple, not a frozen dataclass: one is made per click, and a tuple is
    made in one step where a frozen dataclass sets each field in turn."""

    link_id: str
    click_id: str  # ``new_click_id``: it names the record's bucket and field
    at_ms: int  # when it was made; a replay keeps it
    device: str  # the raw device id
    ip_hash: str  # ``devices.IpHasher``
    user_agent: str  # its class: "ios", "desktop", "bot/crawler", ...
    bot: bool
    referrer: str  # the referrer's host, or ""
    local_date: str  # YYYY-MM-DD in the service's zone, for the daily series
    # A device with no cookie the service issued before: counted per address
    # and agent (``fraud``). Last, with defaults: spool lines of a version
    # without them replay as known devices.
    new_device: bool = False
    agent: str = ""  # ``devices.agent_hash`` of the exact user agent

    def to_spool(self) -> dict[str, Any]:
        """The click as a spool line's object (``spool.py``, which puts a MAC in
        front). These keys, in this order, for good: a line one version spools
        must replay in the next (under the same keys). A new device's two keys
        come last, and only for a new device: a known one's line is as before."""
        line = {
            "link_id": self.link_id,
            "click_id": self.click_id,
            "now_ms": self.at_ms,
            "device": self.device,
            "ip_hash": self.ip_hash,
            "user_agent": self.user_agent,
            "bot": self.bot,
            "referrer": self.referrer,
            "local_date": self.local_date,
        }
        if self.new_device or self.agent:
            line["new_device"] = self.new_device
            line["agent"] = self.agent
        return line

    @classmethod
    def from_spool(cls, line: Mapping[str, Any]) -> ClickFacts:
        """The click a spool line's object holds (``to_spool``)."""
        return cls(
            link_id=line["link_id"],
            click_id=line["click_id"],
            at_ms=int(line["now_ms"]),
            device=line["device"],
            ip_hash=line["ip_hash"],
            user_agent=line["user_agent"],
            bot=bool(line["bot"]),
            referrer=line["referrer"],
            local_date=line["local_date"],
            new_device=bool(line.get("new_device", False)),
            agent=str(line.get("agent", "")),
        )


@dataclass(frozen=True, slots=True)
class ClickPolicy:
    """What recording a click takes that is the same for every click."""

    retention_seconds: int  # records kept this long after their UTC day ends
    unique_window_ms: int = UNIQUE_WINDOW_SECONDS * 1000
    fraud: FraudRules = DEFAULT_FRAUD  # flood thresholds

    @classmethod
    def of(cls, settings: Settings) -> ClickPolicy:
        return cls(settings.retention_seconds, UNIQUE_WINDOW_SECONDS * 1000, settings.fraud)


# KEYS[1] link hash        KEYS[2] link stats        KEYS[3] link daily series
# KEYS[4] the click's records bucket (``keys.link_clicks``: its UTC day and bucket)
# KEYS[5] unique marks of today                      KEYS[6] unique marks of yesterday
# KEYS[7] flood counts per device of the current window (``keys.link_flood``)
# KEYS[8] the day's first records bucket, whose field '#' holds the bucket new
#         clicks go to (``RecordBuckets``)
# KEYS[9] new-device counts of the current window (``keys.link_crowd``)
# ARGV (built by ``click_commands``, below the scripts, from ``ClickFacts`` and
# ``ClickPolicy``):
# ARGV[1] the click's time (ms)   ARGV[2] the click id's random part (its field)
# ARGV[3] device id (raw)
# ARGV[4] the record's head: "<ms into the UTC day>|<device>|<ip hash>|<ua class>"
# ARGV[5] "1" if bot       ARGV[6] local date YYYY-MM-DD
# ARGV[7] the records' lifetime (s): retention from the end of the click's UTC day
# ARGV[8] unique window (ms): unique when the device's last unique click on the
#         link is at least this long before (exactly a window before: unique)
# ARGV[9] referrer host
# ARGV[10] "1" if replayed from a spool (``spool.py``): the click was answered
#          already, so it counts even if the link was disabled since
# ARGV[11] ip hash   ARGV[12] most clicks of new devices per IP hash in a window
# ARGV[13] most per device   ARGV[14] the device counts' lifetime (s): two windows
# ARGV[15] entries after which a records bucket is full (``BUCKET_ENTRIES``)
# ARGV[16] the records bucket (its number, as in the click id)
# ARGV[17] "1" if a new device (no cookie the service issued)   ARGV[18] agent hash
# ARGV[19] most clicks of new devices per IP hash and agent in a window
# ARGV[20] the new-device counts' lifetime (s)
# Answers {404} for an unknown link, {410} for a disabled link or inactive
# product (never to a replay), else {302, web_url, app_url, click_param, unique,
# already, suspicious, next bucket, storefront id, product id} (the ids tell the
# redirect its landing rule and page, ``landing``). It reads the link and records the click in one
# step, so a disabled link stops on the next click. A replayed click whose record
# exists already counts nothing and answers already = 1: a click id is recorded
# once, however often it is replayed (a spooled click whose first attempt did
# reach Redis, a replay interrupted and run again). A live click is sent once
# (``run_scripts`` sends again only calls that failed NOSCRIPT, and the redirect
# never retries), so it skips that read. The next bucket is
# the one the link's new clicks of the day go to: the caller's, or a later one
# once the caller's or another's is full.
CLICK = Script(
    """
local link = redis.call('HMGET', KEYS[1], 'active', 'product_active', 'web_url', 'app_url',
                        'click_param', 'storefront_id', 'product_id')
if not link[1] or not link[3] then return {404} end
local replay = ARGV[10] == '1'
if not replay and (link[1] ~= '1' or link[2] ~= '1') then return {410} end
local next_bucket = tonumber(redis.call('HGET', KEYS[8], '#') or '0')
if replay and redis.call('HEXISTS', KEYS[4], ARGV[2]) == 1 then
  return {302, link[3], link[4], link[5], 0, 1, 0, next_bucket, link[6], link[7]}
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
  local by_device = redis.call('HINCRBY', KEYS[7], 'dev:' .. ARGV[3], 1)
  if by_device == 1 then redis.call('EXPIRE', KEYS[7], ARGV[14]) end  -- set as the key is made
  local over = by_device > tonumber(ARGV[13])
  if ARGV[17] == '1' then
    -- Only new devices count per address: a returning one is judged by its own
    -- count, so a crowd behind one carrier address is counted once per phone.
    local by_ip = redis.call('HINCRBY', KEYS[9], ARGV[11], 1)
    local by_agent = redis.call('HINCRBY', KEYS[9], ARGV[11] .. ':' .. ARGV[18], 1)
    if by_ip == 1 then redis.call('EXPIRE', KEYS[9], ARGV[20]) end
    over = over or by_ip > tonumber(ARGV[12]) or by_agent > tonumber(ARGV[19])
  end
  if over then
    suspicious = 1
    redis.call('HINCRBY', KEYS[2], 'suspicious_clicks', 1)
    redis.call('HINCRBY', KEYS[3], ARGV[6] .. ':suspicious_clicks', 1)
  end
end
local flag = 'h'
if ARGV[5] == '1' then flag = 'b' elseif unique == 1 then flag = 'u' end
if suspicious == 1 then flag = flag .. 's' end
if ARGV[5] ~= '1' and ARGV[17] == '1' then flag = flag .. 'n' .. ARGV[18] end
local record = ARGV[4] .. '|' .. flag
if ARGV[9] ~= '' then
  if #record + 1 + #ARGV[9] <= 64 then
    record = record .. '|' .. ARGV[9]
  else
    -- Apart, so that the record stays within a compact hash's 64-byte values.
    redis.call('HSET', KEYS[4], ARGV[2] .. '+', ARGV[9])
  end
end
redis.call('HSET', KEYS[4], ARGV[2], record)
local entries = redis.call('HLEN', KEYS[4])
if entries <= 2 then redis.call('EXPIRE', KEYS[4], ARGV[7]) end  -- a new bucket
local bucket = tonumber(ARGV[16])
if entries >= tonumber(ARGV[15]) and bucket >= next_bucket then
  next_bucket = bucket + 1
  redis.call('HSET', KEYS[8], '#', next_bucket)
end
return {302, link[3], link[4], link[5], unique, 0, suspicious, next_bucket, link[6], link[7]}
"""
)

# KEYS[1] the device's group index of the click's UTC day (``keys.device_clicks``)
# ARGV[1] device id   ARGV[2] the click: "<link id><random><bucket>" (``device_entry``)
# ARGV[3] lifetime (s): retention from the end of the UTC day
# ARGV[4] most clicks kept per device and day
# Appends the click to the device's list for the day, once: replayed again (a
# replay interrupted and run again), it changes nothing.
DEVICE_CLICK = Script(
    """
local listed = redis.call('HGET', KEYS[1], ARGV[1])
if not listed then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
  -- The key lives to the end of its day plus retention, from the day's first
  -- clicks on: it is not touched again for a device's later clicks.
  redis.call('EXPIRE', KEYS[1], ARGV[3])
  return 1
elseif string.find(' ' .. listed .. ' ', ' ' .. ARGV[2] .. ' ', 1, true) then
  return 0
else
  listed = listed .. ' ' .. ARGV[2]
  local _, spaces = string.gsub(listed, ' ', ' ')
  if spaces >= tonumber(ARGV[4]) then
    listed = string.sub(listed, string.find(listed, ' ', 1, true) + 1)
  end
end
redis.call('HSET', KEYS[1], ARGV[1], listed)
return 1
"""
)


def click_commands(click: ClickFacts, policy: ClickPolicy, replay: bool) -> list[ScriptCall]:
    """The scripts that record one click, with their KEYS and ARGV in the order
    of the headers above: the click script, and for a human click the device's
    index (another slot). ``replay``: ARGV[10]."""
    link_id, at_ms, device, bot = click.link_id, click.at_ms, click.device, click.bot
    # Made by ``new_click_id`` (here or before a spool): split, not validated.
    named_link, day_part, bucket_part, random = click.click_id.split(".")
    if named_link != link_id:
        raise ValueError(f"not a click id of link {link_id}: {click.click_id!r}")
    day, bucket = int(day_part), int(bucket_part)
    # Compact, since a record is most of what a click costs in memory: the key
    # names the link, the day and the bucket, the field is the id's random
    # part, and the time is counted from the day's start.
    head = RECORD_SEPARATOR.join(
        (str(at_ms - day * DAY_MS), device, click.ip_hash, click.user_agent)
    )
    # Keys per UTC day get their lifetime once, when made: to the day's end,
    # then the retention, so that the day's last click is kept as long.
    lifetime = max(((day + 1) * DAY_MS - at_ms) // 1000, 0) + policy.retention_seconds
    fraud = policy.fraud
    args = [
        at_ms,
        random,
        device,
        head,
        "1" if bot else "0",
        click.local_date,
        lifetime,
        policy.unique_window_ms,
        click.referrer,
        "1" if replay else "0",
        click.ip_hash,
        fraud.max_new_per_address,
        fraud.max_clicks_per_device,
        2 * fraud.window_seconds,
        BUCKET_ENTRIES,
        bucket,
        "1" if click.new_device else "0",
        click.agent,
        fraud.max_new_per_address_agent,
        fraud.counts_kept_seconds,
    ]
    click_keys = keys.click_keys(link_id, day, bucket, flood_bucket(at_ms, fraud))
    commands: list[ScriptCall] = [(CLICK, click_keys, args)]
    if not bot:
        # Beside the click script, not in it: the device's index lives in
        # another slot. An entry for a click the script refused (404/410)
        # names no record and is skipped when attributing.
        device_args = [device, device_entry(link_id, random, bucket), lifetime,
                       DEVICE_CLICKS_PER_DAY]  # fmt: skip
        commands.append((DEVICE_CLICK, [keys.device_clicks(device, day)], device_args))
    return commands


def record_click(
    r: StoreClient, click: ClickFacts, policy: ClickPolicy, *, replay: bool = False
) -> ClickOutcome:
    """Read the link and record the click in one round trip.

    ``replay``: the click comes from a spool, answered while the store was
    away; it keeps its own time and counts even if the link was disabled since.
    Recording a click id a second time, replayed, counts nothing
    (``already_recorded``)."""
    return _outcome(run_scripts(r, click_commands(click, policy, replay))[0])


def replay_clicks(
    r: StoreClient, spooled: Sequence[ClickFacts], policy: ClickPolicy
) -> list[ClickOutcome]:
    """Record clicks answered while the store was away (``replay``), many in
    one round trip.

    Uniqueness is judged against the device's marks as they are at replay: if
    the device clicked the link again, live, since, that later click took the
    unique mark, and the replayed one counts as a repeat (one unique click
    either way)."""
    calls: list[ScriptCall] = []
    positions: list[int] = []  # of each click's own script among the calls
    for click in spooled:
        positions.append(len(calls))
        calls += click_commands(click, policy, True)
    answers = run_scripts(r, calls)
    return [_outcome(answers[i]) for i in positions]


class ClickOutcome(NamedTuple):
    """The click script's answer. A NamedTuple, as ``ClickFacts``: one per click."""

    status: int  # 302, 404 or 410
    web_url: str = ""
    app_url: str = ""
    click_param: str = ""
    unique: bool = False
    already_recorded: bool = False  # the click id was recorded before: nothing counted
    suspicious: bool = False  # over a flood threshold (``fraud``)
    next_bucket: int = 0  # where the link's next clicks of the day go (``RecordBuckets``)
    storefront_id: str = ""  # the product's, for its landing rule (``landing``)
    product_id: str = ""


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
    new_device: bool = False  # no cookie the service issued before (``fraud``)
    agent: str = ""  # a new device's agent hash (``devices.agent_hash``)


class ClickName(NamedTuple):
    """What a click id names: where its record is."""

    link_id: str
    day: int  # UTC day, days since the epoch
    bucket: int  # the records bucket of that link and day
    random: str  # the record's field


def new_click_id(link_id: str, now_ms: int, bucket: int = 0) -> str:
    """``<link id>.<UTC day>.<bucket>.<random>``: it names the record's key and field."""
    return f"{link_id}.{now_ms // DAY_MS}.{bucket}.{random_id(RANDOM_LENGTH)}"


def parse_click_id(click_id: str) -> ClickName | None:
    """Where a click id's record is, or None if it cannot be one of ours."""
    parts = click_id.split(".")
    if len(parts) != 4 or len(parts[0]) != LINK_ID_LENGTH:
        return None
    link_id, day, bucket, random = parts
    if not (link_id.isalnum() and link_id.isascii() and random.isalnum() and random.isascii()):
        return None
    if not (day.isdigit() and day.isascii() and len(day) <= 7):
        return None
    if not (bucket.isdigit() and bucket.isascii() and len(bucket) <= 7) or not random:
        return None
    return ClickName(link_id, int(day), int(bucket), random)


class RecordBuckets:
    """The records bucket this process writes a link's new clicks to.

    A link's records of one UTC day are spread over buckets of about
    ``BUCKET_ENTRIES`` entries: small enough for Redis's compact listpack
    encoding (by default up to 512 entries of at most 64 bytes), which holds
    a click in about half what a hash table entry costs. The click id names its
    bucket, so the bucket is chosen before the click is sent: the one the
    click script last answered for the link (the day's first bucket keeps
    it, so a fresh worker catches up in one click). Workers may each add a
    few clicks to a bucket after it filled, before they hear, which is why a
    bucket is called full well below the encoding's limit."""

    def __init__(self, remember: int = 100_000) -> None:
        self._current: dict[str, tuple[int, int]] = {}  # link id -> (day, bucket)
        self._remember = remember

    def current(self, link_id: str, day: int) -> int:
        known = self._current.get(link_id)
        return known[1] if known is not None and known[0] == day else 0

    def learn(self, link_id: str, day: int, outcome: ClickOutcome) -> None:
        if outcome.status != 302 or outcome.next_bucket == self.current(link_id, day):
            return
        if len(self._current) >= self._remember:
            self._current.clear()  # forgetting costs a click each to learn again
        self._current[link_id] = (day, outcome.next_bucket)


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
        int(answer[6]) == 1,
        int(answer[7]),
        answer[8] or "",
        answer[9] or "",
    )


def get_click(r: StoreClient, click_id: str) -> Click | None:
    """The recorded click, or None (unknown, malformed or expired)."""
    return get_clicks(r, [click_id])[0]


def get_clicks(r: StoreClient, click_ids: Sequence[str]) -> list[Click | None]:
    """The recorded clicks, in one round trip; None for each unknown, malformed
    or expired id."""
    names = [parse_click_id(click_id) for click_id in click_ids]
    pipe = r.pipeline(transaction=False)
    for name in names:
        if name is not None:
            key = keys.link_clicks(name.link_id, name.day, name.bucket)
            pipe.hmget(key, name.random, name.random + "+")
    answers = iter(pipe.execute())
    return [
        _click(click_id, name, *next(answers)) if name is not None else None
        for click_id, name in zip(click_ids, names, strict=True)
    ]


def _click(click_id: str, name: ClickName, raw: str | None, spilled: str | None) -> Click | None:
    if raw is None:
        return None
    into_day, device, ip_hash, user_agent, flag, *rest = raw.split(RECORD_SEPARATOR, 5)
    # "<kind>[s][n<agent hash>]": the kind (u, h, b), suspicious, a new device.
    _, marker, agent = flag.partition("n")
    return Click(
        id=click_id,
        link_id=name.link_id,
        at_ms=name.day * DAY_MS + int(into_day),
        device=device,
        ip_hash=ip_hash,
        user_agent=user_agent,
        bot=flag[:1] == "b",
        unique=flag[:1] == "u",
        referrer=rest[0] if rest else spilled or "",
        suspicious=flag[1:2] == "s",
        new_device=marker == "n",
        agent=agent,
    )


def clicks_of_day(r: StoreClient, link_id: str, day: int, page: int = 32) -> list[Click]:
    """Every recorded click of a link on one UTC day, oldest first, its buckets
    read ``page`` at a time. The day's first bucket names the last one (``#``);
    the buckets after it are read on until one is empty, in case one was begun
    since (a bucket is never begun past an empty one)."""
    last = int(r.hget(keys.link_clicks(link_id, day, 0), "#") or 0)
    out: list[Click] = []
    start = 0
    while True:
        pipe = r.pipeline(transaction=False)
        for bucket in range(start, start + page):
            pipe.hgetall(keys.link_clicks(link_id, day, bucket))
        for bucket, fields in enumerate(pipe.execute(), start):
            if not fields and bucket > last:
                return sorted(out, key=lambda click: (click.at_ms, click.id))
            out += _records(link_id, day, bucket, fields)
        start += page


def _records(link_id: str, day: int, bucket: int, fields: dict[str, str]) -> list[Click]:
    name = ClickName(link_id, day, bucket, "")
    found = []
    for random, raw in fields.items():
        if random.isalnum():  # not "#" (the last bucket) nor "<random>+" (a long referrer)
            click_id = f"{link_id}.{day}.{bucket}.{random}"
            click = _click(click_id, name._replace(random=random), raw, fields.get(random + "+"))
            if click is not None:
                found.append(click)
    return found


def device_click_ids(r: StoreClient, device: str, since_ms: int, until_ms: int) -> list[str]:
    """The device's recorded human click ids of the UTC days from ``since`` to
    ``until``, newest day first and newest first within a day (the caller
    checks each click's own time)."""
    days = range(until_ms // DAY_MS, since_ms // DAY_MS - 1, -1)
    pipe = r.pipeline(transaction=False)
    for day in days:
        pipe.hget(keys.device_clicks(device, day), device)
    ids = []
    for day, listed in zip(days, pipe.execute(), strict=True):
        for entry in reversed((listed or "").split()):
            link_id = entry[:LINK_ID_LENGTH]
            random = entry[LINK_ID_LENGTH : LINK_ID_LENGTH + RANDOM_LENGTH]
            ids.append(f"{link_id}.{day}.{entry[LINK_ID_LENGTH + RANDOM_LENGTH :]}.{random}")
    return ids


def device_entry(link_id: str, random: str, bucket: int) -> str:
    """A click in its device's index, the day left to the key: no separators,
    so that three fit in the 64 bytes of a compact hash value (a device with
    more clicks in a day moves its group's hash to the larger encoding)."""
    return f"{link_id}{random}{bucket}"


def outcome_of(answer: Any) -> ClickOutcome:
    """The click script's reply as an outcome (``click_batches`` reads it so)."""
    return _outcome(answer)
