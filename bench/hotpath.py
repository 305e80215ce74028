"""Where a click's CPU time goes, measured in one process, without gunicorn.

Starts a private ``redis-server``, builds the app on it as production does
(metrics in multiprocess mode), and calls the WSGI callable directly, as
gunicorn would, N times per target; prints CPU microseconds per request
(``time.process_time``: what this process burns, not the time it waits) for

- the service's redirect (a new device each click, as under wrk),
- the same redirect's store round trip alone (``store.run_scripts`` with an
  empty script): the client's share of talking to Redis at all, and Redis's,
- a bare Flask app answering 302 and a bare WSGI callable answering 302,

and Redis's own CPU per click (``INFO cpu``). ``--profile`` adds the
functions the redirect spends its CPU in (cProfile on process time).

    .venv/bin/python -m bench.hotpath [--requests 20000] [--profile]

For the same under gunicorn and wrk, sample the workers with py-spy:
``py-spy record --pid <gunicorn master> --subprocesses --format raw -o spy.txt``.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import tempfile
import time
from collections.abc import Callable
from typing import Any

import redis

from bench.baselines import flask_app, wsgi_app
from bench.redirect import ADMIN, KEYS, USER_AGENT, in_process, make_links, private_spool
from tests.servers import redis_server


def _environ(path: str) -> dict[str, Any]:
    return {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "HTTP_USER_AGENT": USER_AGENT,
        "REMOTE_ADDR": "127.0.0.1",
        "SERVER_NAME": "bench",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(),
        "wsgi.errors": io.StringIO(),
    }


def _start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
    if not status.startswith("302"):
        raise AssertionError(f"expected a 302, got {status}")


def cpu_per_call(call: Callable[[], Any], n: int) -> float:
    """Microseconds of this process's CPU per call, after a warm-up."""
    for _ in range(min(n // 10, 2000)):
        call()
    started = time.process_time()
    for _ in range(n):
        call()
    return 1e6 * (time.process_time() - started) / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="bench-metrics-"))
    # Imported after the metrics directory is set, as ``redirector serve`` does.
    from redirector import create_app, store
    from redirector.config import Settings

    n = args.requests
    with redis_server() as url:
        env = {
            "REDIS_URL": url,
            "REDIRECTOR_ADMIN_TOKEN": ADMIN,
            "REDIRECTOR_SECRET_KEYS": KEYS,
            "REDIRECTOR_SPOOL_DIR": private_spool(),
        }
        app = create_app(Settings.from_env(env))
        (link,) = make_links(in_process(app))
        token = link["token"]

        service = app.wsgi_app
        path = f"/r/{token}"

        def click() -> None:
            service(_environ(path), _start_response)

        r = redis.Redis.from_url(url, decode_responses=True)

        def redis_cpu() -> float:
            cpu = r.info("cpu")
            return float(cpu["used_cpu_user"]) + float(cpu["used_cpu_sys"])

        empty = store.Script("return 1")
        before = redis_cpu()
        round_trip = cpu_per_call(lambda: store.run_scripts(r, [(empty, [], [])]), n)
        redis_per_round_trip = 1e6 * (redis_cpu() - before) / (n + min(n // 10, 2000))
        for _ in range(2000):
            click()
        before = redis_cpu()
        service_cpu = cpu_per_call(click, n)
        redis_per_click = 1e6 * (redis_cpu() - before) / (n + min(n // 10, 2000))
        flask = flask_app.wsgi_app
        flask_cpu = cpu_per_call(lambda: list(flask(_environ("/r/x"), _start_response)), n)
        wsgi_cpu = cpu_per_call(lambda: list(wsgi_app(_environ("/r/x"), _start_response)), n)

        print(f"{n:,} requests each, CPU of this process per request:")
        print(f"  service redirect                 {service_cpu:7.1f} us")
        print(f"    of which a store round trip     {round_trip:7.1f} us (an empty script)")
        print(f"  bare Flask 302                   {flask_cpu:7.1f} us")
        print(f"  bare WSGI 302                    {wsgi_cpu:7.1f} us")
        print(f"Redis CPU per click                {redis_per_click:7.1f} us")
        print(f"  of which a round trip at all      {redis_per_round_trip:7.1f} us (empty script)")
        print(
            f"service without the round trip / bare Flask: "
            f"{(service_cpu - round_trip) / flask_cpu:.2f}; "
            f"with it and Redis's share: {(service_cpu + redis_per_click) / flask_cpu:.2f}"
        )
        # The floor under any design with a round trip per click, on this machine.
        print(
            f"an empty round trip alone (client + Redis) / bare Flask: "
            f"{(round_trip + redis_per_round_trip) / flask_cpu:.2f}"
        )

        if args.profile:
            profile = cProfile.Profile(time.process_time)
            profile.enable()
            for _ in range(n):
                click()
            profile.disable()
            out = io.StringIO()
            pstats.Stats(profile, stream=out).sort_stats("tottime").print_stats(20)
            print(out.getvalue())


if __name__ == "__main__":
    main()
