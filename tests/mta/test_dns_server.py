"""The tests' DNS server answers as an authoritative server would, and the MTA's resolver
asks it (MTA_DNS_NAMESERVERS)."""

from __future__ import annotations

from pathlib import Path

import pytest
from dns.asyncresolver import Resolver
from dns.resolver import NXDOMAIN, NoAnswer

from mailpass_common.mta.resolver import make_resolver
from mailpass_common.platform.nameservers import parse_nameservers
from tests.support.dns import DnsServer, Record, TestDns


async def test_records_added_are_answered_and_removed_after(dns: TestDns) -> None:
    dns.add_records(
        [
            Record("mail.dnsfix.test", "MX", "20 mx2.dnsfix.test."),
            Record("mail.dnsfix.test", "MX", "10 mx1.dnsfix.test."),
            Record("mx1.dnsfix.test", "A", "127.0.0.7"),
            Record("k._domainkey.dnsfix.test", "TXT", "v=DKIM1; p=" + "A" * 400),
        ]
    )
    resolver = make_resolver([dns.nameserver])
    mx = await resolver.resolve("mail.dnsfix.test", "MX")
    assert sorted((r.preference, str(r.exchange)) for r in mx) == [
        (10, "mx1.dnsfix.test."),
        (20, "mx2.dnsfix.test."),
    ]
    txt = await resolver.resolve("k._domainkey.dnsfix.test", "TXT")
    assert b"".join(next(iter(txt)).strings) == b"v=DKIM1; p=" + b"A" * 400
    with pytest.raises(NoAnswer):  # the name exists, not with that type
        await resolver.resolve("mx1.dnsfix.test", "MX")
    with pytest.raises(NXDOMAIN):  # nothing is looked up elsewhere
        await resolver.resolve("absent.dnsfix.test", "A")
    dns.clear()
    with pytest.raises(NXDOMAIN):
        await resolver.resolve("mx1.dnsfix.test", "A")


def test_nameserver_entries() -> None:
    assert parse_nameservers(["127.0.0.1:5353", "[::1]:53", "10.0.0.2"]) == [
        ("127.0.0.1", 5353),
        ("::1", 53),
        ("10.0.0.2", 53),
    ]
    for bad in ("dns.example.com", "127.0.0.1:0", "[::1]x", "1.2.3.4:99999"):
        with pytest.raises(ValueError, match="MTA_DNS_NAMESERVERS"):
            parse_nameservers([bad])


def test_system_resolver_when_none_named() -> None:
    assert isinstance(make_resolver([]), Resolver)


def test_a_relative_directory_still_starts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The dev stack names `.data/dns`: unbound must still find its control socket."""
    monkeypatch.chdir(tmp_path)
    server = DnsServer(Path("relative") / "dns")
    server.start()
    try:
        server.add("rel.dnsfix.test", "A", "127.0.0.9")
    finally:
        server.stop()
