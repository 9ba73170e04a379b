"""A small internet for the MTA: the test DNS server, MX servers on 127.x.y.z, DKIM keys."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import dkim
import pytest

from mailpass_common.mta import verp
from mailpass_common.mta.engine import MtaEngine, MtaOptions
from mailpass_common.mta.resolver import make_resolver
from mailpass_common.platform.db import Database
from mailpass_common.platform.egress import EgressPolicy, parse_networks
from tests.mta.support import (
    DkimTestKey,
    GreetingServer,
    MxServer,
    free_port_everywhere,
    loopback_addresses,
    new_domain,
)
from tests.support.dns import TestDns
from tests.support.tls import SelfSignedCert, self_signed_cert

SECRET = "mta-test-secret-" + "x" * 32
RETURN_PATH_DOMAIN = "bounces.mailpass.test"
HELO = "mta.mailpass.test"
LOOPBACK = EgressPolicy(allowed_networks=parse_networks(["127.0.0.0/8"]))


@dataclass
class Internet:
    dns: TestDns
    db: Database
    tmp: Path
    addresses: list[str]
    port: int
    keys: dict[str, DkimTestKey] = field(default_factory=dict)
    servers: list[Any] = field(default_factory=list)
    engines: list[MtaEngine] = field(default_factory=list)
    _next: int = 0

    def address(self) -> str:
        """The next free address of this test's 127.x.y.0/24."""
        address = self.addresses[self._next]
        self._next += 1
        return address

    def sending_domain(self) -> str:
        domain = new_domain()
        self.keys[domain] = DkimTestKey.publish(self.dns, domain)
        return domain

    def mx(self, domain: str, preference: int, **options: Any) -> MxServer:
        """An MX server for ``domain`` (its own host name and address)."""
        address = self.address()
        host = f"mx{preference}.{domain}"
        self.dns.add(host, "A", address)
        self.dns.add(domain, "MX", f"{preference} {host}.")
        server = MxServer(address, self.port, **options).start()
        self.servers.append(server)
        return server

    async def greeter(
        self, domain: str, preference: int, greeting: bytes, delay: float = 0.0
    ) -> GreetingServer:
        address = self.address()
        host = f"mx{preference}.{domain}"
        self.dns.add(host, "A", address)
        self.dns.add(domain, "MX", f"{preference} {host}.")
        server = await GreetingServer(address, self.port, greeting, delay).start()
        self.servers.append(server)
        return server

    def dead_mx(self, domain: str, preference: int) -> str:
        """An MX whose address refuses connections (nothing listens there)."""
        address = self.address()
        host = f"dead{preference}.{domain}"
        self.dns.add(host, "A", address)
        self.dns.add(domain, "MX", f"{preference} {host}.")
        return host

    def cert(self, *names: str) -> SelfSignedCert:
        directory = self.tmp / f"cert{len(list(self.tmp.iterdir()))}"
        directory.mkdir()
        return self_signed_cert(directory, names)

    async def sign(self, account_id: str, domain: str, mime: bytes) -> bytes:
        key = self.keys.get(domain)
        if key is None:
            raise LookupError(f"no key for {domain}")
        signature = dkim.sign(
            mime,
            key.selector.encode(),
            domain.encode(),
            key.private_pem,
            include_headers=[b"from", b"to", b"subject", b"message-id"],
        )
        return bytes(signature) + mime

    def options(self, **overrides: Any) -> MtaOptions:
        base = MtaOptions(
            helo_hostname=HELO,
            return_path_domain=RETURN_PATH_DOMAIN,
            return_path_key=verp.keys_from_secrets(SECRET)[0],
            port=self.port,
            timeout_seconds=2.0,
            slot_wait_seconds=5.0,
        )
        return replace(base, **overrides)

    def engine(
        self, egress: EgressPolicy = LOOPBACK, tls: ssl.SSLContext | None = None, **overrides: Any
    ) -> MtaEngine:
        engine = MtaEngine(
            self.db,
            make_resolver([self.dns.nameserver]),
            egress,
            self.options(tls_context=tls, **overrides),
            self.sign,
        )
        self.engines.append(engine)
        return engine


@pytest.fixture
async def internet(dns: TestDns, db: Database, tmp_path: Path) -> AsyncIterator[Internet]:
    addresses = loopback_addresses(12)
    world = Internet(dns, db, tmp_path, addresses, free_port_everywhere(addresses))
    yield world
    for engine in world.engines:
        await engine.close()
    for server in world.servers:
        stop: Callable[[], Any] = server.stop
        result = stop()
        if result is not None:
            await result
