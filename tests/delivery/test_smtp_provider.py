"""The SMTP provider against real aiosmtpd servers: TLS, AUTH, pooling, failures."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from mailpass_common.providers.delivery.base import (
    DeliveryError,
    OutgoingEmail,
    PermanentDeliveryError,
    TemporaryDeliveryError,
)
from mailpass_common.providers.delivery.smtp import SmtpProvider
from tests.support.delivery import deliver
from tests.support.egress import LOCAL_EGRESS
from tests.support.providers import smtp_provider
from tests.support.services import free_port
from tests.support.smtp import CapturingHandler
from tests.support.tls import SelfSignedCert, self_signed_cert

# Plain-text AUTH is what these tests mean to exercise; aiosmtpd warns about it.
AUTH_WITHOUT_TLS = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
USERNAME = "relay-user"
PASSWORD = "relay-secret"


@dataclass
class RecordingHandler(CapturingHandler):
    """Also records, for each accepted message, its connection and whether it was encrypted."""

    encrypted: list[bool] = field(default_factory=list)
    peers: list[object] = field(default_factory=list)  # (host, port) of each message's client
    connections: set[object] = field(default_factory=set)
    auth_attempts: int = 0
    refuse_rcpt: dict[str, str] = field(default_factory=dict)
    data_delay: float = 0.0
    in_data: int = 0
    most_in_data: int = 0

    async def handle_EHLO(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        hostname: str,
        responses: list[str],
    ) -> list[str]:
        self.connections.add(session.peer)
        session.host_name = hostname
        return responses

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if address in self.refuse_rcpt:
            return self.refuse_rcpt[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.in_data += 1
        self.most_in_data = max(self.most_in_data, self.in_data)
        try:
            if self.data_delay:
                await asyncio.sleep(self.data_delay)
            reply = await super().handle_DATA(server, session, envelope)
        finally:
            self.in_data -= 1
        if reply.startswith("250"):
            assert server.transport is not None
            self.encrypted.append(server.transport.get_extra_info("ssl_object") is not None)
            self.peers.append(session.peer)
        return reply


class _TrackedSMTP(SMTP):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.closed = asyncio.Event()

    def connection_lost(self, error: Exception | None) -> None:
        super().connection_lost(error)
        self.closed.set()


class _TrackingController(Controller):
    """Keeps every session it serves, so that a test can hang them up."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sessions: list[_TrackedSMTP] = []

    def factory(self) -> SMTP:
        smtp = _TrackedSMTP(self.handler, **self.SMTP_kwargs)
        self.sessions.append(smtp)
        return smtp


class Relay:
    """A real SMTP server; ``smtp_options`` go to aiosmtpd's SMTP (TLS, AUTH)."""

    def __init__(
        self,
        handler: RecordingHandler | None = None,
        *,
        port: int | None = None,
        implicit_tls: SelfSignedCert | None = None,
        auth: bool = False,
        **smtp_options: Any,
    ) -> None:
        self.handler = handler or RecordingHandler()
        self.port = port or free_port()
        if auth:
            smtp_options["authenticator"] = self._authenticate
        self._controller = _TrackingController(
            self.handler,
            hostname="127.0.0.1",
            port=self.port,
            ssl_context=implicit_tls.server_context() if implicit_tls else None,
            **smtp_options,
        )

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        self.handler.auth_attempts += 1
        ok = (
            isinstance(data, LoginPassword)
            and data.login == USERNAME.encode()
            and data.password == PASSWORD.encode()
        )
        return AuthResult(success=ok, handled=False)

    def start(self) -> Relay:
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller.loop.is_running():
            self._controller.stop()

    def drop_sessions(self, goodbye: bytes | None = None) -> None:
        """Hang up every open session from the server side, as a relay's idle timeout does.

        Blocks the caller's event loop meanwhile, so the client has not yet noticed when
        the next send picks the connection from its pool: the server hung up just now.
        Without ``goodbye`` the sessions are aborted; with it (plain text only: a TLS
        close would wait for the blocked client's close_notify) it is sent first.
        """

        async def hang_up() -> None:
            open_sessions = [s for s in self._controller.sessions if s.transport is not None]
            for smtp in open_sessions:
                transport = smtp.transport
                assert isinstance(transport, asyncio.Transport)
                if goodbye is None:
                    transport.abort()
                else:
                    transport.write(goodbye)
                    transport.close()
            await asyncio.gather(*(smtp.closed.wait() for smtp in open_sessions))

        future = asyncio.run_coroutine_threadsafe(hang_up(), self._controller.loop)
        future.result(timeout=5)


