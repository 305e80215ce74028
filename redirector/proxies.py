"""Who the client is: the peer address, or X-Forwarded-For behind trusted proxies.

Anyone can send ``X-Forwarded-For``; only a proxy we run writes an entry we can
believe, and each proxy appends the address it saw to the right of the list. So
the list is read from the right: the peer (``REMOTE_ADDR``) first, then each
entry in turn, for as long as the address in hand is one of our proxies
(``REDIRECTOR_TRUSTED_PROXIES``). The first address that is not ours is the
client; whatever lies to its left was written by the client and is ignored.

- With no trusted proxies (the default) the header is ignored: the client is
  the peer.
- A malformed entry stops the walk: the client is the hop that handed it on
  (a proxy of ours; nothing to its left can be believed).
- If every hop is ours, the client is the leftmost address.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from typing import Any

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def parse_networks(text: str) -> tuple[Network, ...]:
    """``"10.0.0.0/8, 192.168.1.7, ::1"`` -> networks; ValueError naming a bad entry."""
    networks: list[Network] = []
    for raw in text.split(","):
        entry = raw.strip()
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            raise ValueError(f"{entry!r} is not an IP address or CIDR network") from None
    return tuple(networks)


def parse_address(text: str) -> Address | None:
    """An address as proxies write it (``1.2.3.4``, ``1.2.3.4:5678``, ``::1``,
    ``[::1]``, ``[::1]:443``), or None when it is none of these."""
    text = text.strip()
    if text.startswith("["):
        host, bracket, rest = text[1:].partition("]")
        if not bracket or (rest and not (rest[0] == ":" and _port(rest[1:]))):
            return None
        text = host
    elif text.count(":") == 1:  # IPv4 with a port; a bare IPv6 has two colons or more
        host, _, port = text.partition(":")
        if not _port(port):
            return None
        text = host
    if "%" in text:  # a zone id names an interface of the sender, not a client
        return None
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    # ::ffff:1.2.3.4 is the IPv4 client seen through a dual-stack socket.
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def _port(text: str) -> bool:
    return text.isascii() and text.isdigit() and len(text) <= 5


def _trusted(address: Address | None, networks: Sequence[Network]) -> bool:
    return address is not None and any(address in network for network in networks)


def client_ip(
    remote_addr: str | None, x_forwarded_for: str | None, trusted: Sequence[Network]
) -> str:
    """The client's address: ``remote_addr`` unless it is a trusted proxy, then
    the first untrusted address of ``x_forwarded_for`` walking from the right
    (see the module's docstring for the whole rule)."""
    peer = remote_addr or ""
    if not trusted or not x_forwarded_for:
        return peer
    hop = parse_address(peer)
    if not _trusted(hop, trusted):
        return peer
    for entry in reversed(x_forwarded_for.split(",")):
        address = parse_address(entry)
        if address is None:
            break
        hop = address
        if not _trusted(hop, trusted):
            break
    return str(hop)


class ClientIp:
    """``client_ip`` for a WSGI environ, with the trusted networks bound once."""

    def __init__(self, trusted: Sequence[Network]) -> None:
        self.trusted = tuple(trusted)

    def __call__(self, environ: Mapping[str, Any]) -> str:
        remote = environ.get("REMOTE_ADDR") or ""
        if not self.trusted:
            return remote
        return client_ip(remote, environ.get("HTTP_X_FORWARDED_FOR"), self.trusted)
