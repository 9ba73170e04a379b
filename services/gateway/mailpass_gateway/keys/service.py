"""API keys as the API and the console manage them: the rules, written once.

A key can only hand out what it has: the permissions of a new key must be a subset of
the creator's (an API key, or the console session signed in with one), and a test key
creates only test keys, so neither the ``keys`` permission nor a sandbox key is a way to
gain more. A test key sees and revokes only test keys. A revoked key is refused by this
process at once (this module forgets it in the key cache) and by the others once their
cache entry expires.
"""

from __future__ import annotations

from dataclasses import dataclass

from mailpass_common.audit.record import record
from mailpass_common.platform.db import Database, Document
from mailpass_common.platform.errors import ErrorCode
from mailpass_common.tenants import api_keys
from mailpass_common.tenants.api_keys import ApiKeyCache, CreatedApiKey
from mailpass_gateway.errors import ApiError
from mailpass_gateway.keys.models import KeyCreate


@dataclass(frozen=True)
class Creator:
    """Who creates or revokes a key: an API key, or a console session (``name`` says which,
    in the refusals)."""

    account_id: str
    permissions: frozenset[str]
    test: bool
    name: str  # "API key" or "session"


async def create_key(db: Database, by: Creator, body: KeyCreate) -> tuple[CreatedApiKey, Document]:
    """The new key (shown once) and its document; FORBIDDEN beyond the creator's rights."""
    beyond = sorted(set(body.permissions) - by.permissions)
    if beyond:
        raise ApiError(
            ErrorCode.FORBIDDEN,
            f"This {by.name} cannot grant permissions it lacks: {', '.join(beyond)}",
        )
    if by.test and not body.test:
        who = "A test API key" if by.name == "API key" else "A test key's session"
        raise ApiError(ErrorCode.FORBIDDEN, f"{who} can only create test keys")
    created = await api_keys.create_api_key(
        db, by.account_id, body.permissions, test=body.test, name=body.name
    )
    doc = await api_keys.get_api_key(db, by.account_id, created.id)
    assert doc is not None  # just inserted
    await _audit(db, by.account_id, "key.created", created.id, None, doc)
    return created, doc


async def _audit(
    db: Database,
    account_id: str,
    action: str,
    key_id: str,
    before: Document | None,
    after: Document | None,
) -> None:
    """A key as its listing shows it (never the key or its hash)."""
    await record(
        db,
        account_id=account_id,
        action=action,
        resource_type="key",
        resource_id=key_id,
        before=None if before is None else api_keys.api_key_view(before),
        after=None if after is None else api_keys.api_key_view(after),
    )


async def revoke_key(db: Database, keys: ApiKeyCache, by: Creator, key_id: str) -> Document:
    """Revoke the account's key (a test creator: test keys only) and forget it in this
    process's key cache; the key as it is now. NOT_FOUND when there is none. Revoking a
    revoked key changes nothing and records nothing."""
    before = await api_keys.get_api_key(db, by.account_id, key_id, test_only=by.test)
    doc = await api_keys.revoke_api_key(db, by.account_id, key_id, test_only=by.test)
    if doc is None:
        raise not_found(key_id)
    keys.forget(doc["_id"])
    if before is not None and not before.get("revoked"):
        await _audit(db, by.account_id, "key.revoked", key_id, before, doc)
    return doc


async def visible_keys(db: Database, by: Creator) -> list[Document]:
    """The keys ``by`` may see, oldest first: a test creator's are the test keys only."""
    return await api_keys.list_api_keys(db, by.account_id, test_only=by.test)


async def owned_key(db: Database, by: Creator, key_id: str) -> Document:
    """The account's key as ``by`` may see it; another account's key, and a live key seen
    by a test creator, are not there (NOT_FOUND)."""
    doc = await api_keys.get_api_key(db, by.account_id, key_id, test_only=by.test)
    if doc is None:
        raise not_found(key_id)
    return doc


def not_found(key_id: str) -> ApiError:
    return ApiError(ErrorCode.NOT_FOUND, f"No API key {key_id!r} in this account")
