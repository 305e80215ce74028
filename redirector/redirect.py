"""The redirect, ``GET``/``HEAD /r/<token>``: the product's hot path.

It is a plain WSGI callable in front of the Flask app, so a click pays for
none of Flask's routing and request machinery. Per click it does, in order:
verify the token (memoised), classify the user agent (memoised), read or issue
the device id, then one round trip to the store that reads the link's state
and destination and records the click (``clicks.record_click``). Only then is
the answer sent, so a redirected click is always a recorded click.

When the store is unreachable, a link this worker redirected in the last
``REDIRECTOR_LINK_CACHE_SECONDS`` (a per-process copy, filled from what the
click script answers, read only then) is still redirected: its click is
written to the local spool (``spool.py``) before the answer and replayed into
the store, exactly once, when it returns. Any other link answers 503 with
``Retry-After``, as does any other store error: never a 500.

Rules (docs/domain.md, Redirect):
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

import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import quote, urlsplit

import redis

from . import bots, clicks, metrics, spool
from .config import DEVICE_COOKIE, DEVICE_COOKIE_MAX_AGE, UNIQUE_WINDOW_SECONDS
from .context import Context
from .devices import IpHasher, cookie_value
from .links import local_date
from .proxies import ClientIp
from .store import UNAVAILABLE_ERRORS

log = logging.getLogger("redirector")

# Links a worker remembers for an outage (least recently redirected dropped first).
RECENT_LINKS = 10_000
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


def _referrer_host(environ: dict[str, Any]) -> str:
    referer = environ.get("HTTP_REFERER")
    if not referer:
        return ""
    try:
        host = urlsplit(referer).hostname or ""
    except ValueError:
        return ""
    return host[:64].replace("|", "")


def _replayed(outcome: clicks.ClickOutcome) -> str:
    if outcome.status != 302:
        return "dropped (no such link)"
    return "already recorded" if outcome.already_recorded else "counted"


class Redirector:
    """WSGI middleware: answers ``/r/<token>`` itself, passes the rest to ``app``."""

    def __init__(
        self,
        app: Callable[[dict[str, Any], StartResponse], Iterable[bytes]],
        ctx: Context,
    ) -> None:
        settings = ctx.settings
        self.app = app
        self.settings = settings
        self.store = ctx.store
        self.clock = ctx.clock
        self.link_signer = ctx.link_signer
        self.devices = ctx.devices
        self.hash_ip = IpHasher(settings.secret_keys)
        self.buckets = clicks.RecordBuckets()
        # X-Forwarded-For is believed only from the proxies the settings trust.
        self.client_ip = ClientIp(settings.trusted_proxies)
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
        # The outage fallback, with Redis only (the embedded store is never
        # away): link id -> (its last 302 outcome, time.monotonic() then). Read
        # only when the store is unreachable; in normal operation every click
        # reads the link's state in the store, so a disabled link stops at once.
        self.spool: spool.Spool | None = None
        self.recent_links: dict[str, tuple[clicks.ClickOutcome, float]] = {}
        self.remember_links = False
        self.link_cache_seconds = settings.link_cache_seconds
        self._evict_lock = threading.Lock()
        self._logged: set[type[BaseException]] = set()
        if not settings.embedded:
            self.spool = spool.Spool(
                spool.store_directory(
                    settings.spool_dir, settings.redis_url, settings.redis_cluster_url
                ),
                replay=self.replay_clicks,
                available=self._store_answers,
            )
            self.remember_links = self.link_cache_seconds > 0
            self.spool.start_if_pending()

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

    def _unavailable(self, start_response: StartResponse, head: bool) -> list[bytes]:
        self.outcomes["unavailable"].inc()
        return self._page(
            start_response,
            "503 SERVICE UNAVAILABLE",
            UNAVAILABLE_PAGE,
            head,
            [("Retry-After", "5")],
        )

    def _found(
        self,
        start_response: StartResponse,
        outcome: clicks.ClickOutcome,
        mobile: bool,
        bot: bool,
        click_id: str,
        set_cookie: str | None,
    ) -> list[bytes]:
        self.outcomes["bot" if bot else "human"].inc()
        # Bots get the web page even with a phone's user agent: a crawler or a
        # preview fetcher cannot open an app, and the page is what it should see.
        deep = mobile and not bot and outcome.app_url
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
        cookie = cookie_value(environ)
        device = self.devices.verify(cookie) if cookie else None
        set_cookie = None
        if device is None:
            device, set_cookie = self.devices.issue()

        try:
            now_ms = self.clock.now_ms()  # the mock clock lives in the store
        except redis.RedisError as exc:
            self._log_once(exc, "a store error")
            return self._unavailable(start_response, head)
        utc_day = now_ms // clicks.DAY_MS
        bucket = self.buckets.current(link_id, utc_day)
        click_id = clicks.new_click_id(link_id, now_ms, bucket)
        ip_hash = self.hash_ip(self.client_ip(environ))
        user_agent = (
            agent.label if agent.bot or not bot else "bot/" + ("head" if head else "prefetch")
        )
        referrer = _referrer_host(environ)
        day = local_date(now_ms, self.settings.timezone)
        try:
            outcome = clicks.record_click(
                self.store,
                link_id=link_id,
                click_id=click_id,
                now_ms=now_ms,
                device=device,
                ip_hash=ip_hash,
                user_agent=user_agent,
                bot=bot,
                referrer=referrer,
                local_date=day,
                retention_seconds=self.retention_seconds,
                unique_window_ms=self.unique_window_ms,
                fraud=self.settings.fraud,
            )
        except UNAVAILABLE_ERRORS:
            # Everything record_click needs, to record the click later as it is now.
            spooled = {
                "link_id": link_id,
                "click_id": click_id,
                "now_ms": now_ms,
                "device": device,
                "ip_hash": ip_hash,
                "user_agent": user_agent,
                "bot": bot,
                "referrer": referrer,
                "local_date": day,
            }
            return self._redirect_offline(start_response, head, spooled, agent.mobile, set_cookie)
        except redis.RedisError as exc:
            self._log_once(exc, "a store error")
            return self._unavailable(start_response, head)

        self.buckets.learn(link_id, utc_day, outcome)
        if outcome.status != 302:
            self.recent_links.pop(link_id, None)  # nor in an outage, then
            if outcome.status == 410:
                self.outcomes["gone"].inc()
                return self._page(start_response, "410 GONE", GONE_PAGE, head)
            self.outcomes["not_found"].inc()
            return self._page(start_response, "404 NOT FOUND", NOT_FOUND_PAGE, head)
        if self.remember_links:
            recent = self.recent_links
            recent.pop(link_id, None)  # to the end: the most recently used
            recent[link_id] = (outcome, time.monotonic())
            if len(recent) > RECENT_LINKS:
                self._evict()
        return self._found(start_response, outcome, agent.mobile, bot, click_id, set_cookie)

    # -- the store unreachable ------------------------------------------------------

    def _redirect_offline(
        self,
        start_response: StartResponse,
        head: bool,
        click: dict[str, Any],
        mobile: bool,
        set_cookie: str | None,
    ) -> list[bytes]:
        """Redirect a recently seen link and spool its click; else 503."""
        seen = self.recent_links.get(click["link_id"]) if self.spool is not None else None
        if seen is None or time.monotonic() - seen[1] > self.link_cache_seconds:
            return self._unavailable(start_response, head)
        assert self.spool is not None
        try:
            self.spool.append(click)
        except OSError as exc:
            self._log_once(exc, "the spool refusing a click")
            return self._unavailable(start_response, head)
        return self._found(
            start_response, seen[0], mobile, click["bot"], click["click_id"], set_cookie
        )

    def replay_clicks(self, batch: list[dict[str, Any]]) -> list[str]:
        """Record spooled clicks (``spool.Spool`` calls this, a batch per round
        trip); answers what became of each."""
        outcomes = clicks.replay_clicks(
            self.store,
            batch,
            retention_seconds=self.retention_seconds,
            unique_window_ms=self.unique_window_ms,
            fraud=self.settings.fraud,
        )
        return [_replayed(o) for o in outcomes]

    def _store_answers(self) -> bool:
        try:
            return bool(self.store.ping())
        except redis.RedisError:
            return False

    def _evict(self) -> None:
        """Drop the least recently redirected links beyond ``RECENT_LINKS``."""
        with self._evict_lock:
            recent = self.recent_links
            while len(recent) > RECENT_LINKS:
                try:
                    del recent[next(iter(recent))]
                except (KeyError, RuntimeError, StopIteration):
                    break  # another thread moved a link meanwhile: the next click evicts

    def _log_once(self, exc: BaseException, what: str) -> None:
        """Logged once per kind of error and process: an outage must not flood the log."""
        kind = type(exc)
        if kind in self._logged:
            return
        self._logged.add(kind)
        if isinstance(exc, UNAVAILABLE_ERRORS):  # the mock clock, kept in the store
            log.warning("the store is unreachable (%s); redirects answer 503", exc)
        else:
            log.error("the redirect answers 503 on %s (logged once)", what, exc_info=exc)
