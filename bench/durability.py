"""What a ``kill -9`` of Redis loses, under ``appendfsync everysec`` and ``always``.

For each policy, a redis-server with AOF in a fresh directory on this disk,
and two runs:

1. Redis alone: several threads record clicks through ``clicks.record_click``
   (the redirect's one round trip, without the spool) for a bounded time;
   halfway through Redis is killed with SIGKILL and started again from its
   AOF on the same port while the threads keep clicking. Printed: clicks
   answered (``record_click`` returned), clicks in Redis after the restart,
   lost (answered - counted; negative when clicks in flight at the kill were
   recorded but never answered), throughput before the kill.
2. The service: ``redirector serve``'s gunicorn settings on that Redis, wrk
   for a bounded time (its throughput), then wrk again with Redis killed
   (SIGKILL) a quarter of the way in and restarted a second later: 302s the
   service answered (its metrics) against clicks in Redis once the spool has
   been replayed.

A process kill is not a machine crash: what Redis has written to the AOF is
in the kernel's page cache and survives the process, whatever the policy. What
``everysec`` risks is a crash of the machine (power, kernel, VM): the writes
of the last second or two not yet fsync'd. That figure cannot be produced on
a live machine, so the script prints its bound: the clicks of two seconds at
the measured rate.

    .venv/bin/python -m bench.durability [--seconds 6] [--threads 8] [--connections 32]
                                         [--dir PATH] [--no-service]

``--dir`` puts the AOF on another disk (default: the system's temporary
directory); ``fsync`` costs what that disk makes it cost.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis
import requests
from redis.backoff import NoBackoff
from redis.retry import Retry

from bench.redirect import (
    ADMIN,
    gunicorn_args,
    human_clicks_answered,
    make_links,
    over_http,
    stop,
    wrk,
)
from redirector import clicks, keys
from redirector.config import Settings
from redirector.errors import StoreUnavailable
from tests.servers import RedisProcess, free_port, wait_until

LINK_ID = "DuRaBiLiTy"
KEYS = "bench-signing-key-0123456789abcdef"


@dataclass
class Result:
    policy: str
    answered: int
    counted: int
    refused: int
    rate_before_kill: float
    down_seconds: float

    @property
    def lost(self) -> int:
        return self.answered - self.counted


def setup_link(client: redis.Redis) -> None:
    """The link hash as the registry writes it (only what the click script reads)."""
    client.hset(
        keys.link(LINK_ID),
        mapping={
            "active": "1",
            "product_active": "1",
            "web_url": "https://shop.test/p/1",
            "app_url": "",
            "click_param": "rd_click",
        },
    )


def run(policy: str, seconds: float, threads: int, directory: str | None) -> Result:
    workdir = tempfile.mkdtemp(prefix="redirector-aof-", dir=directory)
    server = RedisProcess("--appendonly", "yes", "--appendfsync", policy, directory=workdir)
    answered = [0] * threads
    refused = [0] * threads
    stop = threading.Event()
    try:
        server.start()
        options: dict[str, Any] = {
            "decode_responses": True,
            "socket_timeout": 5,
            "socket_connect_timeout": 1,
            "retry": Retry(NoBackoff(), 0),
        }
        # One client per thread, as one per worker process, no retries (store.connect).
        setup_link(redis.Redis.from_url(server.url, **options))

        click_policy = clicks.ClickPolicy(retention_seconds=86_400, unique_window_ms=86_400_000)

        def clicker(n: int) -> None:
            client = redis.Redis.from_url(server.url, **options)
            device = f"dev{n:013d}"
            while not stop.is_set():
                now = int(time.time() * 1000)
                try:
                    click = clicks.ClickFacts(
                        link_id=LINK_ID,
                        click_id=clicks.new_click_id(LINK_ID, now),
                        at_ms=now,
                        device=device,
                        ip_hash="0" * 12,
                        user_agent="desktop",
                        bot=False,
                        referrer="",
                        local_date=time.strftime("%Y-%m-%d", time.gmtime(now / 1000)),
                    )
                    outcome = clicks.record_click(client, click, click_policy)
                except StoreUnavailable:
                    refused[n] += 1
                    time.sleep(0.01)
                    continue
                if outcome.status == 302:
                    answered[n] += 1

        workers = [threading.Thread(target=clicker, args=(n,)) for n in range(threads)]
        started = time.monotonic()
        for w in workers:
            w.start()
        time.sleep(seconds / 2)
        answered_at_kill = sum(answered)
        rate = answered_at_kill / (time.monotonic() - started)
        server.kill()
        killed = time.monotonic()
        server.start()
        down = time.monotonic() - killed
        time.sleep(seconds / 2)
        stop.set()
        for w in workers:
            w.join()
        counted = int(
            redis.Redis.from_url(server.url, decode_responses=True).hget(
                keys.link_stats(LINK_ID), "clicks"
            )
            or 0
        )
        return Result(policy, sum(answered), counted, sum(refused), rate, down)
    finally:
        stop.set()
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


@dataclass
class ServiceResult:
    policy: str
    rate: float  # 302/s over the run without a kill
    p99_ms: float
    answered: int  # 302s the service answered over the run with a kill
    counted: int
    unavailable: int  # 503s over that run (links a worker had not seen yet)
    notes: list[str]  # what the service and Redis logged about losses

    @property
    def lost(self) -> int:
        return self.answered - self.counted


def _answered(base: str) -> tuple[int, int]:
    """(302s to humans, 503s) the service answered so far, from its metrics."""
    text = requests.get(f"{base}/metrics", timeout=5).text
    match = re.search(r'^redirector_clicks_total\{outcome="unavailable"\} ([\d.e+]+)$', text, re.M)
    return human_clicks_answered(base), int(float(match.group(1))) if match else 0


def run_service(
    policy: str, seconds: float, connections: int, directory: str | None
) -> ServiceResult:
    workdir = tempfile.mkdtemp(prefix="redirector-aof-", dir=directory)
    server = RedisProcess(
        "--appendonly", "yes", "--appendfsync", policy,
        "--logfile", str(Path(workdir) / "redis.log"),
        directory=workdir,
    )  # fmt: skip
    spool_dir = Path(workdir) / "spool"
    service_log = Path(workdir) / "service.log"
    proc = None
    try:
        server.start()
        env = {
            "REDIS_URL": server.url,
            "REDIRECTOR_ADMIN_TOKEN": ADMIN,
            "REDIRECTOR_SECRET_KEYS": KEYS,
            "REDIRECTOR_SPOOL_DIR": str(spool_dir),
            "PROMETHEUS_MULTIPROC_DIR": tempfile.mkdtemp(prefix="bench-metrics-", dir=workdir),
        }
        settings = Settings.from_env(env)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        with service_log.open("wb") as log_file:
            proc = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", *gunicorn_args(settings, port),
                 "redirector.wsgi:app"],
                env={**os.environ, **env}, stdout=log_file, stderr=subprocess.STDOUT,
            )  # fmt: skip
        wait_until(lambda: requests.get(f"{base}/healthz", timeout=1).ok, 30, "the service")
        (link,) = make_links(over_http(base))
        url = f"{base}/r/{link['token']}"
        wrk(url, 1, connections)  # warm-up: every worker sees the link
        steady = wrk(url, max(1, round(seconds / 2)), connections)

        time.sleep(0.5)
        before_503 = _answered(base)[1]
        load = threading.Thread(target=wrk, args=(url, max(2, round(seconds / 2)), connections))
        load.start()
        time.sleep(seconds / 8)
        server.kill()
        time.sleep(1.0)
        server.start()
        load.join()
        time.sleep(0.5)
        after, after_503 = _answered(base)
        client = redis.Redis.from_url(server.url, decode_responses=True)
        wait_until(
            lambda: not any(spool_dir.rglob("clicks-*")), timeout=60, what="the spool replayed"
        )
        counted = int(client.hget(keys.link_stats(link["id"]), "clicks") or 0)
        notes = [
            line
            for path in (service_log, Path(workdir) / "redis.log")
            for line in path.read_text(errors="replace").splitlines()
            if re.search(r"refused|kept in|dropped|Traceback|taking too long|lost", line)
        ]
        notes += [f"left in the spool: {p.name}" for p in spool_dir.rglob("failed-*")]
        return ServiceResult(
            policy,
            steady.rate,
            steady.p99_ms,
            after,  # every 302 the service answered, warm-up and steady run included
            counted,
            after_503 - before_503,
            notes,
        )
    finally:
        if proc is not None:
            stop(proc)
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=6, help="load per policy")
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--connections", type=int, default=32, help="wrk connections")
    parser.add_argument("--dir", help="where the AOF goes (default: the temp directory)")
    parser.add_argument("--no-service", action="store_true", help="Redis alone only")
    parser.add_argument("--service-only", action="store_true", help="the service runs only")
    args = parser.parse_args()
    where = Path(args.dir or tempfile.gettempdir()).resolve()
    print(
        f"{args.threads} threads, {args.seconds:g} s per policy, Redis killed (SIGKILL) "
        f"halfway; AOF under {where}; {os.cpu_count()} cores"
    )
    if args.service_only:
        service_runs(args)
        return
    results = [
        run(policy, args.seconds, args.threads, args.dir) for policy in ("everysec", "always")
    ]
    print(
        f"{'appendfsync':12} {'answered':>9} {'in Redis':>9} {'lost':>5} "
        f"{'clicks/s':>9} {'down s':>7} {'refused':>8}"
    )
    for r in results:
        print(
            f"{r.policy:12} {r.answered:9d} {r.counted:9d} {r.lost:5d} "
            f"{r.rate_before_kill:9.0f} {r.down_seconds:7.2f} {r.refused:8d}"
        )
    everysec, always = results
    print(
        f"always / everysec throughput: {always.rate_before_kill / everysec.rate_before_kill:.2f}"
    )
    print(
        "a machine crash (not measured: it needs one) loses under everysec up to the last "
        f"~2 s of writes: about {2 * everysec.rate_before_kill:.0f} clicks at this rate; "
        "under always, nothing answered"
    )
    if not args.no_service:
        service_runs(args)


def service_runs(args: argparse.Namespace) -> None:
    print(
        f"\nthe service (gunicorn as `redirector serve`, wrk, {args.connections} connections): "
        f"{max(1, round(args.seconds / 2))} s steady, then {max(2, round(args.seconds / 2))} s "
        "with Redis killed and restarted 1 s later"
    )
    served = [
        run_service(policy, args.seconds, args.connections, args.dir)
        for policy in ("everysec", "always")
    ]
    print(
        f"{'appendfsync':12} {'req/s':>7} {'p99 ms':>7} {'302s':>7} {'in Redis':>9} "
        f"{'lost':>5} {'503s':>6}"
    )
    for r in served:
        print(
            f"{r.policy:12} {r.rate:7.0f} {r.p99_ms:7.1f} {r.answered:7d} {r.counted:9d} "
            f"{r.lost:5d} {r.unavailable:6d}"
        )
    print(f"always / everysec service throughput: {served[1].rate / served[0].rate:.2f}")
    for r in served:
        for note in r.notes:
            print(f"{r.policy}: {note}")


if __name__ == "__main__":
    main()
