"""Group commit of clicks (``click_batches``): the clicks of concurrent requests
go to the store together, each thread gets its own click's answer, one click's
error stays its own, a store lost mid-batch spools every click of the batch
once, and with ``REDIRECTOR_CLICK_REPLICAS`` a click no replica confirmed is
spooled before its 302. On fakeredis by default, on Redis (db of REDIS_URL)
or a cluster when the suite runs there; the replica stories start their own
redis-server processes."""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from redirector import click_batches, clicks, create_app, keys
from redirector.cli import GROUP_COMMIT_THREADS, gunicorn_options
from redirector.click_batches import ClickBatches, NotReplicated, run_script_batch
from redirector.clicks import ClickFacts, ClickOutcome, ClickPolicy
from redirector.config import Settings
from redirector.errors import ConfigError, StoreUnavailable
from redirector.extension import context_of
from redirector.store import STORE_AWAY, wrap

from .conftest import ADMIN_TOKEN, DESKTOP_CHROME, TEA_WEB, Api
from .servers import redis_cluster, redis_server, wait_until

POLICY = ClickPolicy(retention_seconds=16 * 86400)
NOW = 1_764_000_000_000
CUP_WEB = "https://detail.tmall.com/item.htm?id=9#reviews"


def facts(link_id: str, n: int, *, bot: bool = False) -> ClickFacts:
    return ClickFacts(
        link_id=link_id,
        click_id=clicks.new_click_id(link_id, NOW),
        at_ms=NOW,
        device=f"dev{n:013d}",
        ip_hash=f"{n:012x}",
        user_agent="desktop",
        bot=bot,
        referrer="",
        local_date="2025-11-25",
    )


def slowed(monkeypatch: pytest.MonkeyPatch, delay: float = 0.02) -> list[int]:
    """Each batch's round trip made slower, so that clicks queue behind it;
    answers the list of batch sizes (script calls per round trip)."""
    real = click_batches.run_script_batch
    sizes: list[int] = []

    def slow(client: Any, calls: Any, *args: Any) -> Any:
        sizes.append(len(calls))
        time.sleep(delay)
        return real(client, calls, *args)

    monkeypatch.setattr(click_batches, "run_script_batch", slow)
    return sizes


def together(count: int, work: Callable[[int], Any]) -> list[Any]:
    """``work(i)`` in ``count`` threads started at once; each one's result or exception."""
    results: list[Any] = [None] * count
    gate = threading.Barrier(count)

    def run(i: int) -> None:
        gate.wait()
        try:
            results[i] = work(i)
        except BaseException as exc:  # the test looks at it
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return results


def link_stats(store: Any, link_id: str) -> dict[str, str]:
    stats: dict[str, str] = store.hgetall(keys.link_stats(link_id))
    return stats


@pytest.fixture
def links(api: Api) -> dict[str, str]:
    """Link ids: two active ones (tea, cup) and a disabled one."""
    alice = api.world()["alice"]
    tea, cup, off = api.link(alice), api.link(alice, "cup"), api.link(alice)
    api.ok("DELETE", f"/api/v1/links/{off['id']}", token=alice)
    return {"tea": tea["id"], "cup": cup["id"], "off": off["id"]}


# -- batches form, and each thread gets its own answer -----------------------------------


