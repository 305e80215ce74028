"""One attempt: a signed POST to an endpoint, on the addresses the guard allowed.

- Signed with the ``standardwebhooks`` library, once per secret the endpoint
  has in force (the current one, and the previous one during a rotation's
  grace), the signatures space-separated in ``webhook-signature``;
- ``webhook-timestamp`` is the sending host's real time: receivers check it
  against their own clocks (5 minutes, in the reference library), whatever the
  service's mock clock says;
- the connection goes to the resolved addresses only, in order (the next one
  when one refuses); the request names the URL's host (``Host``, and TLS's SNI
  and certificate check for https);
- at most ``TIMEOUT_SECONDS`` in all, connecting included; of the answer only
  the status and the first ``RESPONSE_CAP`` bytes are read; redirects are not
  followed (a 3xx is a failure);
- a connection whose answer was read whole is kept for the thread's next
  attempt to the same host on the same address, for ``IDLE_SECONDS`` (the
  addresses are resolved and checked before every attempt all the same);
- success is a 2xx status.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import standardwebhooks

from .guard import Target

__all__ = [
    "RESPONSE_CAP",
    "TIMEOUT_SECONDS",
    "USER_AGENT",
    "Answer",
    "connect",
    "post",
    "signature",
]

TIMEOUT_SECONDS = 10.0
RESPONSE_CAP = 1024  # bytes of an answer read; the log keeps them
USER_AGENT = "redirector-postbacks/1"


@dataclass(frozen=True, slots=True)
class Answer:
    """What one attempt got: a status, or an error (timeout, refused...)."""

    status: int | None
    error: str | None
    excerpt: str  # the start of the answer's body
    duration_ms: int

    @property
    def delivered(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def signature(secrets: Sequence[str], msg_id: str, when: datetime, body: str) -> str:
    """``webhook-signature``: one ``v1,<base64>`` per secret, newest first."""
    moment = when.astimezone(UTC)  # the library reads the time as UTC
    return " ".join(standardwebhooks.Webhook(s).sign(msg_id, moment, body) for s in secrets)


def connect(address: str, port: int, timeout: float) -> socket.socket:
    """A TCP connection to one address (the one place a postback connects)."""
    sock = socket.create_connection((address, port), timeout=timeout)
    # http.client writes a request's head and body apart: on a kept connection
    # Nagle would hold the body until the server's delayed ACK (40 ms).
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


class _Pinned(http.client.HTTPConnection):
    """HTTP to one address, naming the URL's host."""

    def __init__(self, target: Target, address: str, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout)
        self.address = address

    def connect(self) -> None:
        self.sock = connect(self.address, self.port, self.timeout)  # type: ignore[arg-type]


class _PinnedTLS(http.client.HTTPSConnection):
    """HTTPS to one address; the certificate must name the URL's host."""

    def __init__(self, target: Target, address: str, timeout: float) -> None:
        super().__init__(
            target.host, target.port, timeout=timeout, context=ssl.create_default_context()
        )
        self.address = address

    def connect(self) -> None:
        sock = connect(self.address, self.port, self.timeout)  # type: ignore[arg-type]
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]


# A connection kept after an answer is reused by the next attempt of the same
# thread to the same host and address, while it has been idle less than this
# (servers close idle connections after 5 s to a few minutes).
IDLE_SECONDS = 4.0
Route = tuple[str, str, int, str]  # scheme, host, port, address
_threads = threading.local()


def _kept() -> dict[Route, tuple[http.client.HTTPConnection, float]]:
    kept: dict[Route, tuple[http.client.HTTPConnection, float]] | None = getattr(
        _threads, "kept", None
    )
    if kept is None:
        kept = _threads.kept = {}
    return kept


def _connection(
    target: Target, address: str, left: float
) -> tuple[http.client.HTTPConnection, bool]:
    """A kept connection to ``address`` (then True), or a new one."""
    route = (target.scheme, target.host, target.port, address)
    conn, used = _kept().pop(route, (None, 0.0))
    if conn is not None and time.monotonic() - used < IDLE_SECONDS:
        return conn, True
    if conn is not None:
        conn.close()
    kind = _PinnedTLS if target.scheme == "https" else _Pinned
    return kind(target, address, left), False


def post(
    target: Target,
    addresses: Sequence[str],
    headers: dict[str, str],
    body: bytes,
    timeout: float | None = None,
) -> Answer:
    """POST ``body`` to ``target`` on the first of ``addresses`` that takes a
    connection, in ``timeout`` seconds at most (``TIMEOUT_SECONDS``)."""
    started = time.monotonic()
    deadline = started + (TIMEOUT_SECONDS if timeout is None else timeout)
    error = "no address to connect to"
    for address in addresses:
        left = deadline - time.monotonic()
        if left <= 0:
            error = "timed out"
            break
        conn, reused = _connection(target, address, left)
        try:
            status, excerpt = _exchange(conn, target, headers, body, deadline)
        except TimeoutError:
            conn.close()
            return _answer(None, "timed out", "", started)
        except ConnectionRefusedError:
            conn.close()
            error = f"connection refused by {address}"
            continue
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            if reused:  # the server closed the kept connection: once more, on a new one
                return post(target, [address], headers, body, deadline - time.monotonic())
            return _answer(None, f"{type(exc).__name__}: {exc}"[:200], "", started)
        return _answer(status, None, excerpt, started)
    return _answer(None, error, "", started)


def _exchange(
    conn: http.client.HTTPConnection,
    target: Target,
    headers: dict[str, str],
    body: bytes,
    deadline: float,
) -> tuple[int, str]:
    """One request and the start of its answer; the connection is kept for the
    next attempt when the answer was read whole and the server keeps it open."""
    _set_timeout(conn, deadline)
    conn.request("POST", target.path, body=body, headers={**headers, "Host": target.host_header})
    _set_timeout(conn, deadline)
    response = conn.getresponse()
    _set_timeout(conn, deadline)
    data = response.read(RESPONSE_CAP)  # the socket's timeout bounds a slow answer
    if response.isclosed() and not response.will_close:  # read whole, and kept open
        _kept()[(target.scheme, target.host, target.port, conn.address)] = (  # type: ignore[attr-defined]
            conn,
            time.monotonic(),
        )
    else:
        conn.close()
    return response.status, data.decode("utf-8", "replace")


def _set_timeout(conn: http.client.HTTPConnection, deadline: float) -> None:
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("deadline passed")
    if conn.sock is not None:
        conn.sock.settimeout(left)


def _answer(status: int | None, error: str | None, excerpt: str, started: float) -> Answer:
    return Answer(status, error, excerpt, round((time.monotonic() - started) * 1000))
