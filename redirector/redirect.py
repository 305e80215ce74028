"""The redirect, ``GET``/``HEAD /r/<token>``: the product's hot path.

It is a plain WSGI callable in front of the Flask app, so a click pays for
none of Flask's routing and request machinery. Per click it does, in order:
verify the token (memoised), classify the user agent (memoised), read or issue
the device id, then one round trip to the store that reads the link's state
and destination and records the click (``clicks.record_click``; with group
commit, ``click_batches``, the round trip is shared with the worker's other
clicks in flight). Only then is the answer sent, so a redirected click is
always a recorded click.

When the store is unreachable, a link this worker redirected recently is still
redirected, its click spooled to local disk and replayed once the store
returns (``outage.py``). Any other link answers 503 with ``Retry-After``, as
does any other store error: never a 500.

Rules (docs/domain.md, Redirect):
- a token that does not verify, or names no link: 404, a small page, no Location;
- a disabled link or an inactive product: 410;
- a phone (iOS, Android, HarmonyOS) goes where the landing rules say for the
  in-app browser it was opened in and the product's storefront (``landing``):
  to the app deep link (the web URL when the product has none), to the web URL,
  or to a landing page, served by the console (``console.landing``) once the
  click is recorded; anything else goes to the web URL;
- the click id is appended in the storefront's parameter after the URL's own
  query, which is kept byte for byte (``with_click_id``);
- bots (crawler and link-preview agents, HEAD, prefetches and previews, and
  requests a page makes: ``Sec-Fetch-Dest`` other than ``document``, see
  ``bots.fetch_bot``) are redirected too, but flagged and counted apart;
- the device cookie ``rd_did`` is set, on a human click only, when absent or
  not issued by us.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple
from urllib.parse import quote, urlsplit

import redis

from . import bots, clicks, metrics
from .click_batches import ClickBatches, NotReplicated
from .clicks import DAY_MS, ClickFacts, ClickOutcome
from .config import DEVICE_COOKIE, DEVICE_COOKIE_MAX_AGE
from .context import Context
from .devices import DEVICE_ID_LENGTH, IpHasher, agent_hash, cookie_value
from .errors import StoreUnavailable
from .ids import random_id
from .landing import ENVIRON_KEY, WEB, LandingVisit, Route
from .links import local_date
from .outage import Outage
from .proxies import ClientIp

__all__ = ["Redirector", "Visit", "with_click_id"]

log = logging.getLogger("redirector")

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


class Visit(NamedTuple):
    """What a request for a link is, before the store is asked."""

    link_id: str
    head: bool  # HEAD: answered without a body, and counted as a bot
    route: Route  # where the click goes (``landing``): ``WEB`` for bots and desktops
    app: str | None  # the in-app browser, for a landing page's words
    platform: str
    bot: bool
    user_agent: str  # the class the click is recorded with
    device: str  # the raw device id: the cookie's, or a new one
    new_cookie: str | None  # the ``rd_did`` value to set, for a new device


class Redirector:
    """WSGI middleware: answers ``/r/<token>`` itself, passes the rest to ``app``."""

    def __init__(
        self,
        app: Callable[[dict[str, Any], StartResponse], Iterable[bytes]],
        ctx: Context,
    ) -> None:
        settings = ctx.settings
        self.app = app
        self.store = ctx.store
        self.clock = ctx.clock
        self.link_signer = ctx.link_signer
        self.devices = ctx.devices
        self.timezone = settings.timezone
        self.policy = clicks.ClickPolicy.of(settings)
        self.hash_ip = IpHasher(settings.secret_keys)
        self.buckets = clicks.RecordBuckets()
        # X-Forwarded-For is believed only from the proxies the settings trust.
        self.client_ip = ClientIp(settings.trusted_proxies)
        self.landing = settings.landing
        secure = "; Secure" if (settings.public_url or "").startswith("https:") else ""
        self.cookie_suffix = (
            f"; Max-Age={DEVICE_COOKIE_MAX_AGE}; Path=/; HttpOnly; SameSite=Lax{secure}"
        )
        self.observe = metrics.REQUEST_SECONDS.labels("redirect").observe
        self.outcomes = {
            name: metrics.CLICKS.labels(name)
            for name in ("human", "bot", "gone", "not_found", "unavailable")
        }
        # With Redis only: the embedded store is never away.
        self.outage = None if settings.embedded else Outage(settings, ctx.store, self.policy)
        # Clicks of concurrent requests share round trips (``click_batches``).
        self.batches = (
            ClickBatches(
                ctx.store,
                self.policy,
                replicas=settings.click_replicas,
                replica_timeout_ms=settings.click_replica_timeout_ms,
            )
            if settings.group_commit or settings.click_replicas
            else None
        )
        self._logged: set[type[BaseException]] = set()

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if not path.startswith("/r/"):
            return self.app(environ, start_response)
        started = time.perf_counter()
        try:
            return self.redirect(environ, start_response, path[3:])
        finally:
            self.observe(time.perf_counter() - started)

    def redirect(
        self, environ: dict[str, Any], start_response: StartResponse, token: str
    ) -> Iterable[bytes]:
        """What this visit is (``visit``), then the store's word on it, answered."""
        method = environ.get("REQUEST_METHOD", "GET")
        if method != "GET" and method != "HEAD":
            return _method_not_allowed(start_response)
        visit = self.visit(environ, token, method == "HEAD")
        if visit is None:
            return self._not_found(start_response, method == "HEAD")
        try:
            now_ms = self.clock.now_ms()  # the mock clock lives in the store
        except (StoreUnavailable, redis.RedisError) as exc:
            return self._store_error(start_response, visit.head, exc)
        click = self.click(environ, visit, now_ms)
        try:
            if self.batches is not None:
                outcome = self.batches.record(click)
            else:
                outcome = clicks.record_click(self.store, click, self.policy)
        except NotReplicated as short:
            outcome = short.outcome
            if not self._spool_unreplicated(click):
                return self._unavailable(start_response, visit.head)
        except StoreUnavailable:
            return self._offline(environ, start_response, visit, click)
        except redis.RedisError as exc:
            return self._store_error(start_response, visit.head, exc)
        self.buckets.learn(visit.link_id, now_ms // DAY_MS, outcome)
        if outcome.status != 302:
            return self._refused(start_response, visit, outcome.status)
        if self.outage is not None:
            self.outage.remember(visit.link_id, outcome)
        return self._found(environ, start_response, outcome, visit, click.click_id)

    def visit(self, environ: dict[str, Any], token: str, head: bool) -> Visit | None:
        """The link the token names (None: none), the agent, the device."""
        link_id = self.link_signer.link_id_for(token) if token and "/" not in token else None
        if link_id is None:
            return None
        # Capped: the memo is keyed by the header, which a client could make huge.
        agent = bots.classify_user_agent((environ.get("HTTP_USER_AGENT") or "")[:1024])
        if agent.bot is not None:
            bot, user_agent = True, agent.label
        else:
            # A browser's HEAD, prefetch, preview or fetch for a page (an <img>,
            # a frame) is recorded as a bot of its own kind.
            fetched = "bot/head" if head else bots.fetch_bot(environ)
            bot, user_agent = fetched is not None, fetched or agent.label
        cookie = cookie_value(environ)
        device = self.devices.verify(cookie) if cookie else None
        new_cookie = None
        if device is None:
            if bot:
                # Never a cookie to a bot: one set by an <img> fetch would be
                # cookie stuffing. Its click is recorded under a throwaway id.
                device = random_id(DEVICE_ID_LENGTH)
            else:
                device, new_cookie = self.devices.issue()
        # Bots get the web page even with a phone's user agent: a crawler or a
        # preview fetcher cannot open an app, and the page is what it should see.
        route = self.landing.route(agent.app, agent.platform) if agent.mobile and not bot else WEB
        return Visit(
            link_id, head, route, agent.app, agent.platform, bot, user_agent, device, new_cookie
        )

    def click(self, environ: dict[str, Any], visit: Visit, now_ms: int) -> ClickFacts:
        """The visit as a click made now, in the records bucket its link fills."""
        link_id = visit.link_id
        bucket = self.buckets.current(link_id, now_ms // DAY_MS)
        new_device = visit.new_cookie is not None
        # Only a new device's clicks are counted by agent (``fraud``): a
        # returning one's click neither hashes its agent nor spools it.
        agent = agent_hash((environ.get("HTTP_USER_AGENT") or "")[:1024]) if new_device else ""
        return ClickFacts(
            link_id,
            clicks.new_click_id(link_id, now_ms, bucket),
            now_ms,
            visit.device,
            self.hash_ip(self.client_ip(environ)),
            visit.user_agent,
            visit.bot,
            _referrer_host(environ),
            local_date(now_ms, self.timezone),
            new_device,
            agent,
        )

    # -- answers ----------------------------------------------------------------------

    def _found(
        self,
        environ: dict[str, Any],
        start_response: StartResponse,
        outcome: ClickOutcome,
        visit: Visit,
        click_id: str,
    ) -> Iterable[bytes]:
        self.outcomes["bot" if visit.bot else "human"].inc()
        action = visit.route.at(outcome.storefront_id)
        if action == "landing":
            return self._landing(environ, start_response, outcome, visit, click_id)
        url = outcome.app_url if action == "app" and outcome.app_url else outcome.web_url
        headers = [
            ("Location", with_click_id(url, outcome.click_param, click_id)),
            ("Content-Length", "0"),
            ("Cache-Control", "no-store"),
        ]
        if visit.new_cookie:
            headers.append(("Set-Cookie", self._device_cookie(visit.new_cookie)))
        start_response("302 FOUND", headers)
        return []

    def _landing(
        self,
        environ: dict[str, Any],
        start_response: StartResponse,
        outcome: ClickOutcome,
        visit: Visit,
        click_id: str,
    ) -> Iterable[bytes]:
        """The click is recorded: the console's landing page answers, told of it
        in the environ (no other request reaches that page)."""
        param = outcome.click_param
        web_url = with_click_id(outcome.web_url, param, click_id)
        app_url = with_click_id(outcome.app_url, param, click_id) if outcome.app_url else ""
        environ[ENVIRON_KEY] = LandingVisit(
            link_id=visit.link_id,
            product_id=outcome.product_id,
            click_id=click_id,
            app=visit.app,
            platform=visit.platform,
            open_url=app_url or web_url,
            web_url=web_url,
            set_cookie=self._device_cookie(visit.new_cookie) if visit.new_cookie else None,
        )
        return self.app(environ, start_response)

    def _device_cookie(self, value: str) -> str:
        return f"{DEVICE_COOKIE}={value}{self.cookie_suffix}"

    def _refused(self, start_response: StartResponse, visit: Visit, status: int) -> list[bytes]:
        if self.outage is not None:
            self.outage.forget(visit.link_id)
        if status == 410:
            self.outcomes["gone"].inc()
            return _page(start_response, "410 GONE", GONE_PAGE, visit.head)
        return self._not_found(start_response, visit.head)

    def _not_found(self, start_response: StartResponse, head: bool) -> list[bytes]:
        self.outcomes["not_found"].inc()
        return _page(start_response, "404 NOT FOUND", NOT_FOUND_PAGE, head)

    def _unavailable(self, start_response: StartResponse, head: bool) -> list[bytes]:
        self.outcomes["unavailable"].inc()
        return _page(
            start_response,
            "503 SERVICE UNAVAILABLE",
            UNAVAILABLE_PAGE,
            head,
            [("Retry-After", "5")],
        )

    def _offline(
        self,
        environ: dict[str, Any],
        start_response: StartResponse,
        visit: Visit,
        click: ClickFacts,
    ) -> Iterable[bytes]:
        """The store is away: a recently redirected link is answered, its click
        spooled (``outage``); anything else 503."""
        seen = None
        if self.outage is not None:
            try:
                seen = self.outage.redirect_offline(click)
            except OSError as exc:
                self._log_once(exc, "the spool refusing a click")
        if seen is None:
            return self._unavailable(start_response, visit.head)
        return self._found(environ, start_response, seen, visit, click.click_id)

    def _spool_unreplicated(self, click: ClickFacts) -> bool:
        """A click only the master holds is spooled too, before its 302 (a
        replay of a click recorded already counts nothing); False when the
        spool refuses it."""
        if self.outage is None:
            return False
        try:
            self.outage.spool.append(click.to_spool())
        except OSError as exc:
            self._log_once(exc, "the spool refusing a click")
            return False
        return True

    def _store_error(
        self, start_response: StartResponse, head: bool, exc: BaseException
    ) -> list[bytes]:
        self._log_once(exc, "a store error")
        return self._unavailable(start_response, head)

    def _log_once(self, exc: BaseException, what: str) -> None:
        """Logged once per kind of error and process: an outage must not flood the log."""
        # A store away is logged per kind of redis-py error under it, as before.
        cause = exc.__cause__ if isinstance(exc, StoreUnavailable) else None
        kind = type(cause or exc)
        if kind in self._logged:
            return
        self._logged.add(kind)
        if isinstance(exc, StoreUnavailable):  # the mock clock, kept in the store
            log.warning("the store is unreachable (%s); redirects answer 503", exc.__cause__)
        else:
            log.error("the redirect answers 503 on %s (logged once)", what, exc_info=exc)


def _page(
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


def _method_not_allowed(start_response: StartResponse) -> list[bytes]:
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