def email(n: int = 1, to: str = "user@example.net") -> OutgoingEmail:
    return OutgoingEmail(
        message_id=f"<{n}.{time.monotonic_ns()}@test.mailpass.local>",
        from_email="app@example.com",
        from_name=None,
        to=to,
        subject=f"Message {n}",
        text=f"Hello number {n}",
    )


def relay_options(security: str, cert: SelfSignedCert) -> dict[str, Any]:
    if security == "tls":
        return {"implicit_tls": cert}
    if security == "starttls":
        return {"tls_context": cert.server_context(), "require_starttls": True}
    return {}


@pytest.fixture(scope="module")
def cert(tmp_path_factory: pytest.TempPathFactory) -> SelfSignedCert:
    return self_signed_cert(Path(tmp_path_factory.mktemp("tls")))


@pytest.fixture
def relay() -> Iterator[Callable[..., Relay]]:
    started: list[Relay] = []

    def start(*args: Any, **kwargs: Any) -> Relay:
        server = Relay(*args, **kwargs).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
async def provider() -> AsyncIterator[Callable[..., SmtpProvider]]:
    opened: list[SmtpProvider] = []

    def open_provider(
        port: int, security: str = "none", *, password: str | None = None, **kwargs: Any
    ) -> SmtpProvider:
        config: dict[str, Any] = {"host": "127.0.0.1", "port": port, "security": security}
        config.update(kwargs.pop("config", {}))
        secrets: dict[str, Any] = {}
        if password is not None:
            config["username"] = USERNAME
            secrets["password"] = password
        kwargs.setdefault("timeout", 5.0)
        kwargs.setdefault("egress", LOCAL_EGRESS)
        opened.append(smtp_provider(config, secrets, **kwargs))
        return opened[-1]

    yield open_provider
    for opened_provider in opened:
        await opened_provider.close()


# TLS


@pytest.mark.parametrize("trust", [{"ca_cert": "pem"}, {"verify_tls": False}])
async def test_starttls_delivers_encrypted_and_authenticates_after_tls(
    relay: Callable[..., Relay],
    provider: Callable[..., SmtpProvider],
    cert: SelfSignedCert,
    trust: dict[str, Any],
) -> None:
    # auth_require_tls (aiosmtpd's default) refuses AUTH before STARTTLS.
    server = relay(
        tls_context=cert.server_context(), require_starttls=True, auth=True, auth_required=True
    )
    config = {key: cert.cert_pem if value == "pem" else value for key, value in trust.items()}
    smtp = provider(server.port, "starttls", password=PASSWORD, config=config)

    await deliver(smtp, email())

    assert len(server.handler.received) == 1
    assert server.handler.encrypted == [True]


async def test_implicit_tls_delivers(
    relay: Callable[..., Relay], provider: Callable[..., SmtpProvider], cert: SelfSignedCert
) -> None:
    server = relay(implicit_tls=cert)
    smtp = provider(server.port, "tls", config={"ca_cert": cert.cert_pem})

    await deliver(smtp, email())
    await smtp.check()

    assert server.handler.received[0].message["Subject"] == "Message 1"
    assert server.handler.encrypted == [True]


