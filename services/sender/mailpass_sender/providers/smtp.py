"""SMTP delivery with aiosmtplib: a small pool of open connections per provider.

Connections are reused across messages (a TLS handshake and AUTH per message would cost
more than the message), and the pool size caps the concurrent sessions a provider sees.
"""

from __future__ import annotations

import asyncio
import ssl
from typing import Any

import aiosmtplib

from mailpass_sender.providers.base import (
    DeliveryError,
    DeliveryResult,
    OutgoingEmail,
    PermanentDeliveryError,
    TemporaryDeliveryError,
)


def _classify(code: int, message: str) -> DeliveryError:
    reply = f"{code} {message}".strip()
    return PermanentDeliveryError(reply) if 500 <= code < 600 else TemporaryDeliveryError(reply)


class SmtpProvider:
    type = "smtp"

    def __init__(
        self,
        config: dict[str, Any],
        secrets: dict[str, Any],
        *,
        max_connections: int = 8,
        timeout: float = 30.0,
    ) -> None:
        security = config.get("security", "starttls")
        self._options: dict[str, Any] = {
            "hostname": config["host"],
            "port": int(config.get("port") or (465 if security == "tls" else 587)),
            "use_tls": security == "tls",
            "start_tls": security == "starttls",
            "timeout": timeout,
        }
        if security != "none" and config.get("verify_tls") is False:
            self._options["tls_context"] = ssl._create_unverified_context()
        if config.get("username"):
            self._options["username"] = config["username"]
            self._options["password"] = secrets.get("password", "")
        self._idle: asyncio.LifoQueue[aiosmtplib.SMTP] = asyncio.LifoQueue()
        self._slots = asyncio.Semaphore(max_connections)

    async def _connect(self) -> aiosmtplib.SMTP:
        client = aiosmtplib.SMTP(**self._options)
        try:
            await client.connect()
        except aiosmtplib.SMTPResponseException as exc:
            raise _classify(exc.code, exc.message) from exc
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise TemporaryDeliveryError(f"connection to SMTP server failed: {exc}") from exc
        return client

    async def _acquire(self) -> aiosmtplib.SMTP:
        while not self._idle.empty():
            client = self._idle.get_nowait()
            if client.is_connected:
                return client
        return await self._connect()

    async def send(self, email: OutgoingEmail) -> DeliveryResult:
        async with self._slots:
            client = await self._acquire()
            try:
                errors, response = await client.send_message(
                    email.to_mime(), sender=email.from_email, recipients=email.recipients
                )
            except aiosmtplib.SMTPRecipientsRefused as exc:
                await self._release_after_refusal(client)
                worst = max(exc.recipients, key=lambda r: r.code)
                raise _classify(worst.code, f"{worst.recipient}: {worst.message}") from exc
            except aiosmtplib.SMTPResponseException as exc:
                await self._release_after_refusal(client)
                raise _classify(exc.code, exc.message) from exc
            except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
                client.close()
                raise TemporaryDeliveryError(f"SMTP session failed: {exc}") from exc
            self._idle.put_nowait(client)
            # Some recipients refused while others were accepted: the message went out.
            refused = "; ".join(f"{r}: {e.code} {e.message}" for r, e in errors.items())
            return DeliveryResult(provider_message_id=None, reply=refused or response)

    async def _release_after_refusal(self, client: aiosmtplib.SMTP) -> None:
        """The server refused this message but the session may serve the next one."""
        try:
            if client.is_connected:
                await client.rset()
                self._idle.put_nowait(client)
                return
        except (aiosmtplib.SMTPException, OSError, TimeoutError):
            pass
        client.close()

    async def check(self) -> None:
        client = await self._connect()
        try:
            await client.quit()
        except aiosmtplib.SMTPException:
            client.close()

    async def close(self) -> None:
        while not self._idle.empty():
            client = self._idle.get_nowait()
            try:
                await client.quit()
            except (aiosmtplib.SMTPException, OSError):
                client.close()
