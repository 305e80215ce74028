"""The store client's round trips on the redirect's path (``store.run_scripts``),
and the boundary where a store away becomes ``StoreUnavailable``."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import fakeredis
import pytest
import redis
from redis.backoff import NoBackoff
from redis.exceptions import NoScriptError
from redis.retry import Retry

from redirector import create_app
from redirector import store as store_module
from redirector.config import Settings
from redirector.errors import StoreUnavailable
from redirector.store import UNAVAILABLE_ERRORS, Script, error_of, run_scripts
from tests.conftest import ADMIN_TOKEN, real_redis_url

needs_redis = pytest.mark.skipif(
    not real_redis_url(), reason="the direct path is taken on one real Redis (REDIS_URL)"
)
ECHO = Script("return {ARGV[1], tonumber(ARGV[2]) + 1}")


@needs_redis
def test_calls_answer_in_order_and_a_script_redis_forgot_is_loaded_again() -> None:
    client = redis.Redis.from_url(real_redis_url(), decode_responses=True)
    client.script_flush()

    assert run_scripts(client, [(ECHO, [], ["a", 1]), (ECHO, [], ["b", 2])]) == [
        ["a", 2],
        ["b", 3],
    ]


@needs_redis
def test_a_script_error_is_raised_and_the_connection_still_serves() -> None:
    client = redis.Redis.from_url(real_redis_url(), decode_responses=True)
    with pytest.raises(redis.ResponseError):
        run_scripts(client, [(ECHO, [], ["a", "not a number"])])

    assert run_scripts(client, [(ECHO, [], ["a", 1])]) == [["a", 2]]


@needs_redis
def test_a_connection_dropped_while_idle_is_replaced_before_a_click_is_sent() -> None:
    client = redis.Redis.from_url(
        real_redis_url(), decode_responses=True, health_check_interval=0.05
    )
    run_scripts(client, [(ECHO, [], ["a", 1])])
    admin = redis.Redis.from_url(real_redis_url())
    # What a server timeout or a NAT does to an idle connection.
    admin.client_kill_filter(_type="normal", skipme=True)
    time.sleep(0.1)

    assert run_scripts(client, [(ECHO, [], ["b", 1])]) == [["b", 2]]


@needs_redis
def test_replies_reach_the_thread_that_asked() -> None:
    client = redis.Redis.from_url(real_redis_url(), decode_responses=True)
    answers: list[list[object]] = []

    def clicks(n: int) -> None:
        for i in range(200):
            answers.append(run_scripts(client, [(ECHO, [], [f"{n}", i])])[0])

    threads = [threading.Thread(target=clicks, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    # Every reply reached the thread that asked: none crossed to another.
    assert sorted(map(tuple, answers)) == sorted(
        (f"{n}", i + 1) for n in range(8) for i in range(200)
    )


def test_the_test_store_takes_the_general_path(store: object) -> None:
    # fakeredis, or a cluster: through redis-py's pipeline, with the same answers.
    assert run_scripts(store, [(ECHO, [], ["a", 1]), (ECHO, [], ["b", 2])]) == [["a", 2], ["b", 3]]


@pytest.mark.parametrize(
    ("reply", "kind"),
    [
        ("LOADING Redis is loading the dataset in memory", redis.exceptions.BusyLoadingError),
        ("READONLY You can't write against a read only replica.", redis.exceptions.ReadOnlyError),
        (
            "OOM command not allowed when used memory > 'maxmemory'.",
            redis.exceptions.OutOfMemoryError,
        ),
    ],
)
def test_error_replies_that_mean_redis_is_away_for_a_moment_are_unavailable(
    reply: str, kind: type[Exception]
) -> None:
    error = error_of(redis.ResponseError(reply))
    # So the redirect spools the click of a link it knows rather than answer 503.
    assert isinstance(error, kind) and isinstance(error, UNAVAILABLE_ERRORS)


def test_other_error_replies_stay_what_they_are() -> None:
    assert isinstance(error_of(redis.ResponseError("NOSCRIPT No matching script")), NoScriptError)
    error = error_of(redis.ResponseError("ERR Error running script"))
    assert type(error) is redis.ResponseError and not isinstance(error, UNAVAILABLE_ERRORS)


@needs_redis
def test_a_loading_redis_is_raised_as_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    client = redis.Redis.from_url(real_redis_url(), decode_responses=True)
    loading = error_of(redis.ResponseError("LOADING Redis is loading the dataset in memory"))
    monkeypatch.setattr(store_module, "_send", lambda *_: [loading])

    with pytest.raises(StoreUnavailable) as caught:
        run_scripts(client, [(ECHO, [], ["a", 1])])
    assert caught.value.__cause__ is loading


# -- the boundary: a store away is StoreUnavailable, whatever asked ---------------------


def _away(client: Any) -> list[Callable[[], Any]]:
    """Every way the service talks to the store: a command, a script, a
    pipeline, a watched transaction, and ``run_scripts``."""

    def watched() -> Any:
        with client.pipeline(transaction=True) as pipe:
            pipe.watch("k")

    return [
        lambda: client.get("k"),
        lambda: ECHO(client, [], ["a", 1]),
        lambda: client.pipeline(transaction=False).get("k").execute(),
        watched,
        lambda: run_scripts(client, [(ECHO, [], ["a", 1])]),
    ]


def test_a_store_away_reaches_the_caller_as_store_unavailable_with_its_cause() -> None:
    server = fakeredis.FakeServer()
    client = store_module.wrap(fakeredis.FakeRedis(server=server, decode_responses=True))
    client.set("k", "v")
    server.connected = False

    for call in _away(client):
        with pytest.raises(StoreUnavailable) as caught:
            call()
        assert isinstance(caught.value.__cause__, redis.ConnectionError)


def test_a_redis_client_handed_in_or_connected_raises_store_unavailable_too() -> None:
    # Nothing listens on port 1: what a Redis that is down answers.
    handed = store_module.wrap(redis.Redis(port=1, retry=Retry(NoBackoff(), 0)))
    connected = store_module.connect(Settings(redis_url="redis://127.0.0.1:1/0"))

    for client in (handed, connected):
        # run_scripts on one Redis takes the direct path, past redis-py.
        for call in _away(client):
            with pytest.raises(StoreUnavailable) as caught:
                call()
            assert isinstance(caught.value.__cause__, redis.ConnectionError)
    assert store_module.wrap(handed) is handed


def test_other_store_errors_stay_redis_py_errors() -> None:
    client = store_module.wrap(fakeredis.FakeRedis(decode_responses=True))
    client.set("k", "a string")

    with pytest.raises(redis.ResponseError) as caught:
        client.hget("k", "field")  # WRONGTYPE
    assert not isinstance(caught.value, StoreUnavailable)
    with pytest.raises(redis.ResponseError):
        run_scripts(client, [(ECHO, [], ["a", "not a number"])])


def test_the_api_and_the_console_answer_a_store_away_with_503_and_retry_after(
    settings: Settings,
) -> None:
    down = redis.Redis(port=1, retry=Retry(NoBackoff(), 0))
    client = create_app(settings, store=down, test_config={"TESTING": True}).test_client()

    api = client.get("/api/v1/links", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    page = client.get("/leaderboard")

    assert (api.status_code, page.status_code) == (503, 503)
    assert api.get_json()["error"]["code"] == "store_unavailable"
    assert page.content_type.startswith("text/html")
    assert api.headers["Retry-After"] == page.headers["Retry-After"] == "5"
