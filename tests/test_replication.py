"""Money writes confirmed on a replica before they are answered
(``REDIRECTOR_MONEY_REPLICAS``): on a real master and replica, a callback is
200 only once the replica holds the order, 503 with ``Retry-After`` while it
cannot, and a retry of an event applied meanwhile is not 200 either until the
earlier write is replicated. Skipped without redis-server."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import fakeredis
import pytest
import redis

from redirector import keys
from redirector.config import Settings
from redirector.errors import ConfigError, NotReplicated
from redirector.replication import confirm_replicated, run_replicated
from redirector.store import Script

from .conftest import ADMIN_TOKEN, SECRET_KEYS, Shop, advance, error_of
from .servers import redis_server, wait_until

# own_store: a master and replica of its own, whatever REDIS_URL says.
pytestmark = [
    pytest.mark.own_store,
    pytest.mark.skipif(shutil.which("redis-server") is None, reason="no redis-server"),
]


@pytest.mark.parametrize("value", ["x", "-1", "17", "1.5", "٣"])
def test_a_bad_money_replicas_setting_is_one_line_naming_it(value: str) -> None:
    env = {"REDIS_URL": "redis://127.0.0.1:1/0", "REDIRECTOR_SECRET_KEYS": SECRET_KEYS}
    with pytest.raises(ConfigError, match="REDIRECTOR_MONEY_REPLICAS"):
        Settings.from_env({**env, "REDIRECTOR_MONEY_REPLICAS": value})


def test_money_replicas_need_redis_and_default_to_none(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="embedded store"):
        Settings.from_env({"REDIRECTOR_MONEY_REPLICAS": "1"})
    env = {
        "REDIS_URL": "redis://127.0.0.1:1/0",
        "REDIRECTOR_SECRET_KEYS": SECRET_KEYS,
        "REDIRECTOR_SPOOL_DIR": str(tmp_path / "spool"),
    }
    assert Settings.from_env(env).money_replicas == 0
    assert Settings.from_env({**env, "REDIRECTOR_MONEY_REPLICAS": "2"}).money_replicas == 2


def test_a_mark_in_another_slot_than_the_write_is_refused_before_anything_is_sent() -> None:
    store = fakeredis.FakeRedis(decode_responses=True)
    script = Script("return redis.call('SET', KEYS[1], 'x')")
    with pytest.raises(ValueError, match="slot"):
        run_replicated(store, script, ["rd:{a}:k"], [], 1, "rd:{b}:mark")
    assert store.dbsize() == 0


# -- a master and its replica ---------------------------------------------------------------


@pytest.fixture
def replicated() -> Iterator[tuple[str, redis.Redis]]:
    """A master's URL and a client of its replica (in sync)."""
    with redis_server() as master, redis_server() as replica_url:
        port = int(master.rsplit(":", 1)[1].split("/")[0])
        replica = redis.Redis.from_url(replica_url, decode_responses=True)
        attach(replica, port)
        yield master, replica


def attach(replica: redis.Redis, port: int) -> None:
    replica.execute_command("REPLICAOF", "127.0.0.1", port)
    wait_until(
        lambda: replica.info("replication")["master_link_status"] == "up",
        what="replica in sync",
    )


@pytest.fixture
def store(replicated: tuple[str, redis.Redis]) -> Iterator[Any]:
    client = redis.Redis.from_url(replicated[0], decode_responses=True)
    yield client
    client.close()


@pytest.fixture
def env(tmp_path: Path, replicated: tuple[str, redis.Redis]) -> dict[str, str]:
    return {
        "REDIS_URL": replicated[0],
        "REDIRECTOR_MONEY_REPLICAS": "1",
        "REDIRECTOR_ADMIN_TOKEN": ADMIN_TOKEN,
        "REDIRECTOR_SECRET_KEYS": SECRET_KEYS,
        "REDIRECTOR_PUBLIC_URL": "https://go.example.test",
        "REDIRECTOR_CLOCK": "mock",
        "REDIRECTOR_SPOOL_DIR": str(tmp_path / "spool"),
    }


