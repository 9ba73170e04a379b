"""Accounts, API keys and providers: the data access shared by the services and the CLI.

Every read and write takes the account id, so one account never reaches another's keys
or providers. Booleans are read through ``bool()``: the nx-27017 wire server returns a
boolean written by an update's ``$set`` as 0/1 (queries still match ``True``/``False``).
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from mailpass_common.db import Database, Document, now_stamp
from mailpass_common.documents import Collections
from mailpass_common.provider_config import ProviderConfigError, merge_config
from mailpass_common.security import CredentialCipher, NewApiKey, generate_api_key, hash_api_key

# A default switch holds a per-account lock for two small writes; a holder that died
# loses it after this long.
DEFAULT_LOCK_LEASE = timedelta(seconds=10)


# Every change to a provider document: the sender reopens a provider whose version moved.
_BUMP: dict[str, Any] = {"$inc": {"version": 1}, **now_stamp("updated_at")}


class AccountExists(Exception):
    pass


class ProviderNameTaken(Exception):
    """Another provider of the account already has this name."""


@dataclass(frozen=True)
class ApiKeyRecord:
    key_hash: str
    account_id: str
    permissions: frozenset[str]
    test: bool


@dataclass(frozen=True)
class CreatedApiKey(NewApiKey):
    id: str  # the key's public id, for listing and revoking (never the hash)


def _new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(8)}"


async def create_account(db: Database, name: str) -> Document:
    doc = {"_id": _new_id("acc"), "name": name, "created_at": datetime.now(UTC)}
    try:
        await db[Collections.ACCOUNTS].insert_one(doc)
    except DuplicateKeyError as exc:
        raise AccountExists(name) from exc
    return doc


async def get_account_by_name(db: Database, name: str) -> Document | None:
    return await db[Collections.ACCOUNTS].find_one({"name": name})


# --- API keys -------------------------------------------------------------------------


async def create_api_key(
    db: Database, account_id: str, permissions: Iterable[str], *, test: bool = False, name: str = ""
) -> CreatedApiKey:
    new = generate_api_key(test=test)
    created = CreatedApiKey(new.key, new.key_hash, new.display_prefix, id=_new_id("key"))
    await db[Collections.API_KEYS].insert_one(
        {
            # The hash is the primary key so that authenticating is one lookup by _id.
            "_id": new.key_hash,
            "id": created.id,
            "prefix": new.display_prefix,
            "name": name,
            "account_id": account_id,
            "permissions": sorted(set(permissions)),
            "test": test,
            "revoked": False,
            "created_at": datetime.now(UTC),
            "last_used_at": None,
            "revoked_at": None,
        }
    )
    return created


# ``last_used_at`` is kept to this resolution: stamping it on every request would turn
# every API call into a database write on the hottest path.
LAST_USED_RESOLUTION = timedelta(minutes=1)


async def authenticate(db: Database, key: str) -> ApiKeyRecord | None:
    """Find a presented key by its hash; None if unknown or revoked. Keeps ``last_used_at``."""
    keys = db[Collections.API_KEYS]
    doc = await keys.find_one(
        {"_id": hash_api_key(key), "revoked": False},
        projection={"account_id": 1, "permissions": 1, "test": 1, "last_used_at": 1},
    )
    if doc is None:
        return None
    last_used = doc.get("last_used_at")
    if not isinstance(last_used, datetime) or last_used < datetime.now(UTC) - LAST_USED_RESOLUTION:
        await keys.update_one({"_id": doc["_id"]}, now_stamp("last_used_at"))
    return ApiKeyRecord(
        key_hash=doc["_id"],
        account_id=doc["account_id"],
        permissions=frozenset(doc.get("permissions", [])),
        test=bool(doc.get("test")),
    )


def api_key_view(doc: Document) -> dict[str, Any]:
    """A key as the API and CLI show it: never the key, never its hash."""
    return {
        "id": doc.get("id"),
        "prefix": doc["prefix"],
        "name": doc.get("name") or "",
        "permissions": list(doc.get("permissions", [])),
        "test": bool(doc.get("test")),
        "revoked": bool(doc.get("revoked")),
        "created_at": doc.get("created_at"),
        "last_used_at": doc.get("last_used_at"),
        "revoked_at": doc.get("revoked_at"),
    }


async def list_api_keys(db: Database, account_id: str) -> list[Document]:
    cursor = db[Collections.API_KEYS].find({"account_id": account_id})
    return await cursor.sort([("created_at", 1), ("id", 1)]).to_list()


async def get_api_key(db: Database, account_id: str, key_id: str) -> Document | None:
    return await db[Collections.API_KEYS].find_one({"account_id": account_id, "id": key_id})


async def revoke_api_key(db: Database, account_id: str, key_id: str) -> Document | None:
    """Revoke at once (the next request with it is refused); None if the account has no such key."""
    keys = db[Collections.API_KEYS]
    revoked = await keys.find_one_and_update(
        {"account_id": account_id, "id": key_id, "revoked": False},
        {"$set": {"revoked": True}, **now_stamp("revoked_at")},
        return_document=ReturnDocument.AFTER,
    )
    # Revoking twice is not an error: the key is revoked either way.
    return revoked or await get_api_key(db, account_id, key_id)


# --- Providers ------------------------------------------------------------------------


async def add_provider(
    db: Database,
    cipher: CredentialCipher,
    *,
    account_id: str,
    name: str,
    type: str,
    config: dict[str, Any],
    secrets_: dict[str, Any] | None = None,
    from_email: str | None = None,
    from_name: str | None = None,
    hourly_limit: int | None = None,
    daily_limit: int | None = None,
    default: bool = False,
    fallback_priority: int | None = None,
) -> Document:
    """Store a provider (validate first with ``provider_config``); secrets only encrypted."""
    now = datetime.now(UTC)
    now = now.replace(microsecond=now.microsecond // 1000 * 1000)  # what BSON keeps
    doc: Document = {
        "_id": _new_id("prv"),
        "account_id": account_id,
        "name": name,
        "type": type,
        "config": config,
        "secret": cipher.encrypt(secrets_ or {}),
        # Which secrets are set, so listings say has_password without decrypting anything.
        "secret_fields": sorted(secrets_ or {}),
        "from_email": from_email,
        "from_name": from_name,
        "hourly_limit": hourly_limit,
        "daily_limit": daily_limit,
        "fallback_priority": fallback_priority,
        "is_default": default,
        # Bumped by every change: the sender keeps an open provider per (id, version).
        "version": 1,
        "created_at": now,
        "updated_at": now,
    }
    async with contextlib.AsyncExitStack() as stack:
        if default:
            await stack.enter_async_context(_default_lock(db, account_id))
        try:
            await db[Collections.PROVIDERS].insert_one(doc)
        except DuplicateKeyError as exc:
            raise ProviderNameTaken(name) from exc
        if default:
            await _unset_other_defaults(db, account_id, doc["_id"])
    return doc


@contextlib.asynccontextmanager
async def _default_lock(db: Database, account_id: str) -> AsyncIterator[bool]:
    """Serialises default switches of one account, so concurrent switches leave exactly one
    default (without it, two switches interleaving their set and unset can leave none).
    Yields False when the account does not exist."""
    accounts = db[Collections.ACCOUNTS]
    owner = secrets.token_hex(8)
    delay = 0.01
    deadline = asyncio.get_running_loop().time() + DEFAULT_LOCK_LEASE.total_seconds() * 1.5
    while True:
        stale = datetime.now(UTC) - DEFAULT_LOCK_LEASE
        taken = await accounts.find_one_and_update(
            {
                "_id": account_id,
                "$or": [{"default_lock": None}, {"default_lock_at": {"$lt": stale}}],
            },
            {"$set": {"default_lock": owner}, **now_stamp("default_lock_at")},
            projection={"_id": 1},
        )
        if taken is not None:
            break
        if await accounts.find_one({"_id": account_id}, projection={"_id": 1}) is None:
            yield False
            return
        if asyncio.get_running_loop().time() > deadline:
            raise RuntimeError(f"the default provider of {account_id} is locked")
        await asyncio.sleep(delay)
        delay = min(delay * 2, 0.2)
    try:
        yield True
    finally:
        await accounts.update_one(
            {"_id": account_id, "default_lock": owner}, {"$set": {"default_lock": None}}
        )


async def set_default_provider(db: Database, account_id: str, provider_id: str) -> bool:
    """Make one provider the account's default; False if the account has no such provider."""
    async with _default_lock(db, account_id) as exists:
        if not exists:
            return False
        # Set before unsetting: a send in between sees two defaults (either is fine), never none.
        found = await db[Collections.PROVIDERS].update_one(
            {"_id": provider_id, "account_id": account_id, "is_default": {"$ne": True}},
            {"$set": {"is_default": True}, **_BUMP},
        )
        if found.matched_count == 0 and await get_provider(db, account_id, provider_id) is None:
            return False
        await _unset_other_defaults(db, account_id, provider_id)
    return True


