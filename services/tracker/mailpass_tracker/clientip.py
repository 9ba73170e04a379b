"""The reader's IP address: the TCP peer, or X-Forwarded-For when the peer is a trusted proxy.

X-Forwarded-For is a list every proxy appends the address it received the request from
to, so only its right end was written by our own proxies; anything further left may be
whatever the client chose to send. The address kept is therefore found from the right:
skip entries that are trusted proxies themselves (ingress chains), and take the first
one that is not. A value that does not parse as an IP stops the walk at the last address
we could trust, rather than recording text a client forged.

uvicorn has its own X-Forwarded-For handling (``--proxy-headers``, trusting 127.0.0.1 by
default); the tracker's ``main`` turns it off so this class alone decides, from the
configured ``TRACKER_TRUSTED_PROXIES``, whatever server runs the app.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def _parse(value: str) -> IpAddress | None:
    value = value.strip()
    if value.startswith("[") and "]" in value:  # "[2001:db8::1]:443"
        value = value[1 : value.index("]")]
    elif value.count(":") == 1:  # "203.0.113.7:51234"
        value = value.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


class TrustedProxies:
    def __init__(self, networks: Iterable[str]) -> None:
        self._networks = tuple(ipaddress.ip_network(n, strict=False) for n in networks)

    def trusts(self, address: IpAddress) -> bool:
        return any(address in network for network in self._networks)

    def client_ip(self, peer: str | None, forwarded_for: Iterable[str]) -> str | None:
        """The address to record for a request from ``peer`` with these X-Forwarded-For values."""
        peer_address = _parse(peer) if peer else None
        if peer_address is None or not self.trusts(peer_address):
            return peer
        entries = [entry for header in forwarded_for for entry in header.split(",")]
        client = peer_address
        for entry in reversed(entries):
            address = _parse(entry)
            if address is None:
                break
            client = address
            if not self.trusts(address):
                break
        return str(client)
