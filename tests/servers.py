"""Real processes for the tests that need them: a redis-server on a free
loopback port (``redis_server``, or ``RedisProcess`` to kill and restart it
from its AOF), ``redirector serve`` under gunicorn, and ``redirector worker``."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import pytest
import redis
import requests


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(check, timeout: float = 15.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except Exception:
            pass
        time.sleep(0.05)
    raise TimeoutError(f"timed out waiting for {what}")


@contextmanager
def redis_server(*args: str) -> Iterator[str]:
    """A private redis-server on a free loopback port; yields its URL."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed")
    port = free_port()
    workdir = tempfile.mkdtemp(prefix="redirector-redis-")
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", workdir, *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    try:
        wait_until(lambda: redis.Redis.from_url(url).ping(), what="redis-server")
        yield url
    finally:
        proc.terminate()
        proc.wait(10)
        shutil.rmtree(workdir, ignore_errors=True)


class RedisProcess:
    """A redis-server on one loopback port and one data directory, which can be
    killed (SIGKILL) and started again on both, from its AOF."""

    def __init__(self, *args: str, directory: str | None = None) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise FileNotFoundError("redis-server is not installed")
        self.binary = binary
        self.args = args
        self.port = free_port()
        self.owns_directory = directory is None
        self.directory = directory or tempfile.mkdtemp(prefix="redirector-redis-")
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 30) -> None:
        self.proc = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--dir", self.directory, *self.args],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        client = redis.Redis.from_url(self.url, socket_timeout=1)
        # PING answers LOADING while the AOF is read back: wait for a real PONG.
        wait_until(client.ping, timeout=timeout, what="redis-server")
        client.close()

    def kill(self) -> None:
        """SIGKILL: no shutdown, no last write."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)

    def __enter__(self) -> RedisProcess:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
        if self.owns_directory:
            shutil.rmtree(self.directory, ignore_errors=True)


@contextmanager
def redis_for_server() -> Iterator[dict[str, str]]:
    """The store settings for a child service: the cluster named by
    REDIS_CLUSTER_URL, else the Redis named by REDIS_URL (flushed), else a
    private redis-server."""
    cluster = os.environ.get("REDIS_CLUSTER_URL")
    url = os.environ.get("REDIS_URL")
    if cluster:
        from redis.cluster import RedisCluster

        client = RedisCluster.from_url(cluster)
        client.flushall(target_nodes=RedisCluster.PRIMARIES)
        yield {"REDIS_CLUSTER_URL": cluster}
        client.flushall(target_nodes=RedisCluster.PRIMARIES)
    elif url:
        redis.Redis.from_url(url).flushdb()
        yield {"REDIS_URL": url}
        redis.Redis.from_url(url).flushdb()
    else:
        with redis_server() as private:
            yield {"REDIS_URL": private}


@contextmanager
def service(
    env: dict[str, str],
    workers: int = 3,
    args: Sequence[str] = (),
    log: str | None = None,
    ready_within: float = 30,
) -> Iterator[str]:
    """``redirector serve [args]`` in a child process; yields its base URL. Its
    output goes to the file ``log`` names, else nowhere: a pipe nobody reads
    would stop the service once full (a failover logs a traceback per refused
    rate-limit check)."""
    port = free_port()
    # A spool directory of its own (mkdtemp: mode 0700), unless the test names
    # one: the shared default in /tmp may belong to another user or run.
    spool_dir = tempfile.mkdtemp(prefix="redirector-spool-")
    # The store is what ``env`` says, never what the test run happens to have set.
    child_env = {
        **os.environ,
        "REDIS_URL": "",
        "REDIS_CLUSTER_URL": "",
        "REDIRECTOR_SPOOL_DIR": spool_dir,
        **env,
        "REDIRECTOR_WORKERS": str(workers),
    }
    output = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115 (closed below)
    proc = subprocess.Popen(
        [sys.executable, "-m", "redirector.cli", "serve", "--port", str(port), *args],
        env=child_env,
        stdout=output,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(
            lambda: requests.get(f"{base}/readyz", timeout=1).status_code == 200,
            timeout=ready_within,
            what="redirector serve",
        )
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
        if not isinstance(output, int):
            output.close()
        shutil.rmtree(spool_dir, ignore_errors=True)


@contextmanager
def postbacks_worker(env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    """``redirector worker`` in a child process (its output thrown away), on
    the store ``env`` names; stopped with SIGTERM."""
    spool_dir = tempfile.mkdtemp(prefix="redirector-spool-")
    child_env = {
        **os.environ,
        "REDIS_URL": "",
        "REDIS_CLUSTER_URL": "",
        "REDIRECTOR_SPOOL_DIR": spool_dir,
        **env,
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "redirector.cli", "worker"],
        env=child_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(spool_dir, ignore_errors=True)


def cluster_port() -> int:
    """A free port whose cluster bus port (port + 10000) is free and valid too."""
    while True:
        port = free_port()
        if port + 10000 > 65535:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port + 10000))
            except OSError:
                continue
        return port


class ClusterProcesses:
    """A private Redis Cluster on free loopback ports: ``masters`` masters, each
    with ``replicas`` replicas, and a short ``cluster-node-timeout`` so that a
    replica takes over about two seconds after its master dies. A node can be
    killed (SIGKILL) and started again on its port and ``nodes.conf``, where it
    rejoins as a replica of whoever serves its slots now."""

    def __init__(self, masters: int = 3, replicas: int = 0, node_timeout_ms: int = 1000) -> None:
        binary, cli = shutil.which("redis-server"), shutil.which("redis-cli")
        if binary is None or cli is None:
            raise FileNotFoundError("redis-server and redis-cli are needed for a cluster")
        self.binary, self.cli = binary, cli
        self.masters, self.replicas = masters, replicas
        self.node_timeout_ms = node_timeout_ms
        self.workdir = tempfile.mkdtemp(prefix="redirector-cluster-")
        self.ports = [cluster_port() for _ in range(masters * (1 + replicas))]
        self.procs: dict[int, subprocess.Popen[bytes]] = {}

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.ports[0]}"

    def client(self, port: int) -> redis.Redis:
        return redis.Redis(port=port, socket_timeout=2, socket_connect_timeout=1)

    def start_node(self, port: int) -> None:
        self.procs[port] = subprocess.Popen(
            [self.binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--cluster-enabled", "yes",
             "--cluster-node-timeout", str(self.node_timeout_ms),
             "--cluster-config-file", f"{self.workdir}/nodes-{port}.conf",
             "--dir", self.workdir, "--dbfilename", f"dump-{port}.rdb"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        wait_until(lambda: self.client(port).ping(), what=f"cluster node {port}")

    def start(self) -> None:
        for port in self.ports:
            self.start_node(port)
        subprocess.run(
            [self.cli, "--cluster", "create", *(f"127.0.0.1:{p}" for p in self.ports),
             "--cluster-replicas", str(self.replicas), "--cluster-yes"],
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        self.wait_healthy()

    def alive(self) -> list[int]:
        return [p for p, proc in self.procs.items() if proc.poll() is None]

    def roles(self) -> dict[int, str]:
        """Each live node's role, as it says itself: ``master`` or ``slave``."""
        return {p: self.client(p).info("replication")["role"] for p in self.alive()}

    def wait_healthy(self, timeout: float = 30) -> None:
        """Every live node sees the cluster ok, and every master with slots has
        its replicas attached and in sync (``online``)."""

        def healthy() -> bool:
            live = self.alive()
            if any(self.client(p).cluster("info")["cluster_state"] != "ok" for p in live):
                return False
            for port in self.serving_masters():
                info = self.client(port).info("replication")
                online = [
                    k for k, v in info.items() if k.startswith("slave") and isinstance(v, dict)
                    and v.get("state") == "online"
                ]  # fmt: skip
                if len(online) < self.replicas:
                    return False
            return True

        wait_until(healthy, timeout=timeout, what="cluster healthy, replicas in sync")

    def serving_masters(self) -> list[int]:
        """The ports of the masters that serve slots, as a live node sees them."""
        slots = self.client(self.alive()[0]).cluster("slots")
        return sorted({int(entry[2][1]) for entry in slots})

    def master_of(self, key: str) -> int:
        """The port of the master serving ``key``'s slot, as a live node sees it."""
        live = self.client(self.alive()[0])
        slot = int(live.execute_command("CLUSTER", "KEYSLOT", key))
        for entry in live.cluster("slots"):
            if int(entry[0]) <= slot <= int(entry[1]):
                return int(entry[2][1])
        raise LookupError(f"no node serves slot {slot}")

    def kill(self, port: int) -> None:
        """SIGKILL: no shutdown, no last write, no goodbye to the replicas."""
        proc = self.procs[port]
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)

    def wait_promoted(self, dead: int, key: str, timeout: float = 30) -> int:
        """Wait until another node serves ``key``'s slot (the dead master's
        replica, elected) and the cluster is ok again; answers its port."""
        promoted: list[int] = []

        def taken_over() -> bool:
            port = self.master_of(key)
            if port == dead or self.client(port).info("replication")["role"] != "master":
                return False
            states = {self.client(p).cluster("info")["cluster_state"] for p in self.alive()}
            promoted[:] = [port]
            return states == {"ok"}

        wait_until(taken_over, timeout=timeout, what=f"a replica promoted in place of {dead}")
        return promoted[0]

    def restart(self, port: int) -> None:
        """Start a killed node again: it learns it lost its slots and becomes a
        replica of the node that took them (empty: it synchronises in full)."""
        self.start_node(port)

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
        shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> ClusterProcesses:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextmanager
def redis_cluster(masters: int = 3, replicas: int = 0) -> Iterator[ClusterProcesses]:
    """A private Redis Cluster (``ClusterProcesses``, its URL in ``url``) of
    ``masters`` masters with ``replicas`` replicas each; skips the test when
    redis-server or redis-cli is missing."""
    if shutil.which("redis-server") is None or shutil.which("redis-cli") is None:
        pytest.skip("redis-server and redis-cli are needed for a cluster")
    with ClusterProcesses(masters, replicas) as cluster:
        yield cluster
