"""The guard against requests to internal addresses (SSRF), on creation and before every delivery
(docs/security.md, "Webhooks").

A URL's host is resolved here, every address it resolves to is checked, and the delivery then connects to
the checked address itself (`Target.address`), with the name kept for the Host header and TLS (SNI and the
certificate's name). A name that resolves to a public address when checked and to an internal one a moment
later (DNS rebinding) therefore reaches only the address that was checked.

`resolve` is module state so that tests can put a stub resolver in (they may never query real DNS for a
name nor connect outside 127.0.0.0/8). WEBHOOKS_ALLOW_INSECURE lifts the https rule and the address rule
for development and tests; `webhooks.checks` refuses it in a deployment.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], list[str]]

# Not global, whatever ipaddress's tables say of them (it has said different things across versions).
_REFUSED_NETWORKS = tuple(
    ipaddress.ip_network(network)
    for network in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",  # carrier-grade NAT (RFC 6598)
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.168.0.0/16",
        "198.18.0.0/15",
        "224.0.0.0/4",
        "240.0.0.0/4",
        "::/128",
        "::1/128",
        "64:ff9b:1::/48",
        "fc00::/7",
        "fe80::/10",
        "fec0::/10",
        "ff00::/8",
    )
)


class Refused(Exception):
    """The URL may not be delivered to; the message says why, for the owner (a 400, a delivery's error)."""


@dataclass(frozen=True)
class Target:
    """Where a delivery connects: the URL as given, and the checked address to connect to (None when
    WEBHOOKS_ALLOW_INSECURE is on: then the name is resolved by the HTTP client as usual)."""

    url: str
    host: str
    address: str | None


def system_resolve(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


resolve: Resolver = system_resolve


def refused_address(address: IPAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is not None:
            return refused_address(embedded)
        if address.teredo is not None:
            return True
    if any(address in network for network in _REFUSED_NETWORKS if network.version == address.version):
        return True
    return (
        address.is_loopback
        or address.is_private
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or not address.is_global
    )


def allow_insecure() -> bool:
    return bool(getattr(settings, "WEBHOOKS_ALLOW_INSECURE", False))


def check_url(url: str) -> Target:
    """The target of `url`, or Refused: an https URL (any scheme but http(s) never) whose host resolves
    only to public addresses. Credentials in the URL are refused too (they would sit in the logs)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise Refused("Not a valid URL.") from error
    insecure = allow_insecure()
    if parts.scheme not in ("https", "http") or (parts.scheme == "http" and not insecure):
        raise Refused("The URL must use https.")
    host = parts.hostname
    if not host:
        raise Refused("The URL has no host.")
    if parts.username is not None or parts.password is not None:
        raise Refused("The URL may not hold credentials.")
    if insecure:
        return Target(url=url, host=host, address=None)
    port = port or (443 if parts.scheme == "https" else 80)
    try:
        literal: IPAddress | None = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        addresses = [str(literal)]
    else:
        try:
            addresses = resolve(host, port)
        except (OSError, UnicodeError) as error:
            raise Refused(f"The host {host} does not resolve.") from error
    if not addresses:
        raise Refused(f"The host {host} does not resolve.")
    for text in addresses:
        try:
            address = ipaddress.ip_address(text.split("%", 1)[0])
        except ValueError as error:
            raise Refused(f"The host {host} resolves to something that is not an address.") from error
        if refused_address(address):
            raise Refused(f"The host {host} is, or resolves to, an internal address.")
    return Target(url=url, host=host, address=addresses[0])
