"""The click threads: each plays its own devices on keep-alive ``http.client``
connections, with in-app, mobile and desktop user agents, plus crawlers, link
previews, a client with no user agent, ``HEAD`` checkers and browser
prefetches. Every 302 is recorded with its click id, and its ``Location``
checked against the product's URL (the app link for a phone's human click,
else the web URL); a few human clicks (and fewer bot clicks) become orders.
"""

from __future__ import annotations

import http.client
import random
import time
from dataclasses import dataclass
from urllib.parse import quote, unquote

from redirector.simulate.traffic import page_destination

from .callbacks import ORDER_CHANCE, new_order
from .state import Soak
from .world import BOT_AGENTS, HTTP_TIMEOUT, HUMAN_AGENTS, ClickSeen, Device, Link, now_ms

__all__ = ["click_thread"]


@dataclass(frozen=True)
class Request:
    """One request on the redirect: who sends it, and whether the service should
    count it as a bot."""

    method: str
    headers: dict[str, str]
    device: Device | None
    bot: bool


def click_thread(soak: Soak, index: int) -> None:
    rng = random.Random(soak.args.seed * 1000 + index)
    conn = _connect(soak)
    devices: list[Device] = []
    while not soak.stop_clicks.is_set():
        link = rng.choices(soak.links, soak.world.link_weights)[0]
        request = _request(rng, devices)
        with soak.lock:
            link.sent += 1
        outcome = _click(soak, conn, request.method, link, request.headers)
        if outcome is None:
            conn.close()
            conn = _connect(soak)
            continue
        click_id = _answered(soak, link, request, outcome)
        if click_id and not request.bot and rng.random() < ORDER_CHANCE:
            new_order(soak, rng, link, click_id, request.device)
        elif click_id and request.bot and rng.random() < ORDER_CHANCE / 10:
            new_order(soak, rng, link, click_id, None, bot_click=True)
    conn.close()


def _connect(soak: Soak) -> http.client.HTTPConnection:
    return http.client.HTTPConnection("127.0.0.1", soak.port, timeout=HTTP_TIMEOUT)


def _request(rng: random.Random, devices: list[Device]) -> Request:
    """A bot (7%: no cookies), else one of the thread's devices (now and then a
    new one), some of whose requests are link checks and prefetches."""
    roll = rng.random()
    headers: dict[str, str] = {}
    if roll < 0.07:  # crawler or link preview: no cookies
        agent = rng.choice(BOT_AGENTS)
        if agent:
            headers["User-Agent"] = agent
        return Request("GET", headers, None, True)
    if not devices or rng.random() < 0.08:
        devices.append(Device(*rng.choice(HUMAN_AGENTS)))
    device = rng.choice(devices)
    headers["User-Agent"] = device.agent
    if device.cookie:
        headers["Cookie"] = f"rd_did={device.cookie}"
    if roll < 0.09:
        return Request("HEAD", headers, device, True)  # a link checker
    if roll < 0.12:
        headers["Sec-Purpose"] = "prefetch"  # the browser prefetching
        return Request("GET", headers, device, True)
    return Request("GET", headers, device, False)


def _click(
    soak: Soak, conn: http.client.HTTPConnection, method: str, link: Link, headers: dict[str, str]
) -> tuple[int, str, str | None] | None:
    """One redirect; a request on a kept-alive connection the server closed
    while idle is sent again once (it was never read), as browsers do."""
    rec = soak.rec
    for attempt in (1, 2):
        started = time.perf_counter()
        try:
            conn.request(method, f"/r/{link.token}", headers=headers)
            response = conn.getresponse()
            body = response.read()
        except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
            conn.close()
            if attempt == 1:
                rec.count("click reconnects")
                continue
            rec.count("click answers lost")
            rec.problem("clicks", f"/r/{link.id}: no answer twice")
            return None
        except OSError as exc:  # a timeout: the click may or may not be counted
            rec.count("click answers lost")
            rec.problem("clicks", f"/r/{link.id}: {exc!r}")
            return None
        rec.time("click", time.perf_counter() - started)
        cookie = None
        for value in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = value.partition("=")
            if name.strip() == "rd_did":
                cookie = rest.split(";", 1)[0]
        location = response.headers.get("Location", "")
        if response.status == 200:
            # A landing page (WeChat, QQ): the shopper goes on by its button.
            location = page_destination(body.decode("utf-8", "replace")) or ""
        return response.status, location, cookie
    return None


def _answered(
    soak: Soak, link: Link, request: Request, outcome: tuple[int, str, str | None]
) -> str | None:
    """Record an answered click; answers its click id if the answer was right."""
    status, location, cookie = outcome
    # A person may get a landing page (docs/landing.md), whose button is read as
    # the Location; a bot never does.
    landed = status == 200 and not request.bot and location
    if status != 302 and not landed:
        soak.rec.problem("clicks", f"{request.method} /r/{link.id}: {status}")
        return None
    device = request.device
    if device is not None and cookie is not None:
        if device.cookie is not None:
            soak.rec.problem("clicks", f"a valid device cookie was replaced: {cookie}")
        device.cookie = cookie
    click_id = _check_location(soak, link, location, device, request.bot)
    answered = now_ms()
    raw = device.raw if device else None
    with soak.lock:
        if request.bot:
            link.bot += 1
        else:
            link.human += 1
            if raw:
                link.devices.add(raw)
        if click_id:
            soak.clicks.append(ClickSeen(click_id, link.id, request.bot, raw, answered))
    return click_id


def _check_location(
    soak: Soak, link: Link, location: str, device: Device | None, bot: bool
) -> str | None:
    deep = device is not None and device.mobile and not bot and link.app_url
    target = link.app_url if deep else link.web_url
    assert target is not None
    prefix = f"{target}{'&' if '?' in target else '?'}{link.param}="
    if not location.startswith(prefix):
        soak.rec.problem("clicks", f"Location {location!r} does not start with {prefix!r}")
        return None
    click_id = unquote(location[len(prefix) :])
    if (
        not click_id.startswith(link.id + ".")
        or quote(click_id, safe="") != location[len(prefix) :]
    ):
        soak.rec.problem("clicks", f"odd click id {click_id!r} for link {link.id}")
        return None
    return click_id
