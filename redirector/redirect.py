"""The redirect, ``GET``/``HEAD /r/<token>``: the product's hot path.

It is a plain WSGI callable in front of the Flask app, so a click pays for
none of Flask's routing and request machinery. Per click it does, in order:
verify the token (memoised), classify the user agent (memoised), read or issue
the device id, then one round trip to the store that reads the link's state
and destination and records the click (``clicks.record_click``). Only then is
the answer sent, so a redirected click is always a recorded click.

Rules (SPEC, Redirect):
- a token that does not verify, or names no link: 404, a small page, no Location;
- a disabled link or an inactive product: 410;
- mobile (iOS, Android, HarmonyOS, in-app browsers) goes to the app deep link
  when the product has one, anything else to the web URL;
- the click id is appended in the storefront's parameter after the URL's own
  query, which is kept byte for byte (``with_click_id``);
- bots (crawler and link-preview agents, prefetches, HEAD) are redirected too,
  but flagged and counted apart;
- the device cookie ``rd_did`` is set when absent or not issued by us.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable, Sequence
from functools import lru_cache
from typing import Any
from urllib.parse import quote, urlsplit

from itsdangerous import BadSignature

from . import bots, clicks, metrics
from .clock import Clock
from .config import DEVICE_COOKIE, DEVICE_COOKIE_MAX_AGE, UNIQUE_WINDOW_SECONDS, Settings
from .ids import KeyedSigner, random_id
from .links import LinkSigner, local_date
from .store import UNAVAILABLE_ERRORS

DEVICE_SALT = "redirector.device"
DEVICE_ID_LENGTH = 16
StartResponse = Callable[..., Any]

_PAGE = (
    "<!doctype html><html lang=en><meta charset=utf-8><title>{title}</title>"
    "<body style='font-family:sans-serif;max-width:30em;margin:4em auto'>"
    "<h1>{title}</h1><p>{text}</p></body></html>"
)
NOT_FOUND_PAGE = _PAGE.format(
    title="Link not found",
    text="This tracking link does not exist. Check that it was copied whole.",
).encode()
GONE_PAGE = _PAGE.format(
    title="Link no longer active", text="The creator or the shop has switched this link off."
).encode()
UNAVAILABLE_PAGE = _PAGE.format(
    title="Try again in a moment", text="The service is briefly unavailable."
).encode()


def with_click_id(url: str, param: str, click_id: str) -> str:
    """Append ``param=click_id`` after the URL's own query, before any fragment,
    leaving every byte of what was there untouched."""
    base, hash_mark, fragment = url.partition("#")
    if "?" in base:
        separator = "" if base.endswith(("?", "&")) else "&"
    else:
        separator = "?"
    return f"{base}{separator}{param}={quote(click_id, safe='')}{hash_mark}{fragment}"


class DeviceIds:
    """Opaque device ids, signed so that a cookie we did not issue is replaced."""

    def __init__(self, secret_keys: Sequence[str]) -> None:
        self._signer = KeyedSigner(list(reversed(secret_keys)), salt=DEVICE_SALT)
        self.verify = lru_cache(maxsize=65536)(self._verify)

    def issue(self) -> tuple[str, str]:
        """A new device: (raw id, cookie value)."""
        raw = random_id(DEVICE_ID_LENGTH)
        return raw, self._signer.sign(raw).decode()

    def _verify(self, cookie: str) -> str | None:
        """The raw id inside a cookie value (or an order's ``device_id``), or None."""
        try:
            raw = self._signer.unsign(cookie).decode()
        except (BadSignature, UnicodeError, ValueError):
            return None
        return raw if len(raw) == DEVICE_ID_LENGTH and raw.isalnum() else None


class IpHasher:
    """IP addresses are kept only as a keyed hash (BLAKE2b, 48 bits: enough to
    tell the addresses behind one link apart, too few to serve as a lookup key)."""

    def __init__(self, secret_keys: Sequence[str]) -> None:
        # The oldest key: rotating the signing keys must not change every hash.
        self._key = hashlib.sha256(b"redirector.ip:" + secret_keys[-1].encode()).digest()

    def __call__(self, ip: str) -> str:
        return hashlib.blake2b(ip.encode(), key=self._key, digest_size=6).hexdigest()


def _cookie_value(environ: dict[str, Any]) -> str | None:
    header = environ.get("HTTP_COOKIE")
    if not header or DEVICE_COOKIE not in header:
        return None
    # Split by hand rather than with SimpleCookie, which stops at the first
    # cookie it cannot parse (a JSON value, a space, UTF-8 bytes), so another
    # site cookie sent before ours would cost the device its id. The first
    # one wins, as browsers send the most specific path first.
    for pair in header.split(";"):
        name, equals, value = pair.partition("=")
        if equals and name.strip() == DEVICE_COOKIE:
            return value.strip().strip('"')
    return None


def _referrer_host(environ: dict[str, Any]) -> str:
    referer = environ.get("HTTP_REFERER")
    if not referer:
        return ""
    try:
        host = urlsplit(referer).hostname or ""
    except ValueError:
        return ""
    return host[:64].replace("|", "")


class Redirector:
    """WSGI middleware: answers ``/r/<token>`` itself, passes the rest to ``app``."""

    def __init__(
        self,
        app: Callable[[dict[str, Any], StartResponse], Iterable[bytes]],
        *,
        settings: Settings,
        store: Any,
        clock: Clock,
        link_signer: LinkSigner,
        devices: DeviceIds,
    ) -> None:
        self.app = app
        self.settings = settings
        self.store = store
        self.clock = clock
        self.link_signer = link_signer
        self.devices = devices
        self.hash_ip = IpHasher(settings.secret_keys)
        self.retention_seconds = settings.retention_seconds
        self.unique_window_ms = UNIQUE_WINDOW_SECONDS * 1000
        secure = "; Secure" if (settings.public_url or "").startswith("https:") else ""
        self.cookie_suffix = (
            f"; Max-Age={DEVICE_COOKIE_MAX_AGE}; Path=/; HttpOnly; SameSite=Lax{secure}"
        )
        self.observe = metrics.REQUEST_SECONDS.labels("redirect").observe
        self.outcomes = {
            name: metrics.CLICKS.labels(name)
            for name in ("human", "bot", "gone", "not_found", "unavailable")
        }

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if not path.startswith("/r/"):
            return self.app(environ, start_response)
        started = time.perf_counter()
        try:
            return self.redirect(environ, start_response, path[3:])
        finally:
            self.observe(time.perf_counter() - started)

    def _page(
        self,
        start_response: StartResponse,
        status: str,
        body: bytes,
        head: bool,
        extra: list[tuple[str, str]] | None = None,
    ) -> list[bytes]:
        headers = [
            ("Content-Type", "text/html; charset=utf-8"),
            ("Content-Length", str(len(body))),
            ("Cache-Control", "no-store"),
        ]
        start_response(status, headers + (extra or []))
        return [] if head else [body]

    def redirect(
        self, environ: dict[str, Any], start_response: StartResponse, token: str
    ) -> list[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        head = method == "HEAD"
        if method not in ("GET", "HEAD"):
            body = b"Method not allowed\n"
            start_response(
                "405 METHOD NOT ALLOWED",
                [
                    ("Allow", "GET, HEAD"),
                    ("Content-Type", "text/plain"),
                    ("Content-Length", str(len(body))),
                ],
            )
            return [body]
        link_id = self.link_signer.link_id_for(token) if token and "/" not in token else None
        if link_id is None:
            self.outcomes["not_found"].inc()
            return self._page(start_response, "404 NOT FOUND", NOT_FOUND_PAGE, head)

        # Capped: the memo is keyed by the header, which a client could make huge.
        agent = bots.classify_user_agent((environ.get("HTTP_USER_AGENT") or "")[:1024])
        bot = (
            agent.bot is not None
            or head
            or bots.is_prefetch(environ.get("HTTP_PURPOSE"), environ.get("HTTP_SEC_PURPOSE"))
        )
        cookie = _cookie_value(environ)
        device = self.devices.verify(cookie) if cookie else None
        set_cookie = None
        if device is None:
            device, set_cookie = self.devices.issue()

        try:
            now_ms = self.clock.now_ms()
            click_id = clicks.new_click_id(link_id, now_ms)
            outcome = clicks.record_click(
                self.store,
                link_id=link_id,
                click_id=click_id,
                now_ms=now_ms,
                device=device,
                ip_hash=self.hash_ip(environ.get("REMOTE_ADDR", "")),
                user_agent=agent.label
                if agent.bot or not bot
                else "bot/" + ("head" if head else "prefetch"),
                bot=bot,
                referrer=_referrer_host(environ),
                local_date=local_date(now_ms, self.settings.timezone),
                retention_seconds=self.retention_seconds,
                unique_window_ms=self.unique_window_ms,
            )
        except UNAVAILABLE_ERRORS:
            self.outcomes["unavailable"].inc()
            return self._page(
                start_response,
                "503 SERVICE UNAVAILABLE",
                UNAVAILABLE_PAGE,
                head,
                [("Retry-After", "5")],
            )

        if outcome.status == 404:
            self.outcomes["not_found"].inc()
            return self._page(start_response, "404 NOT FOUND", NOT_FOUND_PAGE, head)
        if outcome.status == 410:
            self.outcomes["gone"].inc()
            return self._page(start_response, "410 GONE", GONE_PAGE, head)

        self.outcomes["bot" if bot else "human"].inc()
        # Bots get the web page even with a phone's user agent: a crawler or a
        # preview fetcher cannot open an app, and the page is what it should see.
        deep = agent.mobile and not bot and outcome.app_url
        url = outcome.app_url if deep else outcome.web_url
        headers = [
            ("Location", with_click_id(url, outcome.click_param, click_id)),
            ("Content-Length", "0"),
            ("Cache-Control", "no-store"),
        ]
        if set_cookie:
            headers.append(("Set-Cookie", f"{DEVICE_COOKIE}={set_cookie}{self.cookie_suffix}"))
        start_response("302 FOUND", headers)
        return []