@pytest.mark.parametrize("security", ["starttls", "tls"])
async def test_an_untrusted_certificate_is_refused_naming_the_certificate(
    relay: Callable[..., Relay],
    provider: Callable[..., SmtpProvider],
    cert: SelfSignedCert,
    security: str,
) -> None:
    server = relay(**relay_options(security, cert))
    smtp = provider(server.port, security)  # verification on, no ca_cert: the system store

    # A certificate problem is a configuration problem, but it is also what a relay
    # renewing its certificate looks like: retried, not failed at once.
    with pytest.raises(TemporaryDeliveryError) as failure:
        await deliver(smtp, email())
    with pytest.raises(TemporaryDeliveryError):
        await smtp.check()

    assert "certificate verify failed" in failure.value.reply.lower()
    assert server.handler.received == []


async def test_starttls_is_never_skipped_when_the_server_does_not_offer_it(
    relay: Callable[..., Relay], provider: Callable[..., SmtpProvider]
) -> None:
    server = relay(auth=True, auth_require_tls=False)
    smtp = provider(server.port, "starttls", password=PASSWORD, config={"verify_tls": False})

    with pytest.raises(DeliveryError) as failure:
        await deliver(smtp, email())

    assert "STARTTLS" in failure.value.reply
    assert server.handler.received == []
    assert server.handler.auth_attempts == 0  # the password never went out in clear


# AUTH


@AUTH_WITHOUT_TLS
async def test_auth_with_the_right_password_delivers_and_checks(
    relay: Callable[..., Relay], provider: Callable[..., SmtpProvider]
) -> None:
    server = relay(auth=True, auth_required=True, auth_require_tls=False)
    smtp = provider(server.port, password=PASSWORD)

    await smtp.check()
    await deliver(smtp, email())

    assert len(server.handler.received) == 1
    assert server.handler.auth_attempts == 2  # once for check(), once for the send


@AUTH_WITHOUT_TLS
async def test_auth_with_a_wrong_password_is_permanent_with_the_535_reply(
    relay: Callable[..., Relay], provider: Callable[..., SmtpProvider]
) -> None:
    server = relay(auth=True, auth_required=True, auth_require_tls=False)
    smtp = provider(server.port, password="not-the-password")

    with pytest.raises(PermanentDeliveryError) as failed_send:
        await deliver(smtp, email())
    with pytest.raises(PermanentDeliveryError) as failed_check:
        await smtp.check()

    for failure in (failed_send, failed_check):
        assert failure.value.reply.startswith("535 "), failure.value.reply
        assert "authentication" in failure.value.reply.lower()
    assert server.handler.received == []


# The pool


@pytest.mark.parametrize("security", ["none", "starttls", "tls"])
async def test_sequential_messages_reuse_one_connection(
    relay: Callable[..., Relay],
    provider: Callable[..., SmtpProvider],
    cert: SelfSignedCert,
    security: str,
) -> None:
    server = relay(**relay_options(security, cert))
    smtp = provider(server.port, security, max_connections=2, config={"ca_cert": cert.cert_pem})

    for n in range(20):
        await deliver(smtp, email(n))

    assert len(server.handler.received) == 20
    assert len(server.handler.connections) == 1
    assert len(set(server.handler.peers)) == 1
    assert set(server.handler.encrypted) == {security != "none"}


async def test_concurrent_messages_never_exceed_the_connection_cap(
    relay: Callable[..., Relay], provider: Callable[..., SmtpProvider]
) -> None:
    server = relay(RecordingHandler(data_delay=0.05))
    smtp = provider(server.port, max_connections=2)

    await asyncio.gather(*(deliver(smtp, email(n)) for n in range(20)))

    assert len(server.handler.received) == 20
    assert server.handler.most_in_data == 2  # the cap was reached, and never passed
    assert len(server.handler.connections) == 2


