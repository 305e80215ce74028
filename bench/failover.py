"""A Redis Cluster failover, repeated: what is answered, what is kept, what is lost.

Starts a private 3-master + 3-replica cluster (``cluster-node-timeout``
1000 ms) on loopback and one ``redirector serve`` on it (2 workers, a private
spool), with ``REDIRECTOR_MONEY_REPLICAS`` as ``--money-replicas`` says
(default 1: each money write confirmed by its replica) and
``REDIRECTOR_CLICK_REPLICAS`` as ``--click-replicas`` says (default 0, as
``serve``'s; 1: each batch of clicks confirmed, or spooled before its 302). Then, ``--kills``
times, on the same cluster and service (``tests/failover_drill.py``):

- clicks (4 keep-alive connections, a browser on a dozen links spread over the
  slots) and paid order callbacks (2 storefronts, each event sent again with
  its ``webhook-id`` after 0.1 s on a 503 or a dropped connection) flow;
- after ``--before`` seconds the master serving ``{money}`` is killed
  (SIGKILL); once its replica is promoted the dead node is started again (a
  supervisor's restart) and rejoins as a replica; the load goes on for
  ``--after`` seconds, then stops, and the cluster is let heal;
- once every spooled click is replayed, each click answered 302 is looked up
  by its id and each order answered 200 by its key, in the cluster.

Printed per kill and in total: clicks answered 302, present, counted (the
links' counters), lost; redirects answered 503; callbacks answered 200,
present, lost, and 503s; the longest time without a 302 and without a 200;
the time the promotion took.

Then, unless ``--no-cost``, what the confirmation costs a callback: a
redis-server with one replica on loopback, two services on it (money replicas
0 and 1), and ``--callbacks`` signed ``paid`` callbacks sent one after the
other to each, in ``--rounds`` alternating rounds: p50 and p99 per round and
the ratio of the medians; and, as a reference, Redis alone: a write, and a
write with its WAIT 1, in one round trip.

    .venv/bin/python -m bench.failover [--kills 10] [--before 2] [--after 3]
                                       [--money-replicas 1] [--callbacks 300]
                                       [--rounds 2] [--no-cost]
"""

from __future__ import annotations

import argparse
import http.client
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import redis

from redirector.storefront_client import StorefrontClient
from tests.conftest import ADMIN_TOKEN, SECRET_KEYS
from tests.failover_drill import Tally, drill, make_world
from tests.servers import ClusterProcesses, redis_server, service, wait_until

COLUMNS = (
    f"{'kill':>4} {'302s':>6} {'present':>7} {'counted':>7} {'lost':>4} {'r503':>5} "
    f"{'200s':>5} {'present':>7} {'lost':>4} {'c503':>5} {'no 302 s':>8} {'no 200 s':>8} "
    f"{'promoted s':>10}"
)


def row(label: str, t: Tally) -> str:
    return (
        f"{label:>4} {t.clicks_answered:>6} {t.clicks_present:>7} {t.clicks_counted:>7} "
        f"{t.clicks_lost:>4} {t.redirect_503:>5} {t.orders_answered:>5} {t.orders_present:>7} "
        f"{t.orders_lost:>4} {t.callback_503:>5} {t.redirect_gap:>8.2f} {t.callback_gap:>8.2f} "
        f"{t.promoted_after:>10.2f}"
    )


def env_for(
    store: dict[str, str], spool: Path, money_replicas: int, click_replicas: int = 0
) -> dict[str, str]:
    return {
        **store,
        "REDIRECTOR_MONEY_REPLICAS": str(money_replicas),
        "REDIRECTOR_CLICK_REPLICAS": str(click_replicas),
        "REDIRECTOR_ADMIN_TOKEN": ADMIN_TOKEN,
        "REDIRECTOR_SECRET_KEYS": SECRET_KEYS,
        "REDIRECTOR_SPOOL_DIR": str(spool),
    }


def failovers(
    kills: int, before: float, after: float, money_replicas: int, click_replicas: int
) -> None:
    print(
        f"{kills} kills of the {{money}} master, REDIRECTOR_MONEY_REPLICAS={money_replicas}, "
        f"REDIRECTOR_CLICK_REPLICAS={click_replicas}"
    )
    tallies: list[Tally] = []
    with ClusterProcesses(masters=3, replicas=1) as cluster:
        spool = Path(tempfile.mkdtemp(prefix="redirector-bench-spool-"))
        env = env_for({"REDIS_CLUSTER_URL": cluster.url}, spool, money_replicas, click_replicas)
        log = tempfile.mkstemp(prefix="redirector-failover-", suffix=".log")[1]
        print(f"(the service's log: {log})")
        print(COLUMNS)
        with service(env, workers=2, log=log, ready_within=120) as base:
            world = make_world(base, ADMIN_TOKEN)
            for n in range(1, kills + 1):
                tally = drill(world, cluster, spool, before=before, after=after, tag=f"k{n}")
                tallies.append(tally)
                print(row(str(n), tally), flush=True)
    total = Tally(
        *(sum(getattr(t, f) for t in tallies) for f in Tally.__dataclass_fields__ if f not in (
            "redirect_gap", "callback_gap", "promoted_after")),
        redirect_gap=max(t.redirect_gap for t in tallies),
        callback_gap=max(t.callback_gap for t in tallies),
        promoted_after=max(t.promoted_after for t in tallies),
    )  # fmt: skip
    print(row("all", total), " (gaps and promotion: the longest)")
    print(
        f"clicks: {total.clicks_answered} answered 302, {total.clicks_lost} lost; callbacks: "
        f"{total.orders_answered} answered 200, {total.orders_lost} lost, "
        f"{total.callback_503} answered 503, {total.unanswered_orders} never answered 200; "
        f"errors (500s, dropped connections): redirects {total.redirect_errors}, "
        f"callbacks {total.callback_errors}"
    )


