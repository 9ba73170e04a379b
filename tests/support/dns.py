"""A real DNS server (unbound, see :mod:`mailpass_dev.dns`) for the tests: one per session,
records added per test and removed after it.

Use the ``dns`` fixture: ``dns.add("example.test", "MX", "10 mx.example.test.")``, and give
the services ``mta_dns_nameservers=dns.nameserver`` (``MTA_DNS_NAMESERVERS``). The server
is shared by the session's tests: give each test names of its own (e.g. under a random
label) so that two tests never answer for the same name.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from mailpass_dev.dns import DnsServer, Record, fqdn

__all__ = ["DnsServer", "Record", "TestDns", "start_dns_server"]


def start_dns_server(directory: Path) -> DnsServer:
    """unbound on a free port of 127.0.0.1; fails with the install command when missing."""
    server = DnsServer(directory)
    server.start()
    return server


class TestDns:
    """The session's server as one test sees it: what it adds is removed after it."""

    __test__ = False  # not a test class, for pytest's collection

    def __init__(self, server: DnsServer) -> None:
        self.server = server
        self._names: set[str] = set()

    @property
    def nameserver(self) -> str:
        return self.server.nameserver

    def add(self, name: str, type: str, value: str, ttl: int = 0) -> None:
        self.add_records([Record(name, type, value, ttl)])

    def add_records(self, records: Iterable[Record]) -> None:
        records = list(records)
        self.server.add_records(records)
        self._names.update(fqdn(record.name) for record in records)

    def remove(self, *names: str) -> None:
        self.server.remove(*names)
        self._names.difference_update(map(fqdn, names))

    def clear(self) -> None:
        self.server.remove(*sorted(self._names))
        self._names.clear()