def test_concurrent_clicks_share_round_trips_and_each_thread_gets_its_own_answer(
    store: Any, links: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    sizes = slowed(monkeypatch)
    batches = ClickBatches(wrap(store), POLICY)
    kinds = ["tea", "cup", "off", "nowhere"]
    sent = [facts(links.get(kinds[i % 4], "NoSuchLnk0"), i) for i in range(24)]

    outcomes: list[Any] = together(24, lambda i: batches.record(sent[i]))

    assert batches.clicks == 24 and batches.batches < 24  # fewer round trips than clicks
    assert max(sizes) > 2 and sum(sizes) == 24 * 2  # the click and the device index
    for i, outcome in enumerate(outcomes):
        assert isinstance(outcome, ClickOutcome), outcome
        kind = kinds[i % 4]
        expected = {"tea": 302, "cup": 302, "off": 410, "nowhere": 404}[kind]
        assert outcome.status == expected
        if kind == "tea":
            assert outcome.web_url == TEA_WEB
        if kind == "cup":
            assert outcome.web_url == CUP_WEB
    # Every click counted once; the refused ones not at all.
    assert link_stats(store, links["tea"])["clicks"] == "6"
    assert link_stats(store, links["cup"])["clicks"] == "6"
    assert "clicks" not in link_stats(store, links["off"])
    recorded = [c for c in (clicks.get_clicks(store, [f.click_id for f in sent])) if c]
    assert len(recorded) == 12


def test_a_click_alone_is_sent_at_once_in_a_batch_of_its_own(
    store: Any, links: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    sizes = slowed(monkeypatch, delay=0)
    batches = ClickBatches(wrap(store), POLICY)

    for n in range(3):
        assert batches.record(facts(links["tea"], n)).status == 302

    assert sizes == [2, 2, 2] and batches.batches == 3
    assert link_stats(store, links["tea"])["clicks"] == "3"


def test_one_clicks_error_is_its_own(
    store: Any, links: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    slowed(monkeypatch)
    broken = links["cup"]
    store.delete(keys.link_stats(broken))
    store.set(keys.link_stats(broken), "not a hash")  # the click script's HINCRBY fails
    batches = ClickBatches(wrap(store), POLICY)
    sent = [facts(links["tea"] if i % 4 else broken, i) for i in range(16)]

    outcomes = together(16, lambda i: batches.record(sent[i]))

    assert batches.batches < 16
    for i, outcome in enumerate(outcomes):
        if i % 4:
            assert isinstance(outcome, ClickOutcome) and outcome.status == 302
        else:
            assert isinstance(outcome, redis.ResponseError)
            assert not isinstance(outcome, StoreUnavailable)
    assert link_stats(store, links["tea"])["clicks"] == "12"


def test_a_store_lost_mid_batch_fails_every_click_of_the_batch_and_no_other(
    store: Any, links: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    real = click_batches.run_script_batch
    lost: list[int] = []

    def lost_after_running(client: Any, calls: Any, *args: Any) -> Any:
        time.sleep(0.02)
        answer = real(client, calls, *args)
        if not lost and len(calls) > 2:  # the first batch of several ran, then was lost
            lost.append(len(calls) // 2)
            raise StoreUnavailable(STORE_AWAY) from redis.ConnectionError("lost")
        return answer

    monkeypatch.setattr(click_batches, "run_script_batch", lost_after_running)
    batches = ClickBatches(wrap(store), POLICY)

    outcomes = together(12, lambda i: batches.record(facts(links["tea"], i)))

    failed = [o for o in outcomes if isinstance(o, StoreUnavailable)]
    assert len(failed) == lost[0] > 1
    assert all(isinstance(o, (ClickOutcome, StoreUnavailable)) for o in outcomes)


# -- through the redirect: the spool takes a lost batch's clicks once --------------------


def outage_app(store: Any, env: dict[str, str], spool_dir: Path, **more: str) -> Any:
    """An app set up as on Redis (outage fallback and spool on), on the test's store."""
    env = {**env, "REDIS_URL": "redis://127.0.0.1:1/0", "REDIRECTOR_SPOOL_DIR": str(spool_dir)}
    return create_app(
        Settings.from_env({**env, **more}), store=store, test_config={"TESTING": True}
    )


def test_a_store_lost_mid_batch_spools_each_click_of_the_batch_once_and_counts_it_once(
    api: Api,
    store: Any,
    env: dict[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app = outage_app(store, env, tmp_path)
    link = api.link(api.world()["alice"])
    url = f"/r/{link['token']}"
    first = app.test_client().get(url, headers={"User-Agent": DESKTOP_CHROME})
    assert first.status_code == 302  # seen: this worker redirects it in an outage

    real = click_batches.run_script_batch
    state = {"lost": 0}
    replays = Counter[str]()
    spool_dir = tmp_path

    def lost_after_running(client: Any, calls: Any, *args: Any) -> Any:
        time.sleep(0.03)
        answer = real(client, calls, *args)
        if not state["lost"] and len(calls) > 2:  # a batch of several ran, then was lost
            state["lost"] = len(calls) // 2
            raise StoreUnavailable(STORE_AWAY) from redis.ConnectionError("lost")
        return answer

    monkeypatch.setattr(click_batches, "run_script_batch", lost_after_running)
    outage = app.wsgi_app.outage
    replay = outage.spool.replay

    def counting_replay(batch: list[dict[str, Any]]) -> list[str]:
        # What the spool holds when it replays, click id by click id.
        replays.update(line["click_id"] for line in batch)
        answers: list[str] = replay(batch)
        return answers

    outage.spool.replay = counting_replay

    def click(_: int) -> Any:
        return app.test_client().get(url, headers={"User-Agent": DESKTOP_CHROME})

    answers = together(12, click)

    assert all(a.status_code == 302 for a in answers)
    assert app.wsgi_app.batches.batches < 13  # batches formed
    wait_until(lambda: sum(replays.values()) >= state["lost"], timeout=10, what="the replay")
    wait_until(lambda: not list(spool_dir.rglob("clicks-*")), timeout=10, what="spool empty")
    assert state["lost"] > 1  # a batch of several clicks was lost
    assert sum(replays.values()) == state["lost"] and max(replays.values()) == 1
    answered = [a.headers["Location"].rpartition("rd_click=")[2] for a in answers]
    assert set(replays) <= set(answered)
    # Each lost click ran in Redis before its replay: counted once all the same.
    assert api.ok("GET", f"/api/v1/links/{link['id']}")["stats"]["clicks"] == 13
    assert {c.id for c in clicks.get_clicks(store, answered) if c} == set(answered)


def test_an_api_request_is_not_held_by_a_batch_in_flight(
    api: Api, store: Any, env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = outage_app(store, env, tmp_path)
    link = api.link(api.world()["alice"])
    held, release = threading.Event(), threading.Event()
    real = click_batches.run_script_batch

    def stuck(client: Any, calls: Any, *args: Any) -> Any:
        held.set()
        release.wait(10)
        return real(client, calls, *args)

    monkeypatch.setattr(click_batches, "run_script_batch", stuck)
    redirect = threading.Thread(
        target=lambda: app.test_client().get(f"/r/{link['token']}", headers={})
    )
    redirect.start()
    try:
        assert held.wait(10)
        answer = app.test_client().get(
            f"/api/v1/links/{link['id']}", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
        )
        assert answer.status_code == 200  # answered while the click's round trip hangs
    finally:
        release.set()
        redirect.join(10)
    assert api.ok("GET", f"/api/v1/links/{link['id']}")["stats"]["clicks"] == 1


def test_group_commit_is_on_by_default_and_can_be_turned_off(app: Any, env: dict[str, str]) -> None:
    assert context_of(app).settings.group_commit is True
    assert app.wsgi_app.batches is not None
    off = create_app(Settings.from_env({**env, "REDIRECTOR_GROUP_COMMIT": "0"}))
    assert off.wsgi_app.batches is None


# -- settings ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("more", "message"),
    [
        ({"REDIRECTOR_CLICK_REPLICAS": "-1"}, "REDIRECTOR_CLICK_REPLICAS='-1' must be"),
        ({"REDIRECTOR_CLICK_REPLICAS": "17"}, "from 0 to 16"),
        ({"REDIRECTOR_CLICK_REPLICAS": "one"}, "must be a whole number"),
        ({"REDIRECTOR_CLICK_REPLICA_TIMEOUT_MS": "0"}, "from 1 to 5000"),
        ({"REDIRECTOR_CLICK_REPLICA_TIMEOUT_MS": "5001"}, "from 1 to 5000"),
        ({"REDIRECTOR_GROUP_COMMIT": "maybe"}, "REDIRECTOR_GROUP_COMMIT='maybe' must be 1 or 0"),
    ],
)
def test_bad_group_commit_settings_are_refused_naming_the_setting(
    env: dict[str, str], more: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        Settings.from_env({**env, "REDIS_URL": "redis://127.0.0.1:1/0", **more})


def test_click_replicas_need_redis(env: dict[str, str]) -> None:
    with pytest.raises(ConfigError, match="REDIRECTOR_CLICK_REPLICAS=1 needs Redis"):
        Settings.from_env({**env, "REDIRECTOR_CLICK_REPLICAS": "1"})
    on_redis = Settings.from_env(
        {**env, "REDIS_URL": "redis://127.0.0.1:1/0", "REDIRECTOR_CLICK_REPLICAS": "2"}
    )
    assert (on_redis.click_replicas, on_redis.click_replica_timeout_ms) == (2, 100)


# -- the replication window: WAIT after each batch ------------------------------------------


@pytest.fixture
def master_and_replica() -> Iterator[tuple[str, str]]:
    with redis_server() as master, redis_server() as replica:
        port = master.rsplit(":", 1)[1].split("/")[0]
        redis.Redis.from_url(replica).execute_command("REPLICAOF", "127.0.0.1", port)
        wait_until(
            lambda: redis.Redis.from_url(replica).info("replication")["master_link_status"] == "up",
            what="the replica in sync",
        )
        yield master, replica


def seed_link(client: Any, link_id: str, web_url: str = TEA_WEB) -> None:
    client.hset(
        keys.link(link_id),
        mapping={"active": "1", "product_active": "1", "web_url": web_url, "click_param": "c"},
    )


def test_a_batch_confirmed_by_its_replicas_answers_and_a_short_one_raises(
    master_and_replica: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    master_url, replica_url = master_and_replica
    master = wrap(redis.Redis.from_url(master_url, decode_responses=True))
    seed_link(master, "LinkAAAAAA")
    slowed(monkeypatch, delay=0.01)
    confirmed = ClickBatches(master, POLICY, replicas=1, replica_timeout_ms=1000)
    short = ClickBatches(master, POLICY, replicas=2, replica_timeout_ms=20)  # one exists

    outcomes = together(8, lambda i: confirmed.record(facts("LinkAAAAAA", i)))
    shorts = together(4, lambda i: short.record(facts("LinkAAAAAA", 100 + i)))

    assert all(isinstance(o, ClickOutcome) and o.status == 302 for o in outcomes)
    assert all(isinstance(o, NotReplicated) and o.outcome.status == 302 for o in shorts)
    assert confirmed.batches < 8
    replica = redis.Redis.from_url(replica_url, decode_responses=True)
    # Confirmed means on the replica: every one of the first clicks is there.
    assert replica.hget(keys.link_stats("LinkAAAAAA"), "clicks") == "12"


def test_a_click_no_replica_confirmed_is_spooled_before_its_302_and_counted_once(
    master_and_replica: tuple[str, str], env: dict[str, str], tmp_path: Path
) -> None:
    master_url, _ = master_and_replica
    more = {
        "REDIS_URL": master_url,
        "REDIRECTOR_SPOOL_DIR": str(tmp_path),
        "REDIRECTOR_CLICK_REPLICAS": "2",  # one replica exists: never enough
        "REDIRECTOR_CLICK_REPLICA_TIMEOUT_MS": "20",
    }
    app = create_app(Settings.from_env({**env, **more}), test_config={"TESTING": True})
    api = Api(app.test_client())
    link = api.link(api.world()["alice"])
    replayed: list[str] = []
    outage = app.wsgi_app.outage
    replay = outage.spool.replay
    outage.spool.replay = lambda batch: replayed.extend(replay(batch)) or ["x"] * len(batch)

    answer = app.test_client().get(f"/r/{link['token']}", headers={"User-Agent": DESKTOP_CHROME})

    assert answer.status_code == 302
    wait_until(lambda: replayed, timeout=10, what="the replay")
    assert replayed == ["already recorded"]  # the master had it: counted once
    assert api.ok("GET", f"/api/v1/links/{link['id']}")["stats"]["clicks"] == 1


def test_on_a_cluster_a_batch_waits_on_each_master_it_wrote_to() -> None:
    with redis_cluster() as nodes:
        from redis.cluster import RedisCluster

        cluster = wrap(RedisCluster.from_url(nodes.url, decode_responses=True))
        link_ids = [f"Link{n:06d}" for n in range(12)]  # over several slots and masters
        for link_id in link_ids:
            seed_link(cluster, link_id)
        calls = [c for n, link_id in enumerate(link_ids)
                 for c in clicks.click_commands(facts(link_id, n), POLICY, False)]  # fmt: skip
        masters = {cluster.get_node_from_key(c[1][0]).name for c in calls}
        assert len(masters) == 3

        replies, confirmed = run_script_batch(cluster, calls, 1, 20)  # no replicas here

        assert confirmed == 0
        statuses = [replies[i][0] for i, c in enumerate(calls) if c[0] is clicks.CLICK]
        assert statuses == [302] * 12
        assert [cluster.hget(keys.link_stats(i), "clicks") for i in link_ids] == ["1"] * 12


def test_serve_runs_group_commit_on_fewer_workers_with_more_threads(tmp_path: Path) -> None:
    on_redis = {
        "REDIS_URL": "redis://127.0.0.1:1/0",
        "REDIRECTOR_SECRET_KEYS": "a-secret-key-of-enough-length",
        "REDIRECTOR_SPOOL_DIR": str(tmp_path / "spool"),
    }
    batched = gunicorn_options(Settings.from_env(on_redis), "127.0.0.1", 8000)
    alone = gunicorn_options(
        Settings.from_env({**on_redis, "REDIRECTOR_GROUP_COMMIT": "0"}), "127.0.0.1", 8000
    )
    cores = os.cpu_count() or 1
    assert (batched["workers"], batched["threads"]) == (max(2, cores), GROUP_COMMIT_THREADS)
    assert (alone["workers"], alone["threads"]) == (max(2, 2 * cores), 4)
