"""The ``mailpass`` provider type ("MailPass SMTP"): delivery by MailPass itself.

A provider of this type holds no host and no credentials: its ``config`` is empty (the
delivery settings are the operator's, ``MTA_*``). Each provider is a thin handle on the
sender's one :class:`~mailpass_common.mta.engine.MtaEngine`, so every account's mail to a
receiving server shares that server's connection limits and back-off.
"""

from __future__ import annotations

from mailpass_common.mta.engine import MtaEngine
from mailpass_common.providers.delivery.base import (
    DeliveryResult,
    OutgoingEmail,
    PermanentDeliveryError,
)

TYPE = "mailpass"
DISPLAY_NAME = "MailPass SMTP"
NOT_ENABLED = (
    "MailPass SMTP is not enabled on this installation: the operator sets "
    "MTA_HELO_HOSTNAME and MTA_RETURN_PATH_DOMAIN for the sender"
)


class MtaProvider:
    type = TYPE

    def __init__(self, engine: MtaEngine | None, *, enabled: bool = False) -> None:
        self._engine = engine
        self._enabled = enabled or engine is not None

    async def send(self, email: OutgoingEmail, mime: bytes) -> DeliveryResult:
        if self._engine is None:
            raise PermanentDeliveryError(NOT_ENABLED)
        return await self._engine.deliver(email, mime, email.account_id)

    async def check(self) -> None:
        """Nothing to log in to: the check is that this installation delivers by itself
        (the gateway, which runs it, holds no engine: only the sender delivers)."""
        if not self._enabled:
            raise PermanentDeliveryError(NOT_ENABLED)

    async def close(self) -> None:
        """The engine is the sender's, shared by every provider: it closes with the sender."""
