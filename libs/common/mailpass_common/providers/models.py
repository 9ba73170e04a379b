"""The provider document: one of an account's providers in ``providers``, as every service
reads it (the gateway's API and console, the sender, the scheduler, the CLI).

Written by :mod:`mailpass_common.providers.service` only; read through it too, so what
crosses a module is this type, not a bare dict.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, NotRequired, TypedDict


class ProviderDocument(TypedDict):
    _id: str  # prv_...
    account_id: str
    name: str  # unique per account
    type: str  # a registered type (``providers.registry.PLUGINS``), or the sandbox's
    config: dict[str, Any]  # the type's settings, never a secret
    secret: str  # the type's secrets, encrypted (``platform.crypto.CredentialCipher``)
    secret_fields: list[str]  # which secrets are set (``has_*`` without decrypting)
    from_email: str | None  # overrides the message's From when set
    from_name: str | None
    hourly_limit: int | None  # sends per window (``providers.limits``)
    daily_limit: int | None
    fallback_priority: int | None  # a fallback when set, lowest first
    is_default: bool  # the one /mail/send uses; exactly one per account at rest
    # Bumped by every change: a sender keeps an open provider per (id, version).
    version: int
    created_at: datetime
    updated_at: datetime
    # The last connection check (API, console, CLI): not a change, the version stays.
    last_check_ok: NotRequired[bool]
    last_check_error: NotRequired[str | None]
    last_check_at: NotRequired[datetime]
