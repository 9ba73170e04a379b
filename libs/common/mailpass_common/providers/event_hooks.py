"""Provider event hooks: the public URLs where a provider reports bounces and complaints
(the types with an ``event_hook`` in their plugin: SES through SNS, SendGrid, Mailgun...).

One hook per provider, in ``event_hooks``: ``{_id: sha256(token), account_id,
provider_id, type, verification (encrypted), created_at}``. The URL's last segment is
the token (32 random bytes), shown once when the hook is made (as API keys are): it both
names the provider, so an unguessable URL is all a provider needs, and is never stored in
the clear. What each provider's notifications are verified with is kept encrypted
(``verification``): the fields of its type's ``EventHook`` (SendGrid's public key,
Mailgun's webhook signing key, SES's optional topic ARN...).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from mailpass_common.platform.crypto import CredentialCipher
from mailpass_common.platform.db import Collections, Database, Document, where


def token_id(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Hook:
    id: str
    account_id: str
    provider_id: str
    type: str
    verification: dict[str, Any]


async def create_hook(
    db: Database,
    cipher: CredentialCipher,
    *,
    account_id: str,
    provider_id: str,
    type: str,
    verification: dict[str, Any],
) -> str:
    """Make (or replace) the provider's hook; the token, shown once. Replacing it ends the
    previous URL at once."""
    token = secrets.token_urlsafe(32)
    await db[Collections.EVENT_HOOKS].delete_many(
        where(account_id=account_id, provider_id=provider_id)
    )
    await db[Collections.EVENT_HOOKS].insert_one(
        {
            "_id": token_id(token),
            "account_id": account_id,
            "provider_id": provider_id,
            "type": type,
            "verification": cipher.encrypt(verification),
            "created_at": datetime.now(UTC),
        }
    )
    return token


async def find_hook(db: Database, cipher: CredentialCipher, token: str) -> Hook | None:
    doc = await db[Collections.EVENT_HOOKS].find_one({"_id": token_id(token)})
    if doc is None:
        return None
    return Hook(
        id=doc["_id"],
        account_id=doc["account_id"],
        provider_id=doc["provider_id"],
        type=doc["type"],
        verification=cipher.decrypt(doc.get("verification")),
    )


async def hook_of(db: Database, account_id: str, provider_id: str) -> Document | None:
    """Whether the provider has a hook (never its token or its keys)."""
    return await db[Collections.EVENT_HOOKS].find_one(
        where(account_id=account_id, provider_id=provider_id),
        projection={"type": 1, "created_at": 1},
    )


async def delete_hook(db: Database, account_id: str, provider_id: str) -> bool:
    result = await db[Collections.EVENT_HOOKS].delete_many(
        where(account_id=account_id, provider_id=provider_id)
    )
    return result.deleted_count > 0
