"""SMTP delivery with aiosmtplib: a small pool of open connections per provider.

Connections are reused across messages (a TLS handshake and AUTH per message would cost
more than the message), and the pool size caps the concurrent sessions a provider sees.

Config (``mailpass_common.providers.types.smtp.SmtpConfig``): ``host``, ``port``,
``security`` (``starttls``, the default and required when chosen; ``tls`` for implicit
TLS, port 465; ``none``), ``username`` (AUTH, with the ``password`` secret),
``verify_tls`` (default true) and ``ca_cert`` (PEM of a private CA to trust, for
self-hosted relays). Classification: 5xx replies are permanent; 4xx
replies, refused or dropped connections, TLS failures and timeouts are temporary.

Every connection of a tenant's provider goes through the egress policy
(``mailpass_common.platform.egress``): the port must be an SMTP port the policy allows, and the
socket is opened here to an address checked a moment before, then handed to aiosmtplib
with the host name, which TLS uses for SNI and certificate verification. An address the
policy refuses fails the provider permanently, without a connection. The sandbox, the
operator's own capture server, is built without a policy.
"""

from __future__ import annotations

import asyncio
import contextlib
import select
import ssl
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import aiosmtplib

from mailpass_common.platform.egress import EgressPolicy, EgressRefused
from mailpass_common.providers.delivery.base import (
    Bounce,
    DeliveryError,
    DeliveryResult,
    OutgoingEmail,
    PermanentDeliveryError,
    TemporaryDeliveryError,
    reply_text,
)
from mailpass_common.providers.delivery.mime import needs_smtputf8, wire_address
from mailpass_common.providers.delivery.options import STRICT_EGRESS

if TYPE_CHECKING:
    from mailpass_common.providers.types.smtp import SmtpConfig

_TRANSIENT = (aiosmtplib.SMTPException, OSError, TimeoutError)


def _classify(code: int, message: str) -> DeliveryError:
    if not 200 <= code <= 599:
        # aiosmtplib's code for a line that is no SMTP reply (-1): whatever answered is not
        # a mail server, and its words (an SSH or database banner) are not repeated.
        return TemporaryDeliveryError("the server did not answer in SMTP")
    reply = reply_text(f"{code} {message}")
    return PermanentDeliveryError(reply) if 500 <= code < 600 else TemporaryDeliveryError(reply)


def _tls_context(config: SmtpConfig) -> ssl.SSLContext | None:
    if not config.verify_tls:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    if config.ca_cert:
        return ssl.create_default_context(cadata=config.ca_cert)
    return None  # aiosmtplib's default: the system trust store, hostname checked


def _hung_up(client: aiosmtplib.SMTP) -> bool:
    """Whether the server closed this idle session moments ago, unnoticed by the loop.

    An idle session has nothing to read: anything readable is an EOF, a 421 or a TLS
    close_notify still waiting for the event loop, and the session would fail mid-send.
    """
    if not client.is_connected:
        return True
    sock = client.get_transport_info("socket")
    if sock is None:
        return False
    poller = select.poll()
    poller.register(sock.fileno(), select.POLLIN)
    return bool(poller.poll(0))


def _bounces(named: dict[str, str], refusals: Iterable[tuple[str, int, str]]) -> tuple[Bounce, ...]:
    """The RCPT refusals that are about the address, under the address the message named."""
    found = (Bounce.of(named.get(rcpt, rcpt), code, message) for rcpt, code, message in refusals)
    return tuple(bounce for bounce in found if bounce is not None)


