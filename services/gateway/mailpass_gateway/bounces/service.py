"""A provider's event hook made and ended: the rules, written once (the routes are
:mod:`mailpass_gateway.bounces.views`).

A hook belongs to one of the account's providers whose type reports events (an
``event_hook`` in its plugin); it is made with that type's fields, its required ones
given, kept encrypted. Making it again replaces it. Nothing is cached: the hook's URL is
looked up on every notification.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mailpass_common.platform.crypto import CredentialCipher
from mailpass_common.platform.db import Database
from mailpass_common.platform.errors import ErrorCode
from mailpass_common.providers import event_hooks
from mailpass_common.providers.registry import PLUGINS
from mailpass_gateway.errors import ApiError
from mailpass_gateway.providers.service import owned_provider


async def make_hook(
    db: Database,
    cipher: CredentialCipher,
    account_id: str,
    provider_id: str,
    values: Mapping[str, Any],
) -> tuple[str, str]:
    """The provider's new hook from ``values`` (its type's fields; others are ignored):
    its type and the token of its URL, shown once. NOT_FOUND for another account's
    provider; VALIDATION_ERROR for a type without events or a required field missing."""
    provider = await owned_provider(db, account_id, provider_id)
    kind = str(provider.get("type"))
    plugin = PLUGINS.get(kind)
    if plugin is None or plugin.event_hook is None:
        raise ApiError(
            ErrorCode.VALIDATION_ERROR,
            "Invalid request: provider",
            [
                {
                    "field": "provider",
                    "message": f"{kind} providers report no events (SMTP bounces are seen at RCPT)",
                }
            ],
        )
    fields = plugin.event_hook.fields
    given = {k: v for k, v in values.items() if k in fields and v is not None}
    missing = [name for name in plugin.event_hook.required if not given.get(name)]
    if missing:
        raise ApiError(
            ErrorCode.VALIDATION_ERROR,
            f"Invalid request: {', '.join(missing)}",
            [{"field": n, "message": f"required for a {kind} provider"} for n in missing],
        )
    token = await event_hooks.create_hook(
        db, cipher, account_id=account_id, provider_id=provider_id, type=kind, verification=given
    )
    return kind, token


async def end_hook(db: Database, account_id: str, provider_id: str) -> None:
    """End the provider's hook: its URL answers 404 from now on. NOT_FOUND for another
    account's provider (a provider without a hook is left as it is)."""
    await owned_provider(db, account_id, provider_id)
    await event_hooks.delete_hook(db, account_id, provider_id)