async def _unset_other_defaults(db: Database, account_id: str, provider_id: str) -> None:
    await db[Collections.PROVIDERS].update_many(
        {"account_id": account_id, "_id": {"$ne": provider_id}, "is_default": True},
        {"$set": {"is_default": False}, **_BUMP},
    )


async def get_default_provider(db: Database, account_id: str) -> Document | None:
    return await db[Collections.PROVIDERS].find_one({"account_id": account_id, "is_default": True})


async def get_provider(db: Database, account_id: str, provider_id: str) -> Document | None:
    return await db[Collections.PROVIDERS].find_one({"_id": provider_id, "account_id": account_id})


async def find_provider(db: Database, account_id: str, name_or_id: str) -> Document | None:
    """By id, else by name (the CLI accepts either)."""
    found = await get_provider(db, account_id, name_or_id)
    if found is None:
        found = await db[Collections.PROVIDERS].find_one(
            {"account_id": account_id, "name": name_or_id}
        )
    return found


async def list_providers(db: Database, account_id: str) -> list[Document]:
    cursor = db[Collections.PROVIDERS].find({"account_id": account_id})
    return await cursor.sort([("created_at", 1), ("_id", 1)]).to_list()


async def update_provider(
    db: Database,
    cipher: CredentialCipher,
    account_id: str,
    provider_id: str,
    fields: Mapping[str, Any],
    config_changes: Mapping[str, Any] | None = None,
) -> Document | None:
    """Apply validated common ``fields`` and a partial config (validated here, may raise
    ``ProviderConfigError``); None if the account has no such provider.

    Secrets are merged after decryption, so the write is conditional on the version read:
    a concurrent update makes this one start over instead of losing the other's change."""
    providers = db[Collections.PROVIDERS]
    while True:
        current = await get_provider(db, account_id, provider_id)
        if current is None:
            return None
        changes: dict[str, Any] = dict(fields)
        if config_changes:
            try:
                stored_secrets = cipher.decrypt(current.get("secret"))
            except ValueError as exc:
                raise ProviderConfigError([{"field": "config", "message": str(exc)}]) from exc
            merged = merge_config(
                current["type"], current.get("config") or {}, stored_secrets, config_changes
            )
            changes |= {
                "config": merged.config,
                "secret": cipher.encrypt(merged.secrets),
                "secret_fields": sorted(merged.secrets),
            }
        update: dict[str, Any] = {**_BUMP}
        if changes:
            update["$set"] = changes
        try:
            result = await providers.update_one(
                {"_id": provider_id, "account_id": account_id, "version": current.get("version")},
                update,
            )
        except DuplicateKeyError as exc:
            raise ProviderNameTaken(str(fields.get("name"))) from exc
        if result.matched_count == 1:
            return await get_provider(db, account_id, provider_id)


async def delete_provider(db: Database, account_id: str, provider_id: str) -> bool:
    """Deleting the default leaves the account without one (sends get NO_SMTP_PROVIDER)."""
    result = await db[Collections.PROVIDERS].delete_one(
        {"_id": provider_id, "account_id": account_id}
    )
    return result.deleted_count == 1
