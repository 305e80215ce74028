"""The simulator's HTTP client: keep-alive sessions, one per thread, no cookie jar.

A simulated device is one browser with its own ``rd_did`` cookie, which the
traffic sends by hand; a session shared by many devices must keep none. A
device's request may come from its own source address (``network``): a
session bound to it, a few kept per thread.
"""

from __future__ import annotations

import http.cookiejar
import threading
from collections import OrderedDict
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from .network import loopback_binding
from .options import SimulationError

__all__ = ["HTTP_TIMEOUT", "Http", "error_text"]

HTTP_TIMEOUT = 30
BOUND_SESSIONS = 32  # per thread: the carriers' addresses are reused, home lines come and go


class _NoCookies(http.cookiejar.DefaultCookiePolicy):
    """Devices keep their own cookie: a session shared by many devices keeps none."""

    def set_ok(self, cookie: Any, request: Any) -> bool:
        return False

    def return_ok(self, cookie: Any, request: Any) -> bool:
        return False


class _SourceAdapter(HTTPAdapter):
    """Connections from one source address."""

    def __init__(self, source: str) -> None:
        self.source = source
        super().__init__(pool_connections=1, pool_maxsize=1)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["source_address"] = (self.source, 0)
        super().init_poolmanager(*args, **kwargs)


def _session(source: str | None = None) -> requests.Session:
    s = requests.Session()
    s.cookies.set_policy(_NoCookies())
    if source is not None:
        s.mount("http://", _SourceAdapter(source))
        # A connection per request: one kept per source would sit idle between
        # the hours its device clicks in, past the server's keep-alive, and be
        # reset under the next request.
        s.headers["Connection"] = "close"
    return s


class Http:
    """Keep-alive sessions, one per thread, with no cookie jar; counts requests."""

    def __init__(self, base_url: str, admin_token: str) -> None:
        self.base = base_url.rstrip("/")
        self.admin = {"Authorization": f"Bearer {admin_token}"}
        self._local = threading.local()
        self._lock = threading.Lock()
        self.count = 0
        # Sources are bound only where the service sees them (``network``).
        self.binds_sources = loopback_binding(self.base)

    def session(self, source: str | None = None) -> requests.Session:
        if source is None or not self.binds_sources:
            s = getattr(self._local, "session", None)
            if s is None:
                s = self._local.session = _session()
            return s
        bound: OrderedDict[str, requests.Session] | None = getattr(self._local, "bound", None)
        if bound is None:
            bound = self._local.bound = OrderedDict()
        found = bound.get(source)
        if found is not None:
            bound.move_to_end(source)
            return found
        if len(bound) >= BOUND_SESSIONS:
            bound.popitem(last=False)[1].close()
        found = bound[source] = _session(source)
        return found

    def request(
        self, method: str, url: str, source: str | None = None, **kwargs: Any
    ) -> requests.Response:
        """``source``: the address to send from, if the service can see it."""
        with self._lock:
            self.count += 1
        kwargs.setdefault("timeout", HTTP_TIMEOUT)
        try:
            return self.session(source).request(method, url, **kwargs)
        except requests.ConnectionError as exc:
            raise SimulationError(f"cannot reach the service at {self.base}: {exc}") from None
        except requests.Timeout:
            raise SimulationError(f"the service at {self.base} did not answer in time") from None

    def api(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        token: str | None = None,
        ok: tuple[int, ...] = (200, 201),
    ) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else self.admin
        answer = self.request(method, self.base + path, json=body, headers=headers)
        if answer.status_code not in ok:
            raise SimulationError(
                f"{method} {path} answered {answer.status_code}: {error_text(answer)}"
            )
        return answer.status_code, answer.json() if answer.content else None

    def post_signed(self, path: str, body: bytes, headers: dict[str, str]) -> requests.Response:
        return self.request("POST", self.base + path, data=body, headers=headers)


def error_text(answer: requests.Response) -> str:
    """The service's error message, or the start of the body if it sent none."""
    try:
        return str(answer.json()["error"]["message"])
    except (ValueError, KeyError, TypeError):
        return answer.text[:200]
