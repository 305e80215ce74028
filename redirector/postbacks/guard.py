"""Where a postback may go: an http(s) URL whose host is on the public internet.

The rule (docs/postbacks.md, "The private-address rule"): the URL is ``http``
or ``https``, has a host, no user name or password and no fragment. Its host,
a name or a literal address, must resolve only to addresses that are globally
reachable: loopback, private, link-local, shared (CGNAT), reserved,
documentation and benchmarking ranges, multicast and the unspecified address
are refused, for IPv4 and IPv6 alike, and an IPv6 address that carries an IPv4
one (IPv4-mapped, 6to4, NAT64, Teredo) is judged by that IPv4 address too. A
host with one refused address is refused whole.

``REDIRECTOR_WEBHOOK_ALLOW_PRIVATE=1`` (tests, development) lifts the rule
but for the unspecified address and multicast, which name no host to talk to.

The rule is applied when an endpoint is registered and again before every
attempt, on the addresses the host resolves to at that moment, which are the
only ones the attempt connects to (``sender``): a name that later resolves to
a private address (DNS rebinding) gets no request.

Names are resolved by ``system_resolve`` (the OS's resolver), looked up at
each call so that tests replace it with a stub that needs no network.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

__all__ = [
    "MAX_URL_LENGTH",
    "AddressRefused",
    "BadTarget",
    "Resolver",
    "Target",
    "addresses",
    "parse_target",
    "refusal",
    "system_resolve",
]

MAX_URL_LENGTH = 2048
SCHEMES = {"http": 80, "https": 443}
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Sequence[str]]
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class BadTarget(ValueError):
    """A URL that is no postback target (the message says why)."""


class AddressRefused(BadTarget):
    """A host that resolves to an address the rule refuses. The message names
    the kind of address, not the address: what a name resolves to inside the
    service's network is not the caller's to learn."""

    def __init__(self, host: str, address: str, why: str) -> None:
        super().__init__(f"{host} resolves to a {why} address")
        self.host = host
        self.address = address
        self.why = why


@dataclass(frozen=True, slots=True)
class Target:
    """A postback URL taken apart: what to connect to and what to ask for."""

    url: str
    scheme: str
    host: str  # a name, or a literal address (IPv6 without brackets)
    port: int
    path: str  # path and query, as sent in the request line

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == SCHEMES[self.scheme] else f"{host}:{self.port}"


def parse_target(url: str) -> Target:
    """The URL as a target, or ``BadTarget`` saying what is wrong with it."""
    if len(url) > MAX_URL_LENGTH:
        raise BadTarget(f"is longer than {MAX_URL_LENGTH} characters")
    if any(c.isspace() or ord(c) < 0x20 for c in url):
        raise BadTarget("holds white space or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise BadTarget(f"is not a URL ({exc})") from None
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise BadTarget("must be an http or https URL")
    if not parts.hostname:
        raise BadTarget("has no host")
    if parts.username is not None or parts.password is not None:
        raise BadTarget("must not carry a user name or password")
    if parts.fragment or url.endswith("#"):
        raise BadTarget("must not carry a fragment")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(url, scheme, parts.hostname.rstrip("."), port or SCHEMES[scheme], path)


def system_resolve(host: str, port: int) -> list[str]:
    """Every address the OS resolves ``host`` to (``BadTarget`` when none)."""
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise BadTarget(f"host {host!r} does not resolve ({exc})") from None
    return list(dict.fromkeys(str(info[4][0]) for info in found))


def _literal(host: str) -> IPAddress | None:
    """The address a host names by itself: standard notation, or the old IPv4
    forms the OS still accepts (``127.1``, ``0x7f000001``, ``2130706433``)."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except (OSError, ValueError):
        return None


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def refusal(address: IPAddress, *, allow_private: bool) -> str | None:
    """Why the rule refuses ``address`` (a word for the message), or None. Pure."""
    if address.is_unspecified:
        return "unspecified"
    if address.is_multicast:
        return "multicast"
    if isinstance(address, ipaddress.IPv6Address):
        inner = _embedded_ipv4(address)
        if inner is not None:
            return refusal(inner, allow_private=allow_private)
    if allow_private:
        return None
    for why, hit in (
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("private", address.is_private),
        ("reserved", address.is_reserved),
    ):
        if hit:
            return why
    return None if address.is_global else "non-public"


def addresses(target: Target, *, allow_private: bool, resolve: Resolver | None = None) -> list[str]:
    """The addresses to connect to for ``target`` now, every one allowed by the
    rule; ``AddressRefused`` when one is not, ``BadTarget`` when none resolve."""
    literal = _literal(target.host)
    if literal is not None:
        found: Sequence[str] = [str(literal)]
    else:
        found = (resolve or system_resolve)(target.host, target.port)
    if not found:
        raise BadTarget(f"host {target.host!r} resolves to no address")
    for text in found:
        address = ipaddress.ip_address(text.split("%", 1)[0])  # a zone id names no network
        why = refusal(address, allow_private=allow_private)
        if why is not None:
            raise AddressRefused(target.host, text, why)
    return list(found)
