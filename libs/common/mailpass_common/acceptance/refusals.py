"""A message refused before anything is stored, with the stable code the API answers:
the provider types' own refusals (:class:`AcceptanceRefused`, e.g. a From domain MailPass
SMTP may not send from) and the acceptance steps' (no provider, the send limit)."""

from __future__ import annotations

from typing import Any

from mailpass_common.platform.errors import ErrorCode
from mailpass_common.providers.plugin import AcceptanceRefused


class Refused(AcceptanceRefused):
    """An acceptance step's refusal; with the send limit, when trying again makes sense."""

    def __init__(
        self,
        code: ErrorCode,
        message: str,
        details: Any = None,
        *,
        retry_after_seconds: int | None = None,
    ) -> None:
        super().__init__(code, message, details)
        self.retry_after_seconds = retry_after_seconds
