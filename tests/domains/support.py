"""What the sending-domain tests share: the DNS records a domain asks for, published to
the tests' DNS server, and dkimpy's verification asking that server."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable
from typing import Any

import dns.resolver

from mailpass_common.platform.nameservers import parse_nameservers
from tests.support.dns import Record, TestDns

RETURN_PATH_DOMAIN = "bounces.mailpass.test"


def unique_domain(label: str = "shop") -> str:
    """A domain no other test answers for (the DNS server is the session's)."""
    return f"{label}-{secrets.token_hex(4)}.test"


def publish(dns_server: TestDns, records: Iterable[dict[str, Any]], *purposes: str) -> None:
    """Publish the records of ``purposes`` (every one the domain asks for when none) as
    the API or the library shows them: name, type, value."""
    dns_server.add_records(
        Record(r["name"], r["type"], r["value"])
        for r in records
        if r["value"] and (not purposes or r["purpose"] in purposes)
    )


def dkimpy_dns(nameserver: str) -> Callable[..., bytes]:
    """dkimpy's ``dnsfunc``: TXT records from the tests' DNS server (strings joined)."""
    host, port = parse_nameservers([nameserver])[0]
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers = [host]
    resolver.port = port
    resolver.lifetime = 5

    def get_txt(name: bytes, timeout: float = 5) -> bytes:
        try:
            answer = resolver.resolve(name.decode().rstrip("."), "TXT")
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return b""
        return b"".join(next(iter(answer)).strings)

    return get_txt
