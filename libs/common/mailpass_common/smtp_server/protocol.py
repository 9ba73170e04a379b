"""aiosmtpd's protocol with what every MailPass SMTP server needs around it: connection
limits at the door, a count of handler calls under way (so a shutdown lets them finish),
and whether the session is encrypted (STARTTLS or an implicit-TLS listener)."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from aiosmtpd.smtp import SMTP

from mailpass_common.smtp_server.limits import Refusal
from mailpass_common.smtp_server.metrics import BLOCKED_CLIENTS, CONNECTIONS, OPEN_CONNECTIONS

if TYPE_CHECKING:
    from mailpass_common.smtp_server.server import SmtpServer

log = logging.getLogger(__name__)

TOO_MANY_FAILURES = b"421 4.7.0 Too many failures from your address; try again later\r\n"
_REFUSALS = {
    Refusal.SERVER_FULL: b"421 4.7.0 Too many connections; try again later\r\n",
    Refusal.CLIENT_FULL: b"421 4.7.0 Too many connections from your address\r\n",
    Refusal.CLIENT_BLOCKED: TOO_MANY_FAILURES,
}
SHUTTING_DOWN = b"421 4.3.2 Service shutting down; try again later\r\n"


def client_address(peer: Any) -> str:
    """The address part of a peername (``(host, port)`` or ``(host, port, flow, scope)``)."""
    if isinstance(peer, tuple) and peer:
        return str(peer[0])
    return str(peer)


class ServedSMTP(SMTP):
    """One client connection of a :class:`SmtpServer`."""

    def __init__(self, handler: Any, *, owner: SmtpServer, **options: Any) -> None:
        super().__init__(handler, **options)
        self.owner = owner
        self.client = ""
        self.implicit_tls = False
        self._admitted = False
        self._refused = False

    @property
    def encrypted(self) -> bool:
        """Whether the session runs over TLS (after STARTTLS, or on an implicit-TLS port)."""
        return self.implicit_tls or self._tls_protocol is not None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if self._admitted:  # STARTTLS: the same connection, now encrypted
            super().connection_made(transport)
            return
        self.client = client_address(transport.get_extra_info("peername"))
        self.implicit_tls = transport.get_extra_info("sslcontext") is not None
        name = self.owner.listener.name
        refusal = self.owner.admit(self.client)
        if refusal is not None or self.owner.closing:
            self._refused = True
            CONNECTIONS.labels(name, (refusal or Refusal.SERVER_FULL).value).inc()
            assert isinstance(transport, asyncio.WriteTransport)
            transport.write(_REFUSALS[refusal] if refusal else SHUTTING_DOWN)
            transport.close()
            return
        self._admitted = True
        CONNECTIONS.labels(name, "accepted").inc()
        OPEN_CONNECTIONS.labels(name).inc()
        self.owner.sessions.add(self)
        super().connection_made(transport)

    def connection_lost(self, error: Exception | None) -> None:
        if self._refused:
            return
        if self._admitted and self in self.owner.sessions:
            self.owner.sessions.discard(self)
            self.owner.limits.release(self.client)
            OPEN_CONNECTIONS.labels(self.owner.listener.name).dec()
        super().connection_lost(error)

    def eof_received(self) -> bool | None:
        if self._refused:
            return False
        return super().eof_received()

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        super().data_received(data)

    async def _call_handler_hook(self, command: str, *args: Any) -> Any:
        # Handler calls (AUTH, RCPT, DATA...) may be storing something: a graceful stop
        # waits for them before it closes the connections.
        self.owner.busy += 1
        try:
            return await super()._call_handler_hook(command, *args)
        finally:
            self.owner.busy -= 1
            self.owner.settle()

    def record_failure(self) -> bool:
        """Count a failure of this client (a failed AUTH...) in the server's window;
        whether the address is blocked now (then :meth:`cut_off` it)."""
        window = self.owner.failures
        return window is not None and window.record(self.client)

    def cut_off(self) -> None:
        """421 and close: the address failed too often (new connections from it are
        refused with the same reply until its failures age out)."""
        BLOCKED_CLIENTS.labels(self.owner.listener.name).inc()
        self._say_and_close(TOO_MANY_FAILURES)

    def close_for_shutdown(self) -> None:
        """Say 421 (RFC 5321 §3.8: a server shutting down may, at any time) and close."""
        self._say_and_close(SHUTTING_DOWN)

    def _say_and_close(self, reply: bytes) -> None:
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        assert isinstance(transport, asyncio.WriteTransport)
        transport.write(reply)
        transport.close()