def callback_latency(base: str, secret: str, count: int, tag: str) -> list[float]:
    """Milliseconds per signed ``paid`` callback, one after the other."""
    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=10)

    def post(path: str, body: bytes, headers: dict[str, str]) -> int:
        conn.request("POST", path, body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        return response.status

    client = StorefrontClient("shop", secret, post)
    times = []
    for n in range(count):
        event = client.event(f"{tag}-{n}", "paid", 10000, datetime.now(UTC))
        started = time.perf_counter()
        status = client.send(event)
        times.append((time.perf_counter() - started) * 1000)
        if status != 200:
            raise AssertionError(f"callback answered {status}")
    conn.close()
    return times


def write_latency(client: redis.Redis, replicas: int, count: int) -> float:
    """Median milliseconds of a write (and, with ``replicas``, its WAIT) in one round trip."""
    times = []
    for n in range(count):
        pipe = client.pipeline(transaction=False)
        pipe.set("bench:failover:write", n)
        if replicas:
            pipe.execute_command("WAIT", replicas, 1000)
        started = time.perf_counter()
        answers = pipe.execute()
        times.append((time.perf_counter() - started) * 1000)
        if replicas and answers[-1] < replicas:
            raise AssertionError("the replica did not acknowledge in time")
    return statistics.median(times)


def cost(callbacks: int, rounds: int) -> None:
    print(f"\nwhat WAIT costs a callback: a master and one replica on loopback, {callbacks} "
          "callbacks one after the other per round")  # fmt: skip
    with redis_server() as master, redis_server() as replica_url:
        replica = redis.Redis.from_url(replica_url)
        replica.execute_command("REPLICAOF", "127.0.0.1", urlsplit(master).port)
        wait_until(lambda: replica.info("replication")["master_link_status"] == "up")
        direct = redis.Redis.from_url(master)
        for r in range(rounds):
            bare, waited = write_latency(direct, 0, callbacks), write_latency(direct, 1, callbacks)
            print(f"round {r + 1}, Redis alone, a write: p50 {bare:.3f} ms; "
                  f"the same and WAIT 1: p50 {waited:.3f} ms")  # fmt: skip
        store = {"REDIS_URL": master}
        spools = [Path(tempfile.mkdtemp(prefix="redirector-bench-spool-")) for _ in range(2)]
        log = tempfile.mkstemp(prefix="redirector-failover-cost-", suffix=".log")[1]
        print(f"(the services' log: {log})")
        with (
            service(env_for(store, spools[0], 0), 2, log=log, ready_within=120) as plain,
            service(env_for(store, spools[1], 1), 2, log=log, ready_within=120) as confirmed,
        ):
            world = make_world(plain, ADMIN_TOKEN, links=1)
            medians: dict[str, list[float]] = {"0": [], "1": []}
            for r in range(rounds):
                for replicas, base in (("0", plain), ("1", confirmed)):
                    ms = callback_latency(base, world.secret, callbacks, f"c{r}-{replicas}")
                    p50 = statistics.median(ms)
                    p99 = statistics.quantiles(ms, n=100)[98]
                    medians[replicas].append(p50)
                    print(f"round {r + 1}, money replicas {replicas}: "
                          f"p50 {p50:.2f} ms, p99 {p99:.2f} ms")  # fmt: skip
        one, none = statistics.median(medians["1"]), statistics.median(medians["0"])
        print(f"median p50: {none:.2f} ms without WAIT, {one:.2f} ms with WAIT 1: "
              f"ratio {one / none:.2f}, +{one - none:.2f} ms")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--before", type=float, default=2.0, help="seconds of load before a kill")
    parser.add_argument("--after", type=float, default=3.0, help="seconds of load after promotion")
    parser.add_argument("--money-replicas", type=int, default=1)
    parser.add_argument("--click-replicas", type=int, default=0)
    parser.add_argument("--callbacks", type=int, default=300, help="callbacks per cost round")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--no-cost", action="store_true", help="skip the cost of WAIT")
    options = parser.parse_args()
    if options.kills:
        failovers(
            options.kills,
            options.before,
            options.after,
            options.money_replicas,
            options.click_replicas,
        )
    if not options.no_cost:
        cost(options.callbacks, options.rounds)


if __name__ == "__main__":
    main()
