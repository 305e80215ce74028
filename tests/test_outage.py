"""Faults: Redis going away mid-traffic, and workers dying under load.

While Redis is unreachable a worker still redirects the links it redirected in
the last minutes, spooling their clicks to local disk, and replays them into
Redis exactly once when it returns; everything else answers 503 with
``Retry-After``, never 500. A gunicorn worker killed under load loses no click
it answered. The stories on real processes (redis-server, gunicorn) skip only
when redis-server is missing.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import redis
import requests

from redirector import click_batches, clicks, create_app, keys, spool
from redirector.config import Settings
from redirector.errors import ConfigError, StoreUnavailable
from redirector.links import local_date
from redirector.redirect import with_click_id
from redirector.store import STORE_AWAY
from redirector.storefront_client import StorefrontClient

from .conftest import (
    ADMIN_TOKEN,
    ANDROID_DOUYIN,
    DESKTOP_CHROME,
    IPHONE_WEIBO,
    SECRET_KEYS,
    TEA_APP,
    TEA_WEB,
    Api,
)
from .servers import RedisProcess, service, wait_until

CUP_WEB = "https://detail.tmall.com/item.htm?id=9#reviews"
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
OUTAGE_CLICKS = 200
KEYS = tuple(SECRET_KEYS.split(","))  # newest first
THREADS = 8

needs_redis_server = pytest.mark.skipif(
    shutil.which("redis-server") is None, reason="redis-server is not installed"
)


def env_on(url: str, spool_dir: Path) -> dict[str, str]:
    return {
        "REDIS_URL": url,
        "REDIRECTOR_ADMIN_TOKEN": ADMIN_TOKEN,
        "REDIRECTOR_SECRET_KEYS": SECRET_KEYS,
        "REDIRECTOR_SPOOL_DIR": str(spool_dir),
    }


def signed(record: dict[str, Any], keys: tuple[str, ...] = KEYS) -> bytes:
    """A spool line as the spool writes it under ``keys``."""
    payload = json.dumps(record, separators=(",", ":")).encode()
    return spool.LineSigner(keys).sign(payload) + b"\n"


def spool_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*") if p.is_file())


def click_id_in(location: str) -> str:
    return parse_qs(urlsplit(location).query)["rd_click"][-1]


def record(store: Any, link_id: str, click_id: str, now_ms: int, **kw: Any) -> Any:
    """``record_click`` as the redirect calls it."""
    click = clicks.ClickFacts(
        link_id=link_id,
        click_id=click_id,
        at_ms=now_ms,
        device=kw.pop("device", "dev0000000000001"),
        ip_hash="0123456789ab",
        user_agent="desktop",
        bot=kw.pop("bot", False),
        referrer="",
        local_date="2025-03-02",
    )
    policy = clicks.ClickPolicy(retention_seconds=16 * 86400, unique_window_ms=86_400_000)
    return clicks.record_click(store, click, policy, **kw)


# -- the click script: once per click id, and replays ------------------------------------


def test_a_click_id_is_recorded_once(api: Api, store: Any) -> None:
    link = api.link(api.world()["alice"])
    now = 1_740_870_000_000
    click_id = clicks.new_click_id(link["id"], now)

    first = record(store, link["id"], click_id, now)
    again = record(store, link["id"], click_id, now, replay=True)

    assert (first.status, first.already_recorded, first.unique) == (302, False, True)
    assert (again.status, again.already_recorded, again.unique) == (302, True, False)
    stats = api.ok("GET", f"/api/v1/links/{link['id']}")["stats"]
    assert (stats["clicks"], stats["unique_clicks"]) == (1, 1)


def test_a_spooled_click_counts_even_if_its_link_was_disabled_since(api: Api, store: Any) -> None:
    alice = api.world()["alice"]
    link = api.link(alice)
    api.ok("DELETE", f"/api/v1/links/{link['id']}", token=alice)
    at = 1_740_870_000_000
    live, spooled = (clicks.new_click_id(link["id"], at) for _ in range(2))

    assert record(store, link["id"], live, at).status == 410
    replayed = record(store, link["id"], spooled, at, replay=True)
    unknown = record(store, "NoSuchLink", clicks.new_click_id("NoSuchLink", at), at, replay=True)

    assert (replayed.status, replayed.already_recorded) == (302, False)
    assert unknown.status == 404
    assert clicks.get_click(store, spooled).at_ms == at  # its own time, not the replay's
    assert clicks.get_click(store, live) is None
    assert api.ok("GET", f"/api/v1/links/{link['id']}")["stats"]["clicks"] == 1


def test_any_other_store_error_is_a_503_never_a_500(api: Api, store: Any) -> None:
    link = api.link(api.world()["alice"])
    store.delete(keys.link_stats(link["id"]))
    store.set(keys.link_stats(link["id"]), "not a hash")  # the script's HINCRBY fails

    response = api.client.get(f"/r/{link['token']}", headers={"User-Agent": DESKTOP_CHROME})

    assert response.status_code == 503
    assert response.headers["Retry-After"].isdigit()
    assert "Location" not in response.headers


def test_in_an_outage_only_links_redirected_recently_are_redirected(
    api: Api, store: Any, env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A deployment on Redis (so the outage fallback is on), here on the test's store.
    env = {**env, "REDIS_URL": "redis://127.0.0.1:1/0", "REDIRECTOR_SPOOL_DIR": str(tmp_path)}
    app = create_app(Settings.from_env(env), store=store, test_config={"TESTING": True})
    browser = app.test_client()
    alice = api.world()["alice"]
    kept, disabled = api.link(alice), api.link(alice, "cup")

    def click(link: dict[str, Any]) -> Any:
        return browser.get(f"/r/{link['token']}", headers={"User-Agent": DESKTOP_CHROME})

    assert click(kept).status_code == click(disabled).status_code == 302
    api.ok("DELETE", f"/api/v1/links/{disabled['id']}", token=alice)
    assert click(disabled).status_code == 410  # Redis up: the store's word, at once

    def away(*args: Any, **kw: Any) -> Any:
        raise StoreUnavailable(STORE_AWAY) from redis.exceptions.ConnectionError("Redis is away")

    monkeypatch.setattr(clicks, "record_click", away)  # a click alone
    monkeypatch.setattr(click_batches, "run_script_batch", away)  # with group commit
    spooled = click(kept)
    refused = click(disabled)

    assert spooled.status_code == 302
    assert spooled.headers["Location"] == with_click_id(
        TEA_WEB, "rd_click", click_id_in(spooled.headers["Location"])
    )
    assert refused.status_code == 503  # the 410 made this worker forget it
    # The spooled click reaches the store (here at once: only the redirect fails).
    wait_until(lambda: not spool_files(tmp_path), timeout=10, what="the replay")
    assert api.ok("GET", f"/api/v1/links/{kept['id']}")["stats"]["clicks"] == 2


def test_a_spool_line_in_the_previous_versions_form_is_set_aside_not_counted(
    api: Api, store: Any, env: dict[str, str], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # The previous version wrote bare JSON lines; anyone who can write a file
    # can write the same form, so the safe rule sets them aside (they can be
    # replayed by hand: docs/durability.md). A signed line beside it counts.
    link = api.link(api.world()["alice"])
    at = 1_740_870_000_000
    old_id, new_id = (clicks.new_click_id(link["id"], at) for _ in range(2))
    # Byte for byte as the previous version spooled a click: the JSON keeps its form.
    line = (
        f'{{"link_id":"{link["id"]}","click_id":"{old_id}","now_ms":{at},'
        '"device":"dev0000000000001","ip_hash":"0123456789ab","user_agent":"ios",'
        '"bot":false,"referrer":"weibo.com","local_date":"2025-03-02"}'
    )
    spooled = clicks.ClickFacts.from_spool(json.loads(line))
    assert json.dumps(spooled.to_spool(), separators=(",", ":")) == line
    genuine = spool.LineSigner(KEYS).sign(line.replace(old_id, new_id).encode())
    env = {**env, "REDIS_URL": "redis://127.0.0.1:1/0", "REDIRECTOR_SPOOL_DIR": str(tmp_path)}
    settings = Settings.from_env(env)
    directory = spool.store_directory(tmp_path, settings.redis_url, None)
    planted = directory / "clicks-999999-deadbeef.jsonl"
    planted.write_bytes(line.encode() + b"\n" + genuine + b"\n")

    create_app(settings, store=store)  # a process starting replays what it finds
    wait_until(
        lambda: [p.name for p in spool_files(tmp_path)] == [f"rejected-{os.getpid()}.jsonl"],
        timeout=10,
        what="the replay",
    )

    assert clicks.get_click(store, old_id) is None
    recorded = clicks.get_click(store, new_id)
    assert recorded is not None
    assert (recorded.at_ms, recorded.device, recorded.ip_hash, recorded.user_agent) == (
        at, "dev0000000000001", "0123456789ab", "ios"
    )  # fmt: skip
    assert (recorded.bot, recorded.unique, recorded.referrer) == (False, True, "weibo.com")
    assert api.ok("GET", f"/api/v1/links/{link['id']}")["stats"]["clicks"] == 1
    (rejected,) = spool_files(tmp_path)
    assert rejected.read_bytes() == line.encode() + b"\n"
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert [w for w in warnings if "set aside" in w] == [
        "set aside 1 spooled line(s) of clicks-999999-deadbeef.jsonl.replaying that no secret "
        f"key authenticates (1 unsigned); not counted, kept in {rejected}"
    ]


# -- the spool on its own ---------------------------------------------------------------


class FakeStore:
    """Counts each click id once, however often it is sent, like the click
    script; can be away, or go away after ``fail_after`` more clicks."""

    def __init__(self) -> None:
        self.sent: Counter[str] = Counter()
        self.up = True
        self.fail_after: int | None = None

    def replay(self, batch: list[dict[str, Any]]) -> list[str]:
        answers = []
        for click in batch:
            if not self.up or self.fail_after == 0:
                raise StoreUnavailable(STORE_AWAY) from redis.exceptions.ConnectionError("away")
            if self.fail_after is not None:
                self.fail_after -= 1
            self.sent[click["click_id"]] += 1
            answers.append("already recorded" if self.sent[click["click_id"]] > 1 else "counted")
        return answers

    @property
    def counted(self) -> set[str]:
        return set(self.sent)


def test_spool_lines_survive_their_writer_and_replay_once(tmp_path: Path) -> None:
    fake = FakeStore()
    fake.up = False
    # The test runs the passes itself: the background thread sleeps.
    writer = spool.Spool(
        tmp_path, replay=fake.replay, available=lambda: fake.up, secret_keys=KEYS, interval=3600
    )
    for n in range(5):
        writer.append({"click_id": f"c{n}"})
    (own,) = spool_files(tmp_path)
    assert own.name.startswith(f"clicks-{os.getpid()}-") and own.suffix == ".jsonl"
    # Its writer is alive and holds it: nobody else may claim it.
    assert spool._claim(own) is None
    assert writer.replay_pending() is True  # the store is away: keep waiting

    # The store returns, but the first replay stops half-way: the file stays
    # claimed, and the next pass replays it whole without counting twice.
    fake.up, fake.fail_after = True, 2
    assert writer.replay_pending() is True
    assert [p.name.endswith(".replaying") for p in spool_files(tmp_path)] == [True]
    fake.fail_after = None
    assert writer.replay_pending() is False

    assert spool_files(tmp_path) == []
    assert fake.counted == {f"c{n}" for n in range(5)}
    assert (fake.sent["c0"], fake.sent["c4"]) == (2, 1)  # sent again, counted once


def test_a_line_cut_short_by_a_dying_writer_is_skipped(tmp_path: Path) -> None:
    fake = FakeStore()
    dead = tmp_path / "clicks-999999-deadbeef.jsonl"
    a, b, c = (signed({"click_id": n}) for n in "abc")
    dead.write_bytes(a + b + c[:-5])
    reader = spool.Spool(
        tmp_path, replay=fake.replay, available=lambda: True, secret_keys=KEYS, interval=3600
    )

    assert reader.replay_pending() is False

    assert fake.counted == {"a", "b"}
    assert spool_files(tmp_path) == []


def test_a_line_the_store_refuses_is_kept_aside_and_the_rest_counted(tmp_path: Path) -> None:
    fake = FakeStore()

    def replay(batch: list[dict[str, Any]]) -> list[str]:
        if any(c["click_id"] == "poison" for c in batch):
            raise redis.exceptions.ResponseError("WRONGTYPE")
        return fake.replay(batch)

    dead = tmp_path / "clicks-999999-deadbeef.jsonl"
    dead.write_bytes(b"".join(signed({"click_id": n}) for n in ("a", "poison", "b")))
    reader = spool.Spool(
        tmp_path, replay=replay, available=lambda: True, secret_keys=KEYS, interval=3600
    )

    assert reader.replay_pending() is False

    assert fake.counted == {"a", "b"}
    (failed,) = spool_files(tmp_path)
    assert failed.name == f"failed-{os.getpid()}.jsonl"
    assert failed.read_bytes() == signed({"click_id": "poison"})


def test_store_directories_keep_deployments_apart(tmp_path: Path) -> None:
    one = spool.store_directory(tmp_path, "redis://:secret@10.0.0.5:6380/2", None)
    other = spool.store_directory(tmp_path, "redis://10.0.0.5:6380/3", None)
    cluster = spool.store_directory(tmp_path, None, "redis://node-1:7000")

    assert one == tmp_path / "redis-10.0.0.5-6380-2"
    assert "secret" not in str(one)
    assert len({one, other, cluster}) == 3


@pytest.mark.parametrize(
    ("name", "value"),
    [("REDIRECTOR_LINK_CACHE_SECONDS", "ten"), ("REDIRECTOR_SPOOL_DIR", "__a_file__")],
)
def test_a_bad_outage_setting_is_one_line_naming_it(tmp_path: Path, name: str, value: str) -> None:
    a_file = tmp_path / "a-file"
    a_file.write_text("")
    env = {
        "REDIS_URL": "redis://127.0.0.1:6379/0",
        "REDIRECTOR_SECRET_KEYS": SECRET_KEYS,
        "REDIRECTOR_SPOOL_DIR": str(tmp_path / "spool"),
        name: value.replace("__a_file__", str(a_file)),
    }
    with pytest.raises(ConfigError) as caught:
        Settings.from_env(env)
    assert name in str(caught.value)
    assert "\n" not in str(caught.value)


# -- Redis goes away: one process --------------------------------------------------------


@needs_redis_server
def test_redirects_ride_out_a_redis_outage_and_every_click_is_counted_once(
    tmp_path: Path,
) -> None:
    spool_root = tmp_path / "spool"
    # AOF fsync'd on every write, so what Redis held before the kill is there after.
    with RedisProcess("--appendonly", "yes", "--appendfsync", "always") as server:
        settings = Settings.from_env(env_on(server.url, spool_root))
        app = create_app(settings, test_config={"TESTING": True})
        api = Api(app.test_client())
        world = api.world()
        tea = api.link(world["alice"])  # a web URL and an app deep link
        cup = api.link(world["alice"], "cup")  # a web URL only, with a fragment
        unseen = api.link(world["bob"])
        # Four devices, each with its own cookie jar and user agent.
        devices = [
            (app.test_client(), ua)
            for ua in (DESKTOP_CHROME, IPHONE_WEIBO, ANDROID_DOUYIN, GOOGLEBOT)
        ]
        humans: Counter[str] = Counter()
        bots: Counter[str] = Counter()
        first_clicks: set[tuple[str, int]] = set()  # (link, device) of human clicks

        def click(link: dict[str, Any], device: int, method: str = "GET") -> Any:
            browser, ua = devices[device]
            response = browser.open(
                f"/r/{link['token']}", method=method, headers={"User-Agent": ua}
            )
            if response.status_code == 302:
                bot = ua == GOOGLEBOT or method == "HEAD"
                (bots if bot else humans)[link["id"]] += 1
                if not bot:
                    first_clicks.add((link["id"], device))
            return response

        # Redis up: each link redirected once, so this worker remembers them.
        assert click(tea, 0).status_code == 302
        assert click(cup, 0).status_code == 302
        server.kill()

        spooled: list[tuple[str, int, int]] = []  # click id, before, after (ms)
        for n in range(OUTAGE_CLICKS):
            link, device = (tea, cup)[n % 2], (n // 2) % 4
            method = "HEAD" if n % 10 == 9 else "GET"
            before = int(time.time() * 1000)
            response = click(link, device, method)
            after = int(time.time() * 1000)

            assert response.status_code == 302, response.status_code
            click_id = click_id_in(response.headers["Location"])
            deep = link is tea and device in (1, 2) and method == "GET"
            web = TEA_WEB if link is tea else CUP_WEB
            expected = with_click_id(TEA_APP if deep else web, "rd_click", click_id)
            assert response.headers["Location"] == expected
            assert click_id.startswith(link["id"] + ".")
            spooled.append((click_id, before, after))

        # Everything else says the store is away, with a 503 and Retry-After.
        shop = StorefrontClient(
            "taobao",
            world["shop"]["signing_secret"],
            lambda path, body, headers: api.client.post(path, data=body, headers=headers),
        )
        paid = shop.event("o-1", "paid", 12800, datetime.now(UTC), click_id=spooled[0][0])
        callback = shop.send(paid)
        never_seen = api.client.get(f"/r/{unseen['token']}", headers={"User-Agent": DESKTOP_CHROME})
        for response in (callback, never_seen, api.client.get("/readyz")):
            assert response.status_code == 503, response.status_code
            assert response.headers["Retry-After"].isdigit()
        assert "Location" not in never_seen.headers
        assert api.client.get("/healthz").status_code == 200
        saved = {p.name: p.read_bytes() for p in spool_files(spool_root)}
        assert len(saved) == 1
        assert sum(body.count(b"\n") for body in saved.values()) == OUTAGE_CLICKS

        restarted = time.time() * 1000
        server.start()  # the same port, the same AOF

        def stats(link: dict[str, Any]) -> dict[str, int]:
            return api.ok("GET", f"/api/v1/links/{link['id']}")["stats"]

        def replayed() -> bool:
            return not spool_files(spool_root) and all(
                stats(link)["clicks"] + stats(link)["bot_clicks"]
                == humans[link["id"]] + bots[link["id"]]
                for link in (tea, cup)
            )

        wait_until(replayed, timeout=20, what="the spool replayed")
        accepted = sum(humans.values()) + sum(bots.values())
        counted = sum(stats(link)["clicks"] + stats(link)["bot_clicks"] for link in (tea, cup))
        print(f"\noutage: {OUTAGE_CLICKS} clicks answered from the spool; {accepted} accepted "
              f"in all, {counted} counted after recovery")  # fmt: skip
        for link in (tea, cup):
            assert stats(link)["clicks"] == humans[link["id"]]
            assert stats(link)["bot_clicks"] == bots[link["id"]]
            # One unique click per device and link: the 24 h window holds them all.
            assert stats(link)["unique_clicks"] == sum(
                1 for lid, _ in first_clicks if lid == link["id"]
            )
        store = redis.Redis.from_url(server.url, decode_responses=True)
        for click_id, before, after in spooled:
            recorded = clicks.get_click(store, click_id)
            assert recorded is not None, click_id
            assert before <= recorded.at_ms <= after < restarted  # its own time, not the replay's
        # The per-day series counts them on the day they were made.
        series = store.hgetall(keys.link_daily(tea["id"]))
        days = {local_date(ms, settings.timezone) for _, ms, _ in spooled}
        if len(days) == 1:  # (not run across local midnight)
            day = days.pop()
            assert int(series[f"{day}:clicks"]) == humans[tea["id"]]
            assert int(series[f"{day}:bot_clicks"]) == bots[tea["id"]]
        # The order callback wrote nothing: the storefront's retry will be judged afresh.
        assert api.admin("GET", "/api/v1/orders/taobao/o-1").status_code == 404

        # A replay run again (a replayer that died before deleting its file)
        # counts nothing more.
        directory = spool.store_directory(spool_root, server.url, None)
        for name, body in saved.items():
            (directory / name.replace(".jsonl", "-again.jsonl")).write_bytes(body)
        before_again = {link["id"]: stats(link) for link in (tea, cup)}
        create_app(settings)  # a process starting finds the file and replays it
        wait_until(lambda: not spool_files(spool_root), timeout=20, what="the second replay")
        assert {link["id"]: stats(link) for link in (tea, cup)} == before_again

        # With Redis up, the copy of the link is never read: a disabled link is 410 at once.
        api.ok("DELETE", f"/api/v1/links/{cup['id']}", token=world["alice"])
        assert click(cup, 0).status_code == 410


# -- Redis goes away, and workers die, under gunicorn ------------------------------------


class Load:
    """A bounded load: ``threads`` keep-alive clients clicking one path, half of
    them as a desktop browser and half as a crawler, until ``stop()``, at most
    ``seconds`` and ``limit`` requests each. It counts answers by phase."""

    def __init__(self, base: str, path: str, threads: int = THREADS, seconds: float = 30) -> None:
        parts = urlsplit(base)
        self.host, self.port, self.path = parts.hostname, parts.port, path
        self.deadline = time.monotonic() + seconds
        self.limit = 20_000
        self.phase = "before"
        self.answers: Counter[tuple[str, str]] = Counter()  # (phase, "302 human"|...)
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self._run, args=(n,)) for n in range(threads)]

    def __enter__(self) -> Load:
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self.stopping.set()
        for t in self.threads:
            t.join()

    def _run(self, n: int) -> None:
        bot = n % 2 == 1
        headers = {"User-Agent": GOOGLEBOT if bot else DESKTOP_CHROME}
        conn = http.client.HTTPConnection(self.host, self.port, timeout=10)
        sent = 0
        while not self.stopping.is_set() and time.monotonic() < self.deadline and sent < self.limit:
            sent += 1
            phase = self.phase
            try:
                conn.request("GET", self.path, headers=headers)
                response = conn.getresponse()
                response.read()
                outcome = f"{response.status} {'bot' if bot else 'human'}"
            except (OSError, http.client.HTTPException):
                outcome = "connection error"  # not answered: no verdict on the click
                conn.close()
                conn = http.client.HTTPConnection(self.host, self.port, timeout=10)
            with self.lock:
                self.answers[(phase, outcome)] += 1
        conn.close()

    def total(self, outcome: str, phase: str | None = None) -> int:
        return sum(n for (p, o), n in self.answers.items() if o == outcome and phase in (None, p))

    def wait_for(self, outcome: str, phase: str, count: int = 20, timeout: float = 15) -> None:
        wait_until(lambda: self.total(outcome, phase) >= count, timeout, f"{count} × {outcome}")


def admin(base: str, method: str, path: str, body: Any = None, token: str = ADMIN_TOKEN) -> Any:
    response = requests.request(
        method, base + path, json=body, headers={"Authorization": f"Bearer {token}"}, timeout=10
    )
    assert response.status_code in (200, 201), response.text
    return response.json()


def make_link(base: str) -> dict[str, Any]:
    admin(base, "PUT", "/api/v1/storefronts/shop", {"name": "Shop", "hosts": ["shop.test"]})
    admin(
        base,
        "PUT",
        "/api/v1/products/p1",
        {"storefront_id": "shop", "title": "Thing", "price": 100, "commission_rate_bps": 1000,
         "web_url": "https://shop.test/p/1?ref=x"},
    )  # fmt: skip
    key = admin(base, "PUT", "/api/v1/creators/c1", {"name": "C"})["api_key"]
    return admin(base, "POST", "/api/v1/links", {"product_id": "p1", "channel": "weibo"}, key)


def counted(base: str, link: dict[str, Any]) -> tuple[int, int]:
    stats = admin(base, "GET", f"/api/v1/links/{link['id']}")["stats"]
    return stats["clicks"], stats["bot_clicks"]


def children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (Linux /proc)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry))
    return found


def gunicorn_workers(base: str) -> list[int]:
    """The workers of the ``redirector serve`` this test started on ``base``'s port."""
    port = str(urlsplit(base).port)
    for pid in children(os.getpid()):
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"serve" in argv and port.encode() in argv:
            return children(pid)
    raise AssertionError("no redirector serve child found")


