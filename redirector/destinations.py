"""Where a click may be sent: the rules a storefront's hosts and app schemes,
and a product's URLs, must keep, so that the redirect only ever goes where an
admin said (no open redirect, no hand-over to another app or site).

Rules:
- a storefront's host is a DNS name (letters, digits and hyphens in labels of
  1-63, no empty label, no percent-escape), or ``*.<domain>`` for any
  subdomain of ``<domain>`` (not the domain itself);
- a wildcard never spans a public suffix: the domain under ``*.`` is not on
  the Public Suffix List (the list the ``publicsuffixlist`` package ships, its
  private section included; an unlisted top-level domain counts as public),
  so ``*.com``, ``*.com.cn``, ``*.co.uk`` and ``*.github.io`` are refused alike;
- a storefront may declare its own app schemes (``taobao``, ``tmall``): each a
  URL scheme (RFC 3986: a letter, then letters, digits, ``+``, ``-``, ``.``),
  never http(s) (always allowed) nor one of ``REFUSED_SCHEMES``, which run
  code, read local data, or hand the destination to something else
  (``intent:`` carries a fallback URL of its own, ``itms-services:`` a
  manifest URL, ``android-app:`` another app);
- a product's web URL is http or https; its app URL is http, https or one of
  its storefront's app schemes; either is ASCII, holds no space, backslash or
  control character, and names a host that is a DNS name and one of its
  storefront's hosts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from urllib.parse import urlsplit

from publicsuffixlist import PublicSuffixList

from .errors import InvalidField

__all__ = [
    "REFUSED_SCHEMES",
    "WEB_SCHEMES",
    "Allowed",
    "allows",
    "check_destination",
    "host_allowed",
    "normalize_app_schemes",
    "normalize_hosts",
    "spans_public_suffix",
    "valid_host_name",
]

LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
HOST_NAME = re.compile(rf"^(?=.{{1,253}}$){LABEL}(?:\.{LABEL})*$")
HOST = re.compile(rf"^(\*\.)?(?=.{{1,253}}$){LABEL}(?:\.{LABEL})*$")
SCHEME = re.compile(r"^[a-z][a-z0-9+.-]{0,31}$")
WEB_SCHEMES = frozenset({"http", "https"})
MAX_APP_SCHEMES = 20
REFUSED_SCHEMES = frozenset(
    {
        # code or local data in the browser
        "javascript",
        "vbscript",
        "data",
        "file",
        "about",
        "blob",
        "filesystem",
        "view-source",
        "jar",
        # a destination handed to another app, store or installer
        "intent",
        "android-app",
        "content",
        "market",
        "itms",
        "itmss",
        "itms-apps",
        "itms-appss",
        "itms-services",
        "googlechrome",
        "googlechromes",
        "x-safari-http",
        "x-safari-https",
    }
)


@dataclass(frozen=True, slots=True)
class Allowed:
    """What a storefront allows its products' URLs."""

    storefront_id: str
    hosts: tuple[str, ...]
    app_schemes: tuple[str, ...] = ()


@cache
def _public_suffixes() -> PublicSuffixList:
    # Read once from the file the package ships: nothing is fetched at run time.
    return PublicSuffixList()


def valid_host_name(host: str) -> bool:
    """A DNS name, lower case, as ``urlsplit`` gives ``hostname`` (a trailing dot allowed)."""
    return bool(HOST_NAME.match(host.removesuffix(".")))


def spans_public_suffix(domain: str) -> bool:
    """Whether ``*.<domain>`` would cover sites of different owners."""
    return domain.count(".") < 1 or _public_suffixes().is_public(domain)


def normalize_hosts(hosts: list[str]) -> list[str]:
    out: list[str] = []
    for i, host in enumerate(hosts):
        h = host.strip().lower().rstrip(".")
        if not HOST.match(h):
            raise InvalidField.one(f"hosts[{i}]", f"{host!r} is not a host name")
        if h.startswith("*.") and spans_public_suffix(h[2:]):
            # "*.com.cn" would let a storefront send clicks to any site under it.
            raise InvalidField.one(
                f"hosts[{i}]", f"{host!r}: a wildcard needs a registered domain under it"
            )
        if h not in out:
            out.append(h)
    if not out:
        raise InvalidField.one("hosts", "at least one host is required")
    return out


def normalize_app_schemes(schemes: list[str]) -> list[str]:
    out: list[str] = []
    for i, scheme in enumerate(schemes):
        s = scheme.strip().lower()
        field = f"app_schemes[{i}]"
        if not SCHEME.match(s):
            raise InvalidField.one(field, f"{scheme!r} is not a URL scheme")
        if s in WEB_SCHEMES:
            raise InvalidField.one(field, f"{s!r} is always allowed: list only app schemes")
        if s in REFUSED_SCHEMES:
            raise InvalidField.one(field, f"{s!r} hands the destination elsewhere: refused")
        if s not in out:
            out.append(s)
    if len(out) > MAX_APP_SCHEMES:
        raise InvalidField.one("app_schemes", f"at most {MAX_APP_SCHEMES} schemes")
    return out


def host_allowed(host: str | None, allowed: list[str] | tuple[str, ...]) -> bool:
    """Exact host, or ``*.example.com`` for any subdomain (not the bare domain)."""
    if not host:
        return False
    host = host.lower().rstrip(".")
    for pattern in allowed:
        if pattern.startswith("*."):
            if host.endswith(pattern[1:]) and len(host) > len(pattern) - 1:
                return True
        elif host == pattern:
            return True
    return False


def _scheme_and_host(field: str, url: str) -> tuple[str, str | None]:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises on a port that is not a number in range)
    except ValueError as exc:
        raise InvalidField.one(field, f"not a URL ({exc})") from exc
    return parts.scheme.lower(), parts.hostname


def check_destination(
    field: str, url: str, allowed: Allowed, *, web: bool, hosts_named: str | None = None
) -> None:
    """Refuses ``url`` unless it follows the rules above; ``hosts_named`` says
    which hosts ``allowed`` holds, when not only the storefront's."""
    scheme, host = _scheme_and_host(field, url)
    if scheme not in WEB_SCHEMES and (web or scheme not in allowed.app_schemes):
        expected = "an http or https URL" if web else "http, https or the storefront's app scheme"
        raise InvalidField.one(field, f"scheme {scheme!r} is not allowed: use {expected}")
    if not url.isascii():
        # Headers are Latin-1 on the wire; a Location must be percent-encoded.
        raise InvalidField.one(field, "must be ASCII: percent-encode other characters")
    # A backslash is a "/" to browsers but not to urlsplit: "https://evil\@shop/" goes
    # to evil while urlsplit reads host "shop".
    if any(c in url for c in "\\ \x7f") or any(ord(c) < 32 for c in url):
        raise InvalidField.one(field, "must not contain spaces, backslashes or control characters")
    if host is None or not valid_host_name(host):
        # "item.taobao.com%2f.evil" or "a..b": an app may read such a host otherwise.
        raise InvalidField.one(field, f"host {host!r} is not a DNS name")
    if not host_allowed(host, allowed.hosts):
        named = hosts_named or f"storefront {allowed.storefront_id!r}'s hosts"
        raise InvalidField.one(field, f"host {host!r} is not one of {named}")


def allows(allowed: Allowed, url: str, *, web: bool) -> bool:
    """Whether ``url`` passes ``check_destination`` under ``allowed``."""
    try:
        check_destination("url", url, allowed, web=web)
    except InvalidField:
        return False
    return True