def history(store: redis.Redis, order_id: str) -> list[str]:
    return store.lrange(keys.order_history("taobao", order_id), 0, -1)


def test_a_callback_is_answered_once_its_order_is_on_the_replica(
    shop: Shop, store: redis.Redis, replicated: tuple[str, redis.Redis]
) -> None:
    replica = replicated[1]
    shop.ok("TB-1", "paid", 12800, msg_id="evt-1")
    # Read at once: the 200 came after the replica acknowledged the write.
    assert replica.hget(keys.order("taobao", "TB-1"), "status") == "paid"
    assert replica.exists(keys.delivery("taobao", "evt-1"))


def test_without_its_replica_a_callback_is_503_and_its_retries_too_until_replicated(
    shop: Shop, store: redis.Redis, replicated: tuple[str, redis.Redis]
) -> None:
    replica = replicated[1]
    port = int(replicated[0].rsplit(":", 1)[1].split("/")[0])
    replica.execute_command("REPLICAOF", "NO", "ONE")  # the master has no replica now

    first = shop.send("TB-2", "paid", 12800, msg_id="evt-2")
    assert error_of(first, 503)["code"] == "not_replicated"
    assert first.headers["Retry-After"] == "5"
    assert len(history(store, "TB-2")) == 1  # written on the master, once

    again = shop.send("TB-2", "paid", 12800, msg_id="evt-2")  # the storefront retries
    assert error_of(again, 503)["code"] == "not_replicated"  # never 200 while unreplicated
    assert len(history(store, "TB-2")) == 1

    attach(replica, port)
    replayed = shop.send("TB-2", "paid", 12800, msg_id="evt-2")
    assert replayed.status_code == 200, replayed.get_json()
    assert replayed.headers["Webhook-Replayed"] == "true"
    assert replayed.get_json()["status"] == "paid"
    assert len(history(store, "TB-2")) == 1  # applied once, answered once replicated
    assert replica.hget(keys.order("taobao", "TB-2"), "status") == "paid"


def test_a_period_closed_without_its_replica_is_503_then_found_closed(
    api: Any, shop: Shop, store: redis.Redis, replicated: tuple[str, redis.Redis]
) -> None:
    replica = replicated[1]
    port = int(replicated[0].rsplit(":", 1)[1].split("/")[0])
    shop.ok("TB-3", "paid", 12800)
    advance(shop.clock, days=20)
    replica.execute_command("REPLICAOF", "NO", "ONE")
    refused = api.admin("POST", "/api/v1/settlements/2026-11/close")
    assert error_of(refused, 503)["code"] == "not_replicated"
    attach(replica, port)
    assert api.admin("POST", "/api/v1/settlements/2026-11/close").status_code == 409
    assert replica.hexists(keys.periods(), "2026-11")


def test_a_write_found_made_is_confirmed_only_once_a_replica_holds_it() -> None:
    """WAIT is documented to count the replicas that acknowledged the calling
    connection's own writes, so a replay, which finds a write another request
    made, confirms it by a write of its own after it (the mark)."""
    with (
        redis_server() as master_url,
        redis_server("--enable-debug-command", "yes") as replica_url,
    ):
        master = redis.Redis.from_url(master_url, decode_responses=True)
        replica = redis.Redis.from_url(replica_url, decode_responses=True)
        attach(replica, int(master_url.rsplit(":", 1)[1].split("/")[0]))
        record, mark = "rd:{money}:delivery:x", keys.money_replicated()

        def asleep() -> None:
            # Blocks the replica: it applies and acknowledges nothing meanwhile.
            redis.Redis.from_url(replica_url).execute_command("DEBUG", "SLEEP", "2")

        sleeper = threading.Thread(target=asleep)
        sleeper.start()
        time.sleep(0.2)
        master.set(record, "first response")  # as a request whose own WAIT then failed
        with pytest.raises(NotReplicated):
            confirm_replicated(master, record, mark, 1)
        sleeper.join()
        assert confirm_replicated(master, record, mark, 1)  # the replica caught up
        assert replica.get(record) == "first response"
        assert not confirm_replicated(master, "rd:{money}:delivery:never", mark, 1)
