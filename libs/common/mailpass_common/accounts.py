"""Accounts, API keys and providers: the data access shared by the services and the CLI."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from mailpass_common.db import Database, Document, now_stamp
from mailpass_common.documents import Collections
from mailpass_common.security import CredentialCipher, NewApiKey, generate_api_key, hash_api_key


class AccountExists(Exception):
    pass


@dataclass(frozen=True)
class ApiKeyRecord:
    key_hash: str
    account_id: str
    permissions: frozenset[str]
    test: bool


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


async def create_api_key(
    db: Database, account_id: str, permissions: Iterable[str], *, test: bool = False, name: str = ""
) -> NewApiKey:
    new = generate_api_key(test=test)
    await db[Collections.API_KEYS].insert_one(
        {
            "_id": new.key_hash,
            "prefix": new.display_prefix,
            "name": name,
            "account_id": account_id,
            "permissions": sorted(set(permissions)),
            "test": test,
            "revoked": False,
            "created_at": datetime.now(UTC),
            "last_used_at": None,
        }
    )
    return new


async def authenticate(db: Database, key: str) -> ApiKeyRecord | None:
    """Find a presented key by its hash and stamp ``last_used_at``; None if unknown or revoked."""
    doc = await db[Collections.API_KEYS].find_one_and_update(
        {"_id": hash_api_key(key), "revoked": False},
        now_stamp("last_used_at"),
        projection={"account_id": 1, "permissions": 1, "test": 1},
    )
    if doc is None:
        return None
    return ApiKeyRecord(
        key_hash=doc["_id"],
        account_id=doc["account_id"],
        permissions=frozenset(doc.get("permissions", [])),
        test=bool(doc.get("test")),
    )


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
) -> Document:
    doc: Document = {
        "_id": _new_id("prv"),
        "account_id": account_id,
        "name": name,
        "type": type,
        "config": config,
        "secret": cipher.encrypt(secrets_ or {}),
        "from_email": from_email,
        "from_name": from_name,
        "hourly_limit": hourly_limit,
        "daily_limit": daily_limit,
        "is_default": False,
        "created_at": datetime.now(UTC),
    }
    await db[Collections.PROVIDERS].insert_one(doc)
    if default:
        await set_default_provider(db, account_id, doc["_id"])
        doc["is_default"] = True
    return doc


async def set_default_provider(db: Database, account_id: str, provider_id: str) -> bool:
    providers = db[Collections.PROVIDERS]
    found = await providers.find_one_and_update(
        {"_id": provider_id, "account_id": account_id},
        {"$set": {"is_default": True}},
        return_document=ReturnDocument.AFTER,
    )
    if found is None:
        return False
    await providers.update_many(
        {"account_id": account_id, "_id": {"$ne": provider_id}, "is_default": True},
        {"$set": {"is_default": False}},
    )
    return True


async def get_default_provider(db: Database, account_id: str) -> Document | None:
    return await db[Collections.PROVIDERS].find_one({"account_id": account_id, "is_default": True})


async def get_provider(db: Database, account_id: str, provider_id: str) -> Document | None:
    return await db[Collections.PROVIDERS].find_one({"_id": provider_id, "account_id": account_id})
