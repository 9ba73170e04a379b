"""A message refused before anything is stored, with the stable code the API answers."""

from __future__ import annotations

from typing import Any

from mailpass_common.platform.errors import ErrorCode


class Refused(Exception):
    def __init__(
        self,
        code: ErrorCode,
        message: str,
        details: Any = None,
        *,
        retry_after_seconds: int | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details
        # For a refusal that passes (the send limit): when trying again makes sense.
        self.retry_after_seconds = retry_after_seconds
