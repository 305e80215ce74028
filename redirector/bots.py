"""User-agent classification for the redirect hot path.

Decides whether a click comes from a mobile platform (which gets the product's
app deep link), which in-app browser it was made in (``in_app``), and whether
it is a bot (crawler or link-preview fetcher), which is redirected but flagged.

A browser's request is a bot click too when its headers say that no person
asked for the page (``fetch_bot``): a prefetch (``Purpose``/``Sec-Purpose:
prefetch``, ``X-Moz: prefetch``), a preview (``X-Purpose: preview``), or a
request a page makes for something other than a document (``Sec-Fetch-Dest``
present and not ``document``: an image, a script, a frame, a ``fetch()``).
An absent ``Sec-Fetch-Dest`` is a navigation: old browsers, apps and HTTP
libraries send none, and the user agent judges those.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import crawleruseragents
import ua_parser

from .in_app import app_of

__all__ = [
    "CRAWLER_PATTERNS_COMPILED",
    "CRAWLER_PATTERNS_SKIPPED",
    "UserAgentClass",
    "classify_user_agent",
    "fetch_bot",
    "is_prefetch",
]

_MOBILE_PLATFORMS = frozenset({"ios", "android", "harmonyos"})

# Real UAs, in-app ones included, stay well under this; a cap keeps a crafted
# multi-kilobyte header from costing milliseconds in the crawler regex.
_MAX_UA_LENGTH = 1024


@dataclass(frozen=True, slots=True)
class UserAgentClass:
    """Classification of one User-Agent header."""

    platform: str  # "ios" | "android" | "harmonyos" | "desktop" | "other"
    app: str | None  # the in-app browser (``in_app.APPS``), or None
    bot: str | None  # None for humans, else "crawler" | "preview"

    @property
    def mobile(self) -> bool:
        """True for platforms that can open an app deep link."""
        return self.platform in _MOBILE_PLATFORMS

    @property
    def label(self) -> str:
        """Short stable string stored with each click, e.g. "android/weibo", "bot/preview"."""
        if self.bot is not None:
            return f"bot/{self.bot}"
        if self.app is not None:
            return f"{self.platform}/{self.app}"
        return self.platform


# --- Crawlers -----------------------------------------------------------------

# Patterns from the crawler-user-agents list that match real people. Each one is
# dropped from the combined regex; where the bot it targets still matters, a
# narrower replacement goes into _EXTRA_CRAWLER_PATTERNS.
_CRAWLER_PATTERN_EXCEPTIONS: dict[str, str] = {
    # Facebook's in-app browser has sent "... Safari/604.1 MetaIAB Facebook"
    # since late 2025 (Facebook 538 on iOS, current Android builds); the list
    # files it as a preview fetcher. Facebook's real fetcher is facebookexternalhit.
    "MetaIAB Facebook": "Facebook in-app browser",
    # Also matches the Viber in-app browser on Android ("... Mobile Safari/537.36
    # Viber/12.1.0.11"). Viber's preview fetch starts with "Viber" and is in
    # _PREVIEW_PATTERNS.
    "Viber": "Viber in-app browser",
    # Also matches Sogou's mobile browser ("SogouMobileBrowser/5.28") and the
    # Sogou search app ("SogouSearch Ios/9.8.0"), both common in China.
    "Sogou": "Sogou mobile browser and search app",
}
_EXTRA_CRAWLER_PATTERNS: tuple[str, ...] = (
    # Stands in for "Sogou": "Sogou web spider/4.0", "Sogou News Spider/4.0",
    # "Sogou inst spider", "Sogou-Test-Spider" ...
    r"Sogou[\w -]{0,24}[Ss]pider",
)

# Backreferences and named groups change meaning or collide once patterns are
# joined, so such a pattern is treated like one that fails to compile.
_UNCOMBINABLE = re.compile(r"\\[1-9]|\(\?P[<=]|\(\?<[A-Za-z]")


def _compile_alternation(patterns: list[str]) -> tuple[re.Pattern[str], int, int]:
    """Join patterns into one regex; return it with the numbers kept and skipped."""
    kept = [p for p in patterns if not _UNCOMBINABLE.search(p)]
    try:
        # One compile of the whole alternation is cheaper than checking every
        # pattern; the per-pattern pass only runs when the list has a bad one.
        combined = _alternation(kept)
    except re.error:
        kept = [p for p in kept if _compiles(f"(?:{p})")]
        combined = _alternation(kept)
    return combined, len(kept), len(patterns) - len(kept)


def _alternation(patterns: list[str]) -> re.Pattern[str]:
    # re tries every branch at every position of the UA. Hoisting a plain leading
    # letter or digit, "Googlebot" -> "G(?:(?:ooglebot)|...)", leaves one cheap
    # literal test per first character instead of one per pattern: a miss on a
    # typical UA drops from ~1 ms to ~0.15 ms with the 1,500-pattern list.
    by_first: dict[str, list[str]] = {}
    branches: list[str] = []
    for pattern in patterns:
        first, rest = pattern[:1], pattern[1:]
        # Only when cutting off the first character cannot change the meaning:
        # no top-level "|" (checked conservatively) and no quantifier on it.
        if (
            first.isascii()
            and first.isalnum()
            and "|" not in pattern
            and rest[:1] not in ("?", "*", "+", "{")
        ):
            by_first.setdefault(first, []).append(rest)
        else:
            branches.append(f"(?:{pattern})")
    for first, rests in by_first.items():
        branches.append(first + "(?:" + "|".join(f"(?:{r})" for r in rests) + ")")
    return re.compile("|".join(branches))


def _compiles(pattern: str) -> bool:
    try:
        re.compile(pattern)
    except re.error:
        return False
    return True


# CRAWLER_PATTERNS_COMPILED counts the _EXTRA_CRAWLER_PATTERNS too.
_CRAWLER_RE, CRAWLER_PATTERNS_COMPILED, CRAWLER_PATTERNS_SKIPPED = _compile_alternation(
    [
        entry["pattern"]
        for entry in crawleruseragents.CRAWLER_USER_AGENTS_DATA
        if entry["pattern"] not in _CRAWLER_PATTERN_EXCEPTIONS
    ]
    + list(_EXTRA_CRAWLER_PATTERNS)
)

# --- Link previews ------------------------------------------------------------

# Fetchers that unfurl a shared link into a card. Kept apart from the crawler
# list because that list misses some of them and files others as plain crawlers.
# Case-sensitive, like the crawler list.
_PREVIEW_PATTERNS: tuple[str, ...] = (
    r"Slackbot",  # Slackbot, Slackbot-LinkExpanding 1.0
    r"Slack-ImgProxy",
    r"TelegramBot",  # "TelegramBot (like TwitterBot)"
    # The preview is fetched by the app itself ("WhatsApp/2.23.20.0 A"); WhatsApp
    # has no in-app browser, so a leading token is enough.
    r"^WhatsApp\b",
    r"Twitterbot",
    # iMessage sends "facebookexternalhit/1.1 Facebot Twitterbot/1.0", and LINE
    # sends "facebookexternalhit/1.1;line-poker/1.0".
    r"facebookexternalhit",
    r"Facebot",
    r"line-poker",
    r"Discordbot",
    r"LinkedInBot",
    r"Pinterestbot",
    r"pinterest\.com/bot",  # "Pinterest/0.2 (+http://www.pinterest.com/bot.html)"
    r"SkypeUriPreview",
    r"Applebot",
    r"redditbot",
    r"Iframely",
    r"Embedly",
    r"vkShare",
    # "Viber" or "Viber/12.0.0.1 CFNetwork/..."; the Android in-app browser puts
    # "Viber/x" at the end of a normal WebView UA and must not match.
    r"^Viber\b",
    r"Google-InspectionTool",
    r"bitlybot",
    r"Snap URL Preview Service",
    r"SnapURLPreview",
    r"\bMastodon/",  # "http.rb/5.1.1 (Mastodon/4.2.0; +https://mastodon.social/)"
    r"Bluesky Cardyb",
    r"BlueskyPreviewBot",
    # Zalo's fetcher is reported (not documented) as "... Zalo/1.0 Safari/537.36";
    # its in-app browser says "Zalo android/..." or "Zalo iOS/...", not matched here.
    r"\bZalo/",
    # Tencent's checker that fetches links shared in QQ (seen in logs, not
    # documented). WeChat's card fetcher has no known UA of its own.
    r"QQ-URL-Manager",
)
# No LINE entry for "Line/": that token is LINE's in-app browser, used by people.
# LINE's own preview fetcher is caught by facebookexternalhit / line-poker above.
_PREVIEW_RE, _, _ = _compile_alternation(list(_PREVIEW_PATTERNS))

# --- Platform -----------------------------------------------------------------

_HARMONY_RE = re.compile(r"HarmonyOS|OpenHarmony|\bOHOS\b")
# HarmonyOS also runs on laptops: "(PC; OpenHarmony 6.1; Windows NT 10.0)" in
# the browser, "(X11; OHOS 6.0)" or "(OHOSHarmonyOS aarch64)" in native apps.
_HARMONY_PC_RE = re.compile(r"\(PC;|\(X11; OHOS|\(OHOS")
# Windows Phone UAs also claim "Android" or "like iPhone OS", and KaiOS feature
# phones claim "Android"; none can open an app link, so they skip the shortcuts
# below and go to ua_parser.
_NOT_SMARTPHONE_RE = re.compile(r"Windows Phone|Windows Mobile|IEMobile|KAIOS")
_IOS_RE = re.compile(r"iPhone|iPad|iPod")
_ANDROID_RE = re.compile(r"Android")
# Nearly all other traffic; matching it here keeps ua_parser (≈250 ms to load
# its rules on first use, then a few hundred µs per call) off the common path.
_DESKTOP_RE = re.compile(r"Windows NT|Macintosh|\bCrOS\b|X11; (?:Ubuntu; )?Linux")

_UA_PARSER_PLATFORMS: dict[str, str] = {
    "iOS": "ios",
    "Android": "android",
    "HarmonyOS": "harmonyos",
    "Windows": "desktop",
    "Mac OS X": "desktop",
    "Mac OS": "desktop",
    "Chrome OS": "desktop",
    "Linux": "desktop",
    "Ubuntu": "desktop",
    "Kubuntu": "desktop",
    "Lubuntu": "desktop",
    "Linux Mint": "desktop",
    "Debian": "desktop",
    "Fedora": "desktop",
    "Red Hat": "desktop",
    "CentOS": "desktop",
    "openSUSE": "desktop",
    "SUSE": "desktop",
    "Arch Linux": "desktop",
    "Gentoo": "desktop",
    "Slackware": "desktop",
    "Mandriva": "desktop",
    "Mageia": "desktop",
    "PCLinuxOS": "desktop",
    "FreeBSD": "desktop",
    "OpenBSD": "desktop",
    "NetBSD": "desktop",
}


def _platform(ua: str) -> str:
    if _HARMONY_RE.search(ua):
        return "desktop" if _HARMONY_PC_RE.search(ua) else "harmonyos"
    if not _NOT_SMARTPHONE_RE.search(ua):
        if _IOS_RE.search(ua):
            return "ios"
        if _ANDROID_RE.search(ua):
            return "android"
        if _DESKTOP_RE.search(ua):
            return "desktop"
    parsed = ua_parser.parse_os(ua)
    if parsed is None:
        return "other"
    return _UA_PARSER_PLATFORMS.get(parsed.family, "other")


# --- Public API ---------------------------------------------------------------

_NO_USER_AGENT = UserAgentClass(platform="other", app=None, bot="crawler")


@functools.lru_cache(maxsize=8192)
def classify_user_agent(user_agent: str | None) -> UserAgentClass:
    """Classify a User-Agent header value; memoised.

    A missing or blank header counts as a crawler: browsers always send one,
    scripts often do not.
    """
    if user_agent is None:
        return _NO_USER_AGENT
    ua = user_agent.strip()[:_MAX_UA_LENGTH]
    if not ua:
        return _NO_USER_AGENT
    bot: str | None = None
    if _PREVIEW_RE.search(ua):
        bot = "preview"
    elif _CRAWLER_RE.search(ua):
        bot = "crawler"
    return UserAgentClass(platform=_platform(ua), app=app_of(ua), bot=bot)


def is_prefetch(purpose: str | None, sec_purpose: str | None) -> bool:
    """True if a Purpose or Sec-Purpose header value marks the request as a prefetch.

    Values are structured-field lists such as "prefetch" or "prefetch;prerender";
    only the item itself counts, not its parameters.
    """
    for value in (purpose, sec_purpose):
        if not value:
            continue
        for item in value.split(","):
            if item.split(";", 1)[0].strip().lower() == "prefetch":
                return True
    return False


# --- Requests no person asked for ---------------------------------------------

# The destinations of the Fetch standard other than "document", each recorded
# under its own label (from this table: the header's value never reaches a
# record). "empty" is fetch(), XHR, a beacon or <link rel=prefetch>.
_DESTINATION_BOTS: dict[str, str] = {
    dest: f"bot/{dest}"
    for dest in (
        "audio", "audioworklet", "embed", "fencedframe", "font", "frame", "iframe",
        "image", "json", "manifest", "object", "paintworklet", "report", "script",
        "serviceworker", "sharedworker", "style", "track", "video", "webidentity",
        "worker", "xslt",
    )
} | {"empty": "bot/fetch"}  # fmt: skip
# A value the standard does not name is still not a navigation.
_OTHER_DESTINATION_BOT = "bot/subresource"


def fetch_bot(headers: Mapping[str, Any]) -> str | None:
    """The bot label of a request whose headers (a WSGI environ) say no person
    asked for the page, else None: ``bot/<destination>`` (``bot/fetch`` for
    "empty") for a ``Sec-Fetch-Dest`` other than "document", ``bot/prefetch``
    for a prefetch, ``bot/preview`` for ``X-Purpose: preview``, and
    ``bot/image`` for a request without ``Sec-Fetch-Dest`` whose ``Accept``
    asks for media first and names no HTML (an old browser's ``<img>``).

    On every click: a navigation costs a few dictionary reads and no call.
    """
    dest = headers.get("HTTP_SEC_FETCH_DEST")
    if dest and dest != "document":
        return _DESTINATION_BOTS.get(dest, _OTHER_DESTINATION_BOT)
    purpose = headers.get("HTTP_PURPOSE")
    sec_purpose = headers.get("HTTP_SEC_PURPOSE")
    if (purpose or sec_purpose) and is_prefetch(purpose, sec_purpose):
        return "bot/prefetch"
    x_moz = headers.get("HTTP_X_MOZ")  # Firefox's <link rel=prefetch>, before Sec-Purpose
    if x_moz and x_moz.strip().lower() == "prefetch":
        return "bot/prefetch"
    x_purpose = headers.get("HTTP_X_PURPOSE")  # Safari's and old Chrome's page previews
    if x_purpose and x_purpose.strip().lower() == "preview":
        return "bot/preview"
    if not dest:
        # A browser too old for Sec-Fetch still says what it wants: an <img>
        # (cookie stuffing) asks for images first and never for HTML, which
        # every navigation names.
        accept = headers.get("HTTP_ACCEPT")
        if accept and _embedded(accept):
            return "bot/image"
    return None


def _embedded(accept: str) -> bool:
    """Whether an ``Accept`` header is an image or media fetch's, not a navigation's."""
    first = accept.lstrip()[:6].lower()
    return first in ("image/", "video/", "audio/") and "html" not in accept.lower()