@pytest.mark.parametrize(
    ("security", "goodbye"),
    [
        ("none", None),
        ("none", b"421 4.4.2 Idle timeout, closing connection\r\n"),
        ("starttls", None),
        ("tls", None),
    ],
)
async def test_a_connection_the_server_dropped_is_replaced_not_failed(
    relay: Callable[..., Relay],
    provider: Callable[..., SmtpProvider],
    cert: SelfSignedCert,
    security: str,
    goodbye: bytes | None,
) -> None:
    server = relay(**relay_options(security, cert))
    smtp = provider(server.port, security, max_connections=1, config={"ca_cert": cert.cert_pem})
    await deliver(smtp, email(1))

    server.drop_sessions(goodbye)
    await deliver(smtp, email(2))

    assert len(server.handler.received) == 2
    assert len(set(server.handler.peers)) == 2  # the second message on a new connection


async def test_a_restarted_server_is_reconnected_to(
    relay: Callable[..., Relay], provider: Callable[..., SmtpProvider]
) -> None:
    first = relay()
    smtp = provider(first.port, max_connections=1)
    await deliver(smtp, email(1))

    first.stop()
    second = relay(first.handler, port=first.port)
    await deliver(smtp, email(2))

    assert len(second.handler.received) == 2


# Timeouts and replies


async def test_a_server_that_never_greets_times_out_as_temporary(
    provider: Callable[..., SmtpProvider],
) -> None:
    held: list[asyncio.StreamWriter] = []

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    silent = await asyncio.start_server(hold, "127.0.0.1", 0)
    port = silent.sockets[0].getsockname()[1]
    smtp = provider(port, timeout=0.5)
    try:
        started = time.monotonic()
        with pytest.raises(TemporaryDeliveryError) as failure:
            await deliver(smtp, email())
        elapsed = time.monotonic() - started
    finally:
        for writer in held:
            writer.close()
        silent.close()
        await silent.wait_closed()

    assert held, "the provider never connected"
    assert 0.4 < elapsed < 2.0
    assert "timed out" in failure.value.reply.lower()


async def test_a_server_that_stalls_mid_transaction_times_out_as_temporary(
    relay: Callable[..., Relay], provider: Callable[..., SmtpProvider]
) -> None:
    server = relay(RecordingHandler(data_delay=3.0))
    smtp = provider(server.port, timeout=0.5)

    started = time.monotonic()
    with pytest.raises(TemporaryDeliveryError):
        await deliver(smtp, email())

    assert time.monotonic() - started < 2.0


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        ("421 4.3.2 Service shutting down", TemporaryDeliveryError),
        ("451 4.3.0 Try again later", TemporaryDeliveryError),
        ("550 5.7.1 Message rejected as spam", PermanentDeliveryError),
    ],
)
async def test_data_replies_are_classified_with_the_reply_text(
    relay: Callable[..., Relay],
    provider: Callable[..., SmtpProvider],
    reply: str,
    error: type[DeliveryError],
) -> None:
    server = relay(RecordingHandler(fail_next=[reply]))
    smtp = provider(server.port)

    with pytest.raises(DeliveryError) as failure:
        await deliver(smtp, email(1))
    await deliver(smtp, email(2))  # the provider recovers for the next message

    assert type(failure.value) is error
    assert failure.value.reply == reply
    assert [r.message["Subject"] for r in server.handler.received] == ["Message 2"]


async def test_refused_recipients_are_classified_and_the_session_reused(
    relay: Callable[..., Relay], provider: Callable[..., SmtpProvider]
) -> None:
    refusals = {"gone@example.net": "550 5.1.1 No such user", "full@example.net": "452 Full"}
    server = relay(RecordingHandler(refuse_rcpt=refusals))
    smtp = provider(server.port)

    with pytest.raises(PermanentDeliveryError) as gone:
        await deliver(smtp, email(1, to="gone@example.net"))
    with pytest.raises(TemporaryDeliveryError) as full:
        await deliver(smtp, email(2, to="full@example.net"))
    await deliver(smtp, email(3))

    assert gone.value.reply == "550 gone@example.net: 5.1.1 No such user"
    assert full.value.reply == "452 full@example.net: Full"
    assert len(server.handler.received) == 1
    assert len(server.handler.connections) == 1
