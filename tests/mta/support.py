"""Receiving mail servers, DNS records and DKIM keys for the MTA's tests.

Every MX of a test listens on an address of its own in 127.0.0.0/8 (any of them binds on
Linux) and on the one port the MTA delivers to (``MTA_SMTP_PORT``), as MX hosts on the
internet all listen on 25.
"""

from __future__ import annotations

import asyncio
import base64
import random
import secrets
import socket
import ssl
from dataclasses import dataclass, field
from typing import Any

import dkim
import dns.resolver
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from mailpass_common.platform.nameservers import parse_nameservers
from mailpass_common.providers.delivery.base import OutgoingEmail
from tests.support.dns import TestDns
from tests.support.smtp import CapturingHandler
from tests.support.tls import SelfSignedCert


def new_domain() -> str:
    """A domain no other test answers for (the DNS server is shared by the session)."""
    return f"d{secrets.token_hex(5)}.example.com"


def free_port_everywhere(addresses: list[str]) -> int:
    """A TCP port free on every one of ``addresses``."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind((addresses[0], 0))
            port = int(probe.getsockname()[1])
        try:
            for address in addresses[1:]:
                with socket.socket() as other:
                    other.bind((address, port))
        except OSError:
            continue
        return port
    raise RuntimeError("no port free on every address")


def loopback_addresses(count: int) -> list[str]:
    """``count`` addresses of a random 127.x.y.0/24 (not 127.0.0.1, which others use)."""
    a, b = random.randint(1, 254), random.randint(1, 254)
    return [f"127.{a}.{b}.{n}" for n in range(1, count + 1)]


@dataclass
class MxHandler(CapturingHandler):
    """Keeps what arrived, and how each transaction's session was (EHLO name, TLS)."""

    seen: list[tuple[str, bool]] = field(default_factory=list)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.seen.append((str(session.host_name), session.ssl is not None))
        return await super().handle_DATA(server, session, envelope)


class _CountingSMTP(SMTP):
    def __init__(self, owner: MxServer, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._owner = owner

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._owner.connections += 1
        self._owner.open_now += 1
        self._owner.most_open = max(self._owner.most_open, self._owner.open_now)
        super().connection_made(transport)

    def connection_lost(self, error: Exception | None) -> None:
        self._owner.open_now -= 1
        super().connection_lost(error)


class _Controller(Controller):
    def __init__(self, owner: MxServer, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._owner = owner

    def factory(self) -> SMTP:
        return _CountingSMTP(self._owner, self.handler, **self.SMTP_kwargs)


class MxServer:
    """An aiosmtpd MX on ``address:port``; with ``tls``, it offers STARTTLS."""

    def __init__(
        self, address: str, port: int, *, tls: SelfSignedCert | None = None, **handler: Any
    ) -> None:
        self.handler = MxHandler(**handler)
        self.connections = 0  # sessions opened (the first one is the controller's own check)
        self.open_now = 0
        self.most_open = 0
        options: dict[str, Any] = {}
        if tls is not None:
            options = {"tls_context": tls.server_context(), "require_starttls": False}
        self._controller = _Controller(
            self, self.handler, hostname=address, port=port, ident="test MX", **options
        )

    def start(self) -> MxServer:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    @property
    def received(self) -> list[Any]:
        return self.handler.received


class GreetingServer:
    """A server that greets with ``greeting`` (e.g. 421) after ``delay`` seconds, then hangs up."""

    def __init__(self, address: str, port: int, greeting: bytes, delay: float = 0.0) -> None:
        self.address, self.port, self.greeting, self.delay = address, port, greeting, delay
        self.connections = 0
        self._server: asyncio.Server | None = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            await asyncio.sleep(self.delay)
            writer.write(self.greeting)
            await writer.drain()
            await asyncio.wait_for(reader.read(1024), 1.0)
        except (OSError, TimeoutError):
            pass
        finally:
            writer.close()

    async def start(self) -> GreetingServer:
        self._server = await asyncio.start_server(self._serve, self.address, self.port)
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()


@dataclass(frozen=True)
class DkimTestKey:
    """An RSA key published at ``<selector>._domainkey.<domain>`` in the test DNS."""

    selector: str
    private_pem: bytes

    @staticmethod
    def publish(dns_records: TestDns, domain: str, selector: str = "s1") -> DkimTestKey:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        public = key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        dns_records.add(
            f"{selector}._domainkey.{domain}",
            "TXT",
            f"v=DKIM1; k=rsa; p={base64.b64encode(public).decode()}",
        )
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
        return DkimTestKey(selector, pem)


def dkim_verifies(message: bytes, nameserver: str) -> bool:
    """dkimpy's verdict on ``message``'s first signature, its key looked up in the test DNS."""
    (address, port), *_ = parse_nameservers([nameserver])
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers = [address]
    resolver.port = port

    def dnsfunc(name: bytes, timeout: int = 5) -> bytes:
        answer = resolver.resolve(name.decode().rstrip("."), "TXT")
        return b"".join(b"".join(r.strings) for r in answer)

    return bool(dkim.verify(message, dnsfunc=dnsfunc))


def outgoing(sender: str, *recipients: str, n: int = 1) -> OutgoingEmail:
    first, *rest = recipients
    return OutgoingEmail(
        message_id=f"<{secrets.token_hex(12)}.{1_765_000_000 + n}@test.mailpass.local>",
        from_email=sender,
        from_name="Shop",
        to=first,
        cc=tuple(rest),
        subject=f"Order {n}",
        text="Thanks for your order.",
        account_id="acc_mta",
    )


def trust(cert: SelfSignedCert) -> ssl.SSLContext:
    return ssl.create_default_context(cadata=cert.cert_pem)


class PolicyServer:
    """``https://mta-sts.<domain>/.well-known/mta-sts.txt`` on ``address:port``: one HTTP/1.1
    answer per connection, with ``cert`` (the test trusts it as its CA)."""

    def __init__(self, address: str, port: int, cert: SelfSignedCert, policy: str) -> None:
        self.address, self.port, self.cert, self.policy = address, port, cert, policy
        self.fetches = 0
        self._server: asyncio.Server | None = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
            self.fetches += 1
            found = request.startswith(b"GET /.well-known/mta-sts.txt ")
            body = self.policy.encode() if found else b"not found"
            status = b"200 OK" if found else b"404 Not Found"
            writer.write(
                b"HTTP/1.1 "
                + status
                + b"\r\nContent-Type: text/plain\r\nContent-Length: "
                + str(len(body)).encode()
                + b"\r\nConnection: close\r\n\r\n"
                + body
            )
            await writer.drain()
        except (OSError, asyncio.IncompleteReadError, TimeoutError):
            pass
        finally:
            writer.close()

    async def start(self) -> PolicyServer:
        self._server = await asyncio.start_server(
            self._serve, self.address, self.port, ssl=self.cert.server_context()
        )
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
