"""The service the simulator drives when given no URL: ``redirector serve`` in a
child process on a free loopback port, with an embedded store, the mock clock,
a fresh admin token and postback endpoints allowed on loopback; every other
setting, the click-fraud thresholds among them, its default."""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any

import requests

from .options import SimulationError

__all__ = ["embedded_service", "free_port", "interruptible"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def embedded_service(startup_timeout: float = 60.0) -> Iterator[tuple[str, str, subprocess.Popen]]:
    """``redirector serve`` in a child process on a free loopback port: embedded
    store, mock clock, a fresh admin token. Yields (base URL, admin token, process)."""
    token = secrets.token_urlsafe(24)
    port = free_port()
    env = {
        **os.environ,
        "REDIRECTOR_CLOCK": "mock",
        "REDIRECTOR_ADMIN_TOKEN": token,
        "REDIRECTOR_WEBHOOK_ALLOW_PRIVATE": "1",  # the run's postback receiver is on loopback
    }
    for name in ("REDIS_URL", "REDIS_CLUSTER_URL", "REDIRECTOR_PUBLIC_URL"):
        env.pop(name, None)
    log = tempfile.TemporaryFile()  # noqa: SIM115 - the child writes to it until the end
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "redirector.cli",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # Ctrl-C reaches us only: we stop it once the run is over
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(proc, base, log, startup_timeout)
        yield base, token, proc
    finally:
        _stop(proc)
        log.close()


def _wait_ready(proc: subprocess.Popen, base: str, log: IO[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            log.seek(0)
            tail = log.read().decode(errors="replace").strip().splitlines()[-3:]
            raise SimulationError("redirector serve stopped at start: " + " | ".join(tail))
        try:
            if requests.get(f"{base}/readyz", timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        if time.monotonic() > deadline:
            raise SimulationError(f"redirector serve did not answer on {base} in time")
        time.sleep(0.1)


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextmanager
def interruptible() -> Iterator[None]:
    """Ctrl-C and SIGTERM raise KeyboardInterrupt, so the embedded service is always
    stopped (even where the shell started us ignoring SIGINT)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
