"""``MTA_DNS_NAMESERVERS`` entries read: ``host[:port]``, IPv6 as ``[addr]:port``.

The settings check them when they load, and the MTA's resolver
(:mod:`mailpass_common.mta.resolver`) queries the servers they name.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

DEFAULT_PORT = 53


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