@contextmanager
def served(url: str, spool_root: Path, workers: int = 3) -> Iterator[str]:
    with service(env_on(url, spool_root), workers=workers) as base:
        yield base


linux_only = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")


@needs_redis_server
@pytest.mark.server
def test_under_gunicorn_every_redirect_answered_through_an_outage_is_counted(
    tmp_path: Path,
) -> None:
    spool_root = tmp_path / "spool"
    with (
        RedisProcess("--appendonly", "yes", "--appendfsync", "always") as server,
        served(server.url, spool_root) as base,
    ):
        link = make_link(base)
        with Load(base, urlsplit(link["url"]).path) as load:
            load.wait_for("302 human", "before", 100)
            load.phase = "outage"
            server.kill()
            time.sleep(2.0)
            load.phase = "restart"
            server.start()
            load.phase = "after"
            load.wait_for("302 human", "after", 100)
        wait_until(lambda: not spool_files(spool_root), timeout=20, what="the spool replayed")
        answered = (load.total("302 human"), load.total("302 bot"))
        in_redis = counted(base, link)
        print(f"\ngunicorn outage: answered {answered} (human, bot) = counted {in_redis}; "
              f"during the outage {load.total('302 human', 'outage')} + "
              f"{load.total('302 bot', 'outage')} answered 302, "
              f"{load.total('503 human', 'outage') + load.total('503 bot', 'outage')} 503; "
              f"answers: {dict(load.answers)}")  # fmt: skip

        assert in_redis == answered
        assert load.total("302 human", "outage") + load.total("302 bot", "outage") > 0
        assert not any(o.startswith("500") for _, o in load.answers)
        assert {o.split()[0] for _, o in load.answers} <= {"302", "503"}


