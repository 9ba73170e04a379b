"""The DNS resolver of MailPass's own delivery: the servers ``MTA_DNS_NAMESERVERS`` names
(``host[:port]``, IPv6 as ``[addr]:port``), or the system's (``/etc/resolv.conf``).

Every look-up is bounded: ``timeout`` per server try and ``lifetime`` in all, so a slow or
silent server costs a delivery attempt seconds, never a hung sender. What comes back is
still the internet's word: callers bound the counts and sizes they accept.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

import dns.asyncresolver
import dns.nameserver

DEFAULT_PORT = 53
TIMEOUT_SECONDS = 2.0
LIFETIME_SECONDS = 5.0


def parse_nameservers(entries: Sequence[str]) -> list[tuple[str, int]]:
    """``host[:port]`` entries as (IP address, port); ValueError names a bad entry. Only IP
    addresses: a resolver that needs DNS to find its own server could not start."""
    servers = []
    for entry in entries:
        text = entry.strip()
        host, port = text, str(DEFAULT_PORT)
        if text.startswith("["):
            host, _, rest = text[1:].partition("]")
            if rest:
                if not rest.startswith(":"):
                    raise ValueError(f"MTA_DNS_NAMESERVERS: bad entry {entry!r}")
                port = rest[1:]
        elif text.count(":") == 1:
            host, port = text.split(":")
        try:
            address = ipaddress.ip_address(host)
            number = int(port)
        except ValueError:
            raise ValueError(
                f"MTA_DNS_NAMESERVERS: {entry!r} is not an IP address with an optional port"
            ) from None
        if not 0 < number < 65536:
            raise ValueError(f"MTA_DNS_NAMESERVERS: bad port in {entry!r}")
        servers.append((str(address), number))
    return servers


def make_resolver(
    nameservers: Sequence[str] = (),
    *,
    timeout: float = TIMEOUT_SECONDS,
    lifetime: float = LIFETIME_SECONDS,
) -> dns.asyncresolver.Resolver:
    """A resolver asking ``nameservers`` (the system's when empty), bounded in time."""
    servers = parse_nameservers(nameservers)
    resolver = dns.asyncresolver.Resolver(configure=not servers)
    if servers:
        resolver.nameservers = [dns.nameserver.Do53Nameserver(ip, port) for ip, port in servers]
    resolver.timeout = timeout
    resolver.lifetime = lifetime
    return resolver
