"""SMTP sessions to receiving MX hosts: opened politely, reused, and limited per host.

Per MX host, at most ``max_connections`` sessions are open at once (idle or in use) and a
session carries at most ``max_messages`` transactions before it is closed with QUIT (a
long-lived session hides a server's changes and some servers count per connection). A
session that served a message goes back to its host's idle list, so the next message for
any domain served by that host reuses it: no TCP, TLS and EHLO per message. Idle sessions
are checked before reuse (a server that hung up is noticed without a failed transaction),
and those idle for ``idle_seconds`` are closed with QUIT (:meth:`ConnectionPool.close_idle`,
which the engine runs every few seconds).

Opening a session (RFC 5321 §3, RFC 3207, RFC 7435): connect to one of the host's checked
addresses, read the greeting, EHLO with ``MTA_HELO_HOSTNAME``, and STARTTLS whenever the
server offers it. Without an MTA-STS policy TLS is opportunistic: the certificate is not
checked (a self-signed one still encrypts), and a server whose TLS handshake fails is
tried once more in clear, as Postfix does at its ``may`` level. Under an enforced policy
(``verified``) STARTTLS is required and the certificate must verify for the host's name.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import aiosmtplib
from prometheus_client import Counter

from mailpass_common.platform.egress import connect_first
from mailpass_common.providers.delivery.smtp import _hung_up

CONNECTIONS_OPENED = Counter(
    "mailpass_mta_connections_opened_total",
    "SMTP sessions the MTA opened to receiving servers (make bench: per 1,000 messages).",
)
TRANSIENT = (aiosmtplib.SMTPException, OSError, TimeoutError, ssl.SSLError)
MAX_DESTINATIONS = 10_000


class SessionRefused(Exception):
    """No session with this host: ``reply`` says why; ``code`` is its SMTP reply code
    (0 when it never answered in SMTP: refused, timed out, TLS failed)."""

    def __init__(self, reply: str, code: int = 0, message: str = "") -> None:
        super().__init__(reply)
        self.reply = reply
        self.code = code
        self.message = message


@dataclass
class Session:
    client: aiosmtplib.SMTP
    host: str
    tls: bool
    verified: bool
    sent: int = 0
    last_used: float = field(default_factory=time.monotonic)


@dataclass(frozen=True)
class SessionOptions:
    helo_hostname: str
    port: int
    timeout: float
    # Trust for certificates MTA-STS requires verified (the system's store when None).
    verified_context: ssl.SSLContext | None = None


def _opportunistic_context() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


async def open_session(
    host: str, addresses: Sequence[str], options: SessionOptions, *, verified: bool
) -> Session:
    """A session with ``host`` (addresses already checked by the egress policy)."""
    try:
        return await _open(host, addresses, options, verified=verified, tls=True)
    except _TlsFailed as exc:
        if verified:
            raise SessionRefused(
                f"{host}: TLS failed ({exc}), and its MTA-STS policy requires it"
            ) from exc
    return await _open(host, addresses, options, verified=False, tls=False)


class _TlsFailed(Exception):
    pass


async def _open(
    host: str, addresses: Sequence[str], options: SessionOptions, *, verified: bool, tls: bool
) -> Session:
    try:
        async with asyncio.timeout(options.timeout):
            sock = await connect_first(addresses, options.port)
    except (OSError, TimeoutError) as exc:
        raise SessionRefused(f"{host}: connection failed: {exc or type(exc).__name__}") from exc
    client = aiosmtplib.SMTP(
        hostname=host,
        sock=sock,
        local_hostname=options.helo_hostname,
        start_tls=False,
        timeout=options.timeout,
    )
    try:
        await client.connect()
        CONNECTIONS_OPENED.inc()
        await client.ehlo()
        offered = client.supports_extension("starttls")
        if verified and not offered:
            raise SessionRefused(
                f"{host} does not offer STARTTLS, and its MTA-STS policy requires it"
            )
        if tls and offered:
            context = (
                (options.verified_context or ssl.create_default_context())
                if verified
                else _opportunistic_context()
            )
            try:
                await client.starttls(tls_context=context)
            except (ssl.SSLError, ssl.CertificateError, aiosmtplib.SMTPException, OSError) as exc:
                raise _TlsFailed(str(exc) or type(exc).__name__) from exc
        return Session(client, host, tls=tls and offered, verified=verified)
    except aiosmtplib.SMTPResponseException as exc:
        client.close()
        sock.close()
        text = f"{exc.code} {exc.message}"
        raise SessionRefused(f"{host}: {text}", exc.code, exc.message) from exc
    except BaseException as exc:
        client.close()
        sock.close()
        if isinstance(exc, TRANSIENT) and not isinstance(exc, _TlsFailed):
            raise SessionRefused(f"{host}: session failed: {exc or type(exc).__name__}") from exc
        raise


@dataclass
class _Host:
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    open: int = 0  # sessions open (idle or in use), at most max_connections
    idle: list[Session] = field(default_factory=list)


class ConnectionPool:
    """Open sessions per MX host, at most ``max_connections`` each (module docstring)."""

    def __init__(self, max_connections: int, max_messages: int, idle_seconds: float = 30.0):
        self._max_connections = max_connections
        self._max_messages = max_messages
        self._idle_seconds = idle_seconds
        self._hosts: dict[str, _Host] = {}

    def _host(self, host: str) -> _Host:
        found = self._hosts.get(host)
        if found is None:
            if len(self._hosts) >= MAX_DESTINATIONS:
                for name, entry in list(self._hosts.items()):
                    if not entry.open:
                        del self._hosts[name]
            found = self._hosts[host] = _Host()
        return found

    async def acquire(self, host: str, *, verified: bool, wait: float) -> Session | None:
        """An idle session fit for reuse, or None when the caller may open a new one (its
        place is reserved: :meth:`opened` or :meth:`not_opened` must follow). Waits up to
        ``wait`` seconds while the host's sessions are all in use (TimeoutError)."""
        entry = self._host(host)
        async with asyncio.timeout(wait), entry.changed:
            while True:
                session = self._reusable(entry, verified)
                if session is not None:
                    return session
                if entry.open < self._max_connections:
                    entry.open += 1
                    return None
                await entry.changed.wait()

    def _reusable(self, entry: _Host, verified: bool) -> Session | None:
        now = time.monotonic()
        for session in reversed(entry.idle):
            stale = now - session.last_used > self._idle_seconds
            if stale or _hung_up(session.client) or (verified and not session.verified):
                # Closed (an unfit one too: its place serves the session needed now).
                entry.idle.remove(session)
                entry.open -= 1
                session.client.close()
                return self._reusable(entry, verified)
            entry.idle.remove(session)
            return session
        return None

    async def not_opened(self, host: str) -> None:
        """The reserved place was not used: the session could not be opened."""
        entry = self._hosts[host]
        async with entry.changed:
            entry.open -= 1
            entry.changed.notify()

    async def release(self, session: Session, *, reusable: bool) -> None:
        """Back to the idle list after a transaction, or closed (QUIT when it is worn)."""
        session.last_used = time.monotonic()
        entry = self._hosts[session.host]
        keep = reusable and session.sent < self._max_messages and session.client.is_connected
        async with entry.changed:
            if keep:
                entry.idle.append(session)
            else:
                entry.open -= 1
            entry.changed.notify()
        if keep:
            return
        if session.client.is_connected and reusable:
            with contextlib.suppress(*TRANSIENT):
                await session.client.quit()
        session.client.close()

    async def close_idle(self) -> int:
        """QUIT the sessions idle for ``idle_seconds`` or more (their hosts have no mail for
        us now; a receiving server should not hold our connection for nothing); how many."""
        cutoff = time.monotonic() - self._idle_seconds
        stale: list[Session] = []
        for entry in list(self._hosts.values()):
            old = [session for session in entry.idle if session.last_used <= cutoff]
            if not old:
                continue
            async with entry.changed:
                for session in old:
                    if session in entry.idle:
                        entry.idle.remove(session)
                        entry.open -= 1
                        stale.append(session)
                entry.changed.notify_all()
        for session in stale:
            if session.client.is_connected:
                with contextlib.suppress(*TRANSIENT):
                    await session.client.quit()
            session.client.close()
        return len(stale)

    @property
    def open_sessions(self) -> int:
        return sum(entry.open for entry in self._hosts.values())

    async def close(self) -> None:
        for entry in self._hosts.values():
            idle, entry.idle = entry.idle, []
            for session in idle:
                with contextlib.suppress(*TRANSIENT):
                    await session.client.quit()
                session.client.close()
        self._hosts.clear()