@needs_redis_server
@linux_only
@pytest.mark.server
def test_workers_killed_under_load_lose_no_answered_click(tmp_path: Path) -> None:
    spool_root = tmp_path / "spool"
    with (
        RedisProcess("--appendonly", "yes", "--appendfsync", "always") as server,
        served(server.url, spool_root) as base,
    ):
        link = make_link(base)
        first = gunicorn_workers(base)
        assert len(first) == 3
        with Load(base, urlsplit(link["url"]).path) as load:
            load.wait_for("302 human", "before", 100)
            os.kill(first[0], signal.SIGKILL)  # Redis up: its clicks are in Redis
            load.phase = "worker killed"
            wait_until(
                lambda: len(set(gunicorn_workers(base)) - set(first)) == 1, 20, "a new worker"
            )
            load.wait_for("302 human", "worker killed", 100)
            # Redis away too: a worker killed now leaves its spool to the others.
            load.phase = "outage"
            server.kill()
            load.wait_for("302 human", "outage", 20)
            survivors = gunicorn_workers(base)
            os.kill(survivors[0], signal.SIGKILL)
            load.phase = "restart"
            server.start()
            load.phase = "after"
            wait_until(lambda: len(gunicorn_workers(base)) == 3, 20, "three workers again")
            load.wait_for("302 human", "after", 100)
        wait_until(lambda: not spool_files(spool_root), timeout=20, what="the spool replayed")
        answered = load.total("302 human") + load.total("302 bot")
        in_redis = sum(counted(base, link))
        print(f"\nworkers killed: answered {answered}, counted {in_redis}, connection errors "
              f"{load.total('connection error')}; answers: {dict(load.answers)}")  # fmt: skip

        # A click on a worker killed between recording it and answering is
        # counted, not answered: at most one per client connection and kill
        # (a worker's 16 threads may hold every connection's request at once).
        assert answered <= in_redis <= answered + 2 * THREADS
        assert not any(o.startswith("500") for _, o in load.answers)
