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
  the status and the first ``RESPONSE_CAP`` bytes are read, then the
  connection is closed; redirects are not followed (a 3xx is a failure);
- success is a 2xx status.
"""

from __future__ import annotations

import http.client
import socket
import ssl
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
    return socket.create_connection((address, port), timeout=timeout)


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
        kind = _PinnedTLS if target.scheme == "https" else _Pinned
        conn = kind(target, address, left)
        try:
            status, excerpt = _exchange(conn, target, headers, body, deadline)
        except TimeoutError:
            return _answer(None, "timed out", "", started)
        except ConnectionRefusedError:
            error = f"connection refused by {address}"
            continue
        except (OSError, http.client.HTTPException) as exc:
            return _answer(None, f"{type(exc).__name__}: {exc}"[:200], "", started)
        finally:
            conn.close()
        return _answer(status, None, excerpt, started)
    return _answer(None, error, "", started)


def _exchange(
    conn: http.client.HTTPConnection,
    target: Target,
    headers: dict[str, str],
    body: bytes,
    deadline: float,
) -> tuple[int, str]:
    conn.request("POST", target.path, body=body, headers={**headers, "Host": target.host_header})
    _set_timeout(conn, deadline)
    response = conn.getresponse()
    data = b""
    while len(data) < RESPONSE_CAP:
        _set_timeout(conn, deadline)
        chunk = response.read1(RESPONSE_CAP - len(data)) if response.fp else b""
        if not chunk:
            break
        data += chunk
    return response.status, data.decode("utf-8", "replace")


def _set_timeout(conn: http.client.HTTPConnection, deadline: float) -> None:
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("deadline passed")
    if conn.sock is not None:
        conn.sock.settimeout(left)


def _answer(status: int | None, error: str | None, excerpt: str, started: float) -> Answer:
    return Answer(status, error, excerpt, round((time.monotonic() - started) * 1000))
