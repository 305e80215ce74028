"""The simulator's HTTP client: keep-alive sessions, one per thread, no cookie jar.

A simulated device is one browser with its own ``rd_did`` cookie, which the
traffic sends by hand; a session shared by many devices must keep none.
"""

from __future__ import annotations

import http.cookiejar
import threading
from typing import Any

import requests

from .options import SimulationError

__all__ = ["HTTP_TIMEOUT", "Http", "error_text"]

HTTP_TIMEOUT = 30


class _NoCookies(http.cookiejar.DefaultCookiePolicy):
    """Devices keep their own cookie: a session shared by many devices keeps none."""

    def set_ok(self, cookie: Any, request: Any) -> bool:
        return False

    def return_ok(self, cookie: Any, request: Any) -> bool:
        return False


class Http:
    """Keep-alive sessions, one per thread, with no cookie jar; counts requests."""

    def __init__(self, base_url: str, admin_token: str) -> None:
        self.base = base_url.rstrip("/")
        self.admin = {"Authorization": f"Bearer {admin_token}"}
        self._local = threading.local()
        self._lock = threading.Lock()
        self.count = 0

    def session(self) -> requests.Session:
        s = getattr(self._local, "session", None)
        if s is None:
            s = requests.Session()
            s.cookies.set_policy(_NoCookies())
            self._local.session = s
        return s

    def request(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        with self._lock:
            self.count += 1
        kwargs.setdefault("timeout", HTTP_TIMEOUT)
        try:
            return self.session().request(method, url, **kwargs)
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
