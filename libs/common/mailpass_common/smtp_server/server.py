"""Listening for SMTP: one :class:`SmtpServer` per port, on the service's own event loop.

Built on ``loop.create_server`` with aiosmtpd's protocol, not on aiosmtpd's
``Controller`` (which runs a loop of its own in a thread): handlers then share the
service's loop, database client and broker connection, and a stop is one await.

TLS modes (``TlsMode``): ``STARTTLS`` offers the upgrade (RFC 3207); with
``require_tls`` every command but EHLO/HELO/NOOP/QUIT/STARTTLS waits for it (RFC 6409
submission on 587); ``IMPLICIT`` is TLS from the first byte (RFC 8314, port 465).
aiosmtpd knows only STARTTLS as encryption, so on an implicit-TLS listener its own
"AUTH needs TLS" rule is off (the whole connection is TLS) and :attr:`ServedSMTP.encrypted`
tells a handler the truth either way.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from mailpass_common.platform.telemetry import log_fields
from mailpass_common.platform.workers import listening_socket
from mailpass_common.smtp_server.limits import ConnectionLimits, FailureWindow, Refusal
from mailpass_common.smtp_server.protocol import ServedSMTP
from mailpass_common.smtp_server.tls import ReloadingTlsContext

log = logging.getLogger(__name__)


class TlsMode(StrEnum):
    NONE = "none"
    STARTTLS = "starttls"
    IMPLICIT = "implicit"


@dataclass(frozen=True)
class Listener:
    name: str  # the metrics label: submission, submissions, inbound...
    host: str
    port: int  # 0: any free port (tests)
    tls: TlsMode = TlsMode.STARTTLS
    # STARTTLS before anything but EHLO/HELO/NOOP/QUIT (submission's rule).
    require_tls: bool = False


@dataclass(frozen=True)
class SmtpOptions:
    """What every connection of a server gets."""

    hostname: str  # the name in the greeting and EHLO reply
    max_message_bytes: int  # advertised as SIZE, enforced while reading DATA (552)
    max_connections: int = 500
    max_connections_per_client: int = 20
    idle_timeout_seconds: float = 300.0  # RFC 5321 §4.5.3.2.7: 5 minutes between commands
    auth_required: bool = False  # 530 5.7.0 to MAIL/RCPT/DATA before AUTH
    auth_mechanisms: bool = False  # advertise and accept AUTH PLAIN and LOGIN
    smtputf8: bool = True


class SmtpServer:
    """One listening port: a handler with aiosmtpd's ``handle_*`` hooks behind it."""

    def __init__(
        self,
        listener: Listener,
        handler: Any,
        options: SmtpOptions,
        tls: ReloadingTlsContext | None = None,
        failures: FailureWindow | None = None,
    ) -> None:
        if listener.tls is not TlsMode.NONE and tls is None:
            raise ValueError(f"listener {listener.name} needs a TLS certificate and key")
        self.listener = listener
        self.handler = handler
        self.options = options
        self.tls = tls
        self.limits = ConnectionLimits(options.max_connections, options.max_connections_per_client)
        # Failures per client address (failed AUTH...), shared by the listeners given it.
        self.failures = failures
        self.sessions: set[ServedSMTP] = set()
        self.busy = 0  # handler calls under way
        self.closing = False
        self._server: asyncio.base_events.Server | None = None
        self._settled = asyncio.Event()

    @property
    def port(self) -> int:
        assert self._server is not None, "not started"
        return int(self._server.sockets[0].getsockname()[1])

    def _protocol(self) -> ServedSMTP:
        listener, options = self.listener, self.options
        implicit = listener.tls is TlsMode.IMPLICIT
        kwargs: dict[str, Any] = {
            "hostname": options.hostname,
            "data_size_limit": options.max_message_bytes,
            "enable_SMTPUTF8": options.smtputf8,
            "timeout": options.idle_timeout_seconds,
            "auth_required": options.auth_required,
            "loop": asyncio.get_running_loop(),
        }
        if not options.auth_mechanisms:
            kwargs["auth_exclude_mechanism"] = ["PLAIN", "LOGIN"]
        if listener.tls is TlsMode.STARTTLS:
            assert self.tls is not None
            kwargs["tls_context"] = self.tls.context
            kwargs["require_starttls"] = listener.require_tls
        protocol = ServedSMTP(self.handler, owner=self, **kwargs)
        if implicit:
            # aiosmtpd counts only STARTTLS as encryption (and warns at every connection
            # when told otherwise): on an implicit-TLS port the whole connection is
            # encrypted, so its "AUTH needs STARTTLS" rule is lifted here, after the fact.
            protocol._auth_require_tls = False
        return protocol

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        sock = listening_socket(self.listener.host, self.listener.port, reuse_port=False)
        ssl_context = None
        if self.listener.tls is TlsMode.IMPLICIT:
            assert self.tls is not None
            ssl_context = self.tls.context
        self._server = await loop.create_server(self._protocol, sock=sock, ssl=ssl_context)
        log.info(
            "smtp listening",
            extra=log_fields(listener=self.listener.name, port=self.port, tls=self.listener.tls),
        )

    def admit(self, client: str) -> Refusal | None:
        """Count a new connection, or say why it is refused: an address whose failures
        reached the window's limit is refused until they age out."""
        if self.failures is not None and self.failures.blocked(client):
            return Refusal.CLIENT_BLOCKED
        return self.limits.admit(client)

    def settle(self) -> None:
        if self.busy == 0:
            self._settled.set()

    async def stop(self, grace_seconds: float) -> None:
        """Stop accepting; let handler calls under way finish (up to ``grace_seconds``);
        then say 421 to every client still connected and close."""
        self.closing = True
        if self._server is not None:
            self._server.close()
        if self.busy:
            self._settled.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._settled.wait(), grace_seconds)
        for session in list(self.sessions):
            session.close_for_shutdown()
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None
        # Let the closed connections' callbacks run before the loop goes away.
        await asyncio.sleep(0)
