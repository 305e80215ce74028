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
def service(env: dict[str, str], workers: int = 3, args: Sequence[str] = ()) -> Iterator[str]:
    """``redirector serve [args]`` in a child process; yields its base URL."""
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
    proc = subprocess.Popen(
        [sys.executable, "-m", "redirector.cli", "serve", "--port", str(port), *args],
        env=child_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(
            lambda: requests.get(f"{base}/readyz", timeout=1).status_code == 200,
            timeout=30,
            what="redirector serve",
        )
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
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


@contextmanager
def redis_cluster(masters: int = 3) -> Iterator[str]:
    """A private Redis Cluster of ``masters`` masters on free loopback ports;
    yields the URL of one node."""
    binary = shutil.which("redis-server")
    cli = shutil.which("redis-cli")
    if binary is None or cli is None:
        pytest.skip("redis-server and redis-cli are needed for a cluster")
    workdir = tempfile.mkdtemp(prefix="redirector-cluster-")
    ports = [cluster_port() for _ in range(masters)]
    procs = [
        subprocess.Popen(
            [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--cluster-enabled", "yes",
             "--cluster-config-file", f"{workdir}/nodes-{port}.conf", "--dir", workdir],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for port in ports
    ]  # fmt: skip
    try:
        for port in ports:
            wait_until(lambda p=port: redis.Redis(port=p).ping(), what=f"cluster node {port}")
        subprocess.run(
            [cli, "--cluster", "create", *(f"127.0.0.1:{p}" for p in ports),
             "--cluster-replicas", "0", "--cluster-yes"],
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        wait_until(
            lambda: all(
                redis.Redis(port=p).cluster("info")["cluster_state"] == "ok" for p in ports
            ),
            what="cluster state ok",
        )
        yield f"redis://127.0.0.1:{ports[0]}"
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(10)
        shutil.rmtree(workdir, ignore_errors=True)