class SmtpProvider:
    type = "smtp"

    def __init__(
        self,
        config: SmtpConfig,
        *,
        max_connections: int = 8,
        timeout: float = 30.0,
        idle_check_seconds: float = 10.0,
        egress: EgressPolicy | None = STRICT_EGRESS,
    ) -> None:
        security = config.security
        self._host = config.host
        self._port = config.smtp_port
        if egress is not None and not egress.smtp_port_allowed(self._port):
            raise ValueError(
                f"port {self._port} is not an SMTP port providers may use "
                f"({egress.smtp_ports_text()})"
            )
        self._egress = egress
        self._timeout = timeout
        self._options: dict[str, Any] = {
            "hostname": self._host,
            "use_tls": security == "tls",
            # True, not None (opportunistic): a server that does not offer STARTTLS is
            # refused rather than sent the credentials and message in clear.
            "start_tls": security == "starttls",
            "timeout": timeout,
        }
        context = _tls_context(config) if security != "none" else None
        if context is not None:
            self._options["tls_context"] = context
        if config.username:
            self._options["username"] = config.username
            self._options["password"] = config.password or ""
        self._idle_check_seconds = idle_check_seconds
        # (connection, when it was last used): most recent last, so the warmest is reused.
        self._idle: list[tuple[aiosmtplib.SMTP, float]] = []
        self._open: set[aiosmtplib.SMTP] = set()  # connected sessions, idle or in use
        self._slots = asyncio.Semaphore(max_connections)

    async def _open_socket(self) -> dict[str, Any]:
        """Where aiosmtplib connects: a socket to a checked address, or (no policy) the
        host and port for it to resolve."""
        if self._egress is None:
            return {"port": self._port}
        try:
            return {"sock": await self._egress.connect(self._host, self._port, self._timeout)}
        except EgressRefused as exc:
            raise PermanentDeliveryError(str(exc)) from exc
        except TimeoutError as exc:
            raise TemporaryDeliveryError("connection to SMTP server timed out") from exc
        except OSError as exc:
            raise TemporaryDeliveryError(f"connection to SMTP server failed: {exc}") from exc

    async def _connect(self) -> aiosmtplib.SMTP:
        target = await self._open_socket()
        client = aiosmtplib.SMTP(**self._options, **target)
        try:
            await client.connect()
        except BaseException as exc:
            client.close()
            if "sock" in target:  # ours until aiosmtplib's transport took it over
                target["sock"].close()
            if isinstance(exc, aiosmtplib.SMTPResponseException):
                raise _classify(exc.code, exc.message) from exc
            if isinstance(exc, (*_TRANSIENT, ssl.SSLError)):
                raise TemporaryDeliveryError(f"connection to SMTP server failed: {exc}") from exc
            raise
        self._open.add(client)
        return client

    @property
    def open_connections(self) -> int:
        return len(self._open)

    def _drop(self, client: aiosmtplib.SMTP) -> None:
        self._open.discard(client)
        client.close()

    async def _acquire(self) -> aiosmtplib.SMTP:
        while self._idle:
            client, last_used = self._idle.pop()
            if _hung_up(client):
                self._drop(client)
                continue
            if time.monotonic() - last_used < self._idle_check_seconds:
                return client
            # Servers close idle sessions; find out now rather than mid-transaction.
            try:
                await client.noop()
                return client
            except _TRANSIENT:
                self._drop(client)
        return await self._connect()

    def _release(self, client: aiosmtplib.SMTP) -> None:
        self._idle.append((client, time.monotonic()))

    async def send(self, email: OutgoingEmail, mime: bytes) -> DeliveryResult:
        async with self._slots:
            client = await self._acquire()
            # International domains travel as IDNA; a non-ASCII local part needs SMTPUTF8.
            options = ["SMTPUTF8"] if needs_smtputf8(email) else []
            named = {wire_address(r): r for r in email.recipients}
            try:
                errors, response = await client.sendmail(
                    wire_address(email.from_email),
                    list(named),
                    mime,
                    mail_options=options,
                )
            except aiosmtplib.SMTPNotSupported as exc:
                self._release(client)
                raise PermanentDeliveryError(
                    "an address has a non-ASCII local part, which needs SMTPUTF8, "
                    f"and the server does not offer it ({exc})"
                ) from exc
            except aiosmtplib.SMTPRecipientsRefused as exc:
                await self._release_after_refusal(client)
                worst = max(exc.recipients, key=lambda r: r.code)
                error = _classify(worst.code, f"{worst.recipient}: {worst.message}")
                error.bounced = _bounces(
                    named, ((r.recipient, r.code, r.message) for r in exc.recipients)
                )
                raise error from exc
            except aiosmtplib.SMTPResponseException as exc:
                await self._release_after_refusal(client)
                raise _classify(exc.code, exc.message) from exc
            except _TRANSIENT as exc:
                self._drop(client)
                raise TemporaryDeliveryError(f"SMTP session failed: {exc}") from exc
            self._release(client)
            # Some recipients refused while others were accepted: the message went out.
            refused = "; ".join(f"{r}: {e.code} {e.message}" for r, e in errors.items())
            bounced = _bounces(named, ((r, e.code, e.message) for r, e in errors.items()))
            return DeliveryResult(
                provider_message_id=None, reply=refused or response, bounced=bounced
            )

    async def _release_after_refusal(self, client: aiosmtplib.SMTP) -> None:
        """The server refused this message but the session may serve the next one."""
        try:
            if client.is_connected:
                await client.rset()
                self._release(client)
                return
        except _TRANSIENT:
            pass
        self._drop(client)

    async def check(self) -> None:
        client = await self._connect()
        with contextlib.suppress(*_TRANSIENT):
            await client.quit()
        self._drop(client)

    async def close(self) -> None:
        idle, self._idle = self._idle, []
        for client, _ in idle:
            with contextlib.suppress(*_TRANSIENT):
                await client.quit()
            self._drop(client)
