"""The DNS resolver of MailPass's own delivery: the servers ``MTA_DNS_NAMESERVERS`` names
(``host[:port]``, IPv6 as ``[addr]:port``), or the system's (``/etc/resolv.conf``).

Every look-up is bounded: ``timeout`` per server try and ``lifetime`` in all, so a slow or
silent server costs a delivery attempt seconds, never a hung sender. What comes back is
still the internet's word: callers bound the counts and sizes they accept.
"""

from __future__ import annotations

from collections.abc import Sequence

import dns.asyncresolver
import dns.nameserver

from mailpass_common.platform.nameservers import parse_nameservers

TIMEOUT_SECONDS = 2.0
LIFETIME_SECONDS = 5.0


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
