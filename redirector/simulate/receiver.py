"""A postback receiver on loopback: it verifies each message with the reference
``standardwebhooks`` library and keeps what arrived.

The simulator registers it as an endpoint and checks its books against what
it kept; the tests and the postbacks benchmark use it too. What it answers is
up to its ``answer`` (200 by default); it can be taken down and brought back on
the same port, as a receiver that restarts would be.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import standardwebhooks

__all__ = ["Received", "Receiver"]

LOOPBACK = "127.0.0.1"


@dataclass
class Received:
    """One request as the receiver saw it."""

    webhook_id: str
    timestamp: str
    signatures: list[str]
    body: bytes
    started: float  # time.monotonic() when the request arrived
    peer: tuple[str, int] = ("", 0)  # the client's address and port: its connection
    ended: float = 0.0  # ... and when its answer was sent
    status: int = 200
    verified_by: list[int] = field(default_factory=list)  # indices of the secrets that verify

    @property
    def message(self) -> dict[str, Any]:
        doc: dict[str, Any] = json.loads(self.body)
        return doc

    @property
    def type(self) -> str:
        return str(self.message["type"])

    @property
    def verified(self) -> bool:
        return bool(self.verified_by)


class Receiver:
    """An HTTP server on a free loopback port; ``url`` is where to register it."""

    def __init__(
        self,
        secrets: Sequence[str] = (),
        answer: Callable[[Received], int] | None = None,
        delay: float = 0.0,
        path: str = "/hooks",
    ) -> None:
        self.secrets = list(secrets)
        self.answer = answer or (lambda _: 200)
        self.delay = delay
        self.path = path
        self.received: list[Received] = []
        self.lock = threading.Lock()
        self.port = 0
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._open: set[socket.socket] = set()  # connections kept open by clients

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}{self.path}"

    def start(self) -> Receiver:
        """Listen (again on the same port, once it has one)."""
        server = ThreadingHTTPServer((LOOPBACK, self.port), self._handler())
        server.daemon_threads = True
        self.port = server.server_address[1]
        self._server = server
        # A short poll: ``stop`` waits for the loop to notice (0.5 s by default).
        self._thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening and drop the connections kept open: connections are
        refused until ``start``, as when a real server goes down."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        with self.lock:
            open_ones, self._open = list(self._open), set()
        for sock in open_ones:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def __enter__(self) -> Receiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def accepted(self) -> list[Received]:
        """The requests answered 2xx, in arrival order."""
        with self.lock:
            return [r for r in self.received if 200 <= r.status < 300]

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        """Wait until ``count`` requests were accepted (or the timeout passes)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and len(self.accepted()) < count:
            time.sleep(0.02)
        return self.accepted()

    def _verify(self, body: bytes, headers: dict[str, str]) -> list[int]:
        good = []
        for i, secret in enumerate(self.secrets):
            try:
                standardwebhooks.Webhook(secret).verify(body, headers)
            except standardwebhooks.WebhookVerificationError:
                continue
            good.append(i)
        return good

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Buffered: the answer's head and body leave in one segment. Written
            # apart, on a kept connection, Nagle holds the body until the
            # client's delayed ACK of the head (40 ms a message).
            wbufsize = -1

            def setup(self) -> None:
                super().setup()
                with receiver.lock:
                    receiver._open.add(self.connection)

            def finish(self) -> None:
                with receiver.lock:
                    receiver._open.discard(self.connection)
                super().finish()

            def do_POST(self) -> None:
                started = time.monotonic()
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {k.lower(): v for k, v in self.headers.items()}
                seen = Received(
                    webhook_id=headers.get("webhook-id", ""),
                    timestamp=headers.get("webhook-timestamp", ""),
                    signatures=headers.get("webhook-signature", "").split(),
                    body=body,
                    started=started,
                    peer=(str(self.client_address[0]), int(self.client_address[1])),
                    verified_by=receiver._verify(body, headers),
                )
                if receiver.delay:
                    time.sleep(receiver.delay)
                seen.status = receiver.answer(seen) if seen.verified else 401
                seen.ended = time.monotonic()
                with receiver.lock:
                    receiver.received.append(seen)
                self.send_response(seen.status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler
