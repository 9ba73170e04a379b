"""The egress policy: which addresses and ports a tenant's provider may make us connect to.

A provider names the hosts the platform connects to (an SMTP host, an API base URL), so
without a policy any key with the ``providers`` permission could make the platform open
connections to its own loopback, to the cluster's private services or to the cloud
metadata endpoint (server-side request forgery), and use ``POST /providers/{id}/test``
as a port scanner. The policy judges the *addresses a name resolves to*, twice: when a
provider is saved (a clear 400 naming the field, see ``delivery.targets``) and every time
a connection is opened. At connect time the socket goes to an address that was checked a
moment before, never to a name that a library resolves again: a name can answer a public
address to the check and 127.0.0.1 to the connect (DNS rebinding).

Refused, unless the operator lists the network in ``PROVIDER_ALLOWED_NETWORKS``: loopback,
private (RFC 1918, ULA ``fc00::/7``, where AWS's IPv6 metadata ``fd00:ec2::254`` lives),
link-local (``169.254/16`` with the metadata endpoint, ``fe80::/10``), shared CGNAT
``100.64/10``, multicast, unspecified, reserved and every other address Python's
``ipaddress`` does not call global; an IPv6 address carrying an IPv4 one (IPv4-mapped
``::ffff:0:0/96``, NAT64 ``64:ff9b::/96``, 6to4 ``2002::/16``) is judged by that IPv4
address. A name is refused when *any* of its addresses is: connecting only to its good
addresses would still let a tenant aim a name at our network.

SMTP ports: 25, 465, 587 and 2525 (the ports mail servers and relays listen on), plus
what the operator adds in ``PROVIDER_ALLOWED_SMTP_PORTS`` (ports or ranges, ``1025,
8025-8030``). Limiting ports keeps a tenant from probing other services of a public
host through us; the four cover every commercial relay we know of.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

SMTP_PORTS = frozenset({25, 465, 587, 2525})
RESOLVE_TIMEOUT_SECONDS = 5.0

_PRIVATE = tuple(
    ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7")
)
_SHARED = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class EgressRefused(Exception):
    """A destination the policy refuses; the message says why, in words for the tenant."""


Resolver = Callable[[str, int], Awaitable[list[str]]]


async def system_resolver(host: str, port: int) -> list[str]:
    """The host's addresses from the system resolver, in its order, without repeats."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address.sixtofour


def address_kind(address: IPAddress) -> str | None:
    """What makes an address unfit for a provider ("loopback", "private"...); None for a
    public unicast address."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            return address_kind(embedded)
    checks = [
        (address.is_unspecified, "unspecified"),
        (address.is_loopback, "loopback"),
        (address.is_link_local, "link-local"),
        (address.is_multicast, "multicast"),
        (address.is_reserved, "reserved"),
        (address in _SHARED, "shared (CGNAT)"),
        (any(address in network for network in _PRIVATE), "private"),
        (not address.is_global, "special-purpose"),
    ]
    return next((kind for matches, kind in checks if matches), None)


def parse_networks(items: Iterable[str]) -> tuple[IPNetwork, ...]:
    """CIDRs (or single addresses); a ValueError names a bad one."""
    return tuple(ipaddress.ip_network(item.strip(), strict=False) for item in items)


def parse_port_ranges(items: Iterable[str]) -> tuple[range, ...]:
    """Ports and ranges such as ``1025`` or ``8025-8030``; a ValueError names a bad one."""
    ranges = []
    for item in items:
        low, _, high = item.strip().partition("-")
        try:
            first, last = int(low), int(high or low)
        except ValueError:
            raise ValueError(f"{item!r} is not a port or a range of ports") from None
        if not 1 <= first <= last <= 65535:
            raise ValueError(f"{item!r} is not within 1-65535")
        ranges.append(range(first, last + 1))
    return tuple(ranges)


MAX_HOST_NAME_OCTETS = 253


def host_name_problem(host: str) -> str | None:
    """Why ``host`` cannot be looked up in DNS, in words for the tenant, else None.

    The check is the encoding the resolver itself applies (Python's ``idna`` codec, what
    ``getaddrinfo`` runs on a name): an empty label (``a..b``), a label over 63 octets,
    or a name over 253 is refused here rather than raised from deep inside a connect.
    IP literals (an IPv6 one with a zone id too) are not names and pass."""
    try:
        ipaddress.ip_address(host.partition("%")[0])
        return None
    except ValueError:
        pass
    name = host[:-1] if host.endswith(".") else host
    try:
        encoded = name.encode("idna")
    except UnicodeError:
        return "is not a valid host name: a label is empty, over 63 characters, or not IDNA"
    if not encoded or len(encoded) > MAX_HOST_NAME_OCTETS:
        return f"is not a valid host name: empty, or over {MAX_HOST_NAME_OCTETS} characters"
    return None


@dataclass(frozen=True)
class EgressPolicy:
    """The operator's rules for where providers may connect (strict when built empty)."""

    allowed_networks: tuple[IPNetwork, ...] = ()
    extra_smtp_ports: tuple[range, ...] = ()
    # API hosts allowed besides the official ones (any scheme and port), e.g. a mock.
    extra_api_hosts: frozenset[str] = frozenset()
    # Where names are resolved; tests give names of their own without a DNS server.
    resolver: Resolver = field(default=system_resolver, compare=False)

    def address_refusal(self, address: str) -> str | None:
        """Why the policy refuses this address (e.g. "a loopback address"), else None."""
        ip = ipaddress.ip_address(address.partition("%")[0])  # no IPv6 zone id
        candidates = [ip]
        if isinstance(ip, ipaddress.IPv6Address) and _embedded_ipv4(ip) is not None:
            candidates.append(_embedded_ipv4(ip))  # type: ignore[arg-type]
        if any(c in n for c in candidates for n in self.allowed_networks if c.version == n.version):
            return None
        kind = address_kind(ip)
        return None if kind is None else f"a {kind} address"

    def smtp_port_allowed(self, port: int) -> bool:
        return port in SMTP_PORTS or any(port in r for r in self.extra_smtp_ports)

    def smtp_ports_text(self) -> str:
        extra = [
            f"{r.start}-{r.stop - 1}" if len(r) > 1 else str(r.start) for r in self.extra_smtp_ports
        ]
        return ", ".join([*map(str, sorted(SMTP_PORTS)), *extra])

    def api_url_refusal(self, official: tuple[str, ...], url: str) -> str | None:
        """Why ``url`` may not be the base URL of an HTTP API provider whose official hosts
        are ``official`` (its type's), else None."""
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        if host in self.extra_api_hosts:
            return None
        if host in official and parts.scheme == "https" and parts.port in (None, 443):
            return None
        choices = " or ".join(f"https://{h}" for h in official)
        return f"must be {choices}" if choices else "is not an allowed API host"

    async def resolve(self, host: str, port: int) -> list[str]:
        """The host's addresses, all of them allowed.

        Raises EgressRefused when one is not (or ``host`` is no valid DNS name), OSError
        when the name does not resolve, and TimeoutError when the resolver does not
        answer in time.
        """
        problem = host_name_problem(host)
        if problem is not None:
            raise EgressRefused(f"{host[:300]} {problem}")
        async with asyncio.timeout(RESOLVE_TIMEOUT_SECONDS):
            addresses = await self.resolver(host, port)
        if not addresses:
            raise OSError(f"{host} has no address")
        for address in addresses:
            reason = self.address_refusal(address)
            if reason is not None:
                subject = f"{host} is" if address == host else f"{host} resolves to"
                raise EgressRefused(f"{subject} {reason}, which providers may not connect to")
        return addresses

    async def connect(self, host: str, port: int, timeout: float) -> socket.socket:
        """A TCP socket connected to one of the host's addresses, each checked first.

        The caller keeps ``host`` for TLS (SNI and certificate verification), so a pinned
        address changes where we connect, never whom we trust.
        """
        async with asyncio.timeout(timeout):
            return await connect_first(await self.resolve(host, port), port)


async def connect_first(addresses: Iterable[str], port: int) -> socket.socket:
    """A TCP socket connected to the first of ``addresses`` that takes the connection
    (addresses already checked; the caller bounds the time); the last OSError if none."""
    loop = asyncio.get_running_loop()
    failure: OSError | None = None
    for address in addresses:
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setblocking(False)
        try:
            await loop.sock_connect(sock, (address, port))
            return sock
        except BaseException as exc:
            sock.close()
            if not isinstance(exc, OSError):
                raise
            failure = exc
    raise failure or OSError("no address to connect to")
