"""API keys: stored only as their SHA-256, shown once, revocable.

The hash is the document's ``_id``, so authenticating a request is one lookup by
``_id``; the gateway keeps the answer for a few seconds (:class:`ApiKeyCache`), so a
revocation takes effect everywhere within that time and at once in the process that
revoked. An account's suspension works the same way: a key of a suspended account is
answered ``suspended`` (refused with ACCOUNT_SUSPENDED, not as an unknown key).

API keys carry 190 bits of randomness, so a plain SHA-256 is the right hash: it is not
guessable, and a lookup by hash is one indexed read per request (a slow password hash
would only add latency).
"""

from __future__ import annotations

import hashlib
import secrets
import string
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from pymongo import ReturnDocument

from mailpass_common.platform.cache import TtlCache
from mailpass_common.platform.db import Collections, Database, Document, now_stamp, where
from mailpass_common.tenants.accounts import new_id, suspended_ids

LIVE_PREFIX = "mp_live_"
TEST_PREFIX = "mp_test_"
_ALPHABET = string.ascii_letters + string.digits
_KEY_LENGTH = 32


class Permission(StrEnum):
    """What an API key may do: the one list of permission names."""

    MAIL = "mail"  # send, and read the status of its account's messages
    PROVIDERS = "providers"  # manage the account's providers
    KEYS = "keys"  # manage the account's API keys (never beyond its own permissions)
    # Sign in to the web console; there it acts within the key's other permissions.
    CONSOLE = "console"
    WEBHOOKS = "webhooks"  # manage the account's webhook endpoints, see and replay attempts
    TEMPLATES = "templates"  # create, change and delete templates (sending with one: mail)
    AUDIT = "audit"  # read the account's audit log (no key can change it)
    MEMBERS = "members"  # invite console users, change their roles, remove them


@dataclass(frozen=True)
class NewApiKey:
    key: str  # shown once, never stored
    key_hash: str
    display_prefix: str


def generate_api_key(*, test: bool = False) -> NewApiKey:
    body = "".join(secrets.choice(_ALPHABET) for _ in range(_KEY_LENGTH))
    key = (TEST_PREFIX if test else LIVE_PREFIX) + body
    return NewApiKey(key=key, key_hash=hash_api_key(key), display_prefix=key[:12])


def hash_api_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class ApiKeyRecord:
    key_hash: str
    account_id: str
    permissions: frozenset[str]
    test: bool
    key_id: str = ""  # the key's public id (the audit log's actor), never the hash
    # The key's account is suspended: the key is known but refused (ACCOUNT_SUSPENDED).
    suspended: bool = False


@dataclass(frozen=True)
class CreatedApiKey(NewApiKey):
    id: str  # the key's public id, for listing and revoking (never the hash)


async def create_api_key(
    db: Database, account_id: str, permissions: Iterable[str], *, test: bool = False, name: str = ""
) -> CreatedApiKey:
    new = generate_api_key(test=test)
    created = CreatedApiKey(new.key, new.key_hash, new.display_prefix, id=new_id("key"))
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
        {"_id": hash_api_key(key), **where(revoked=False)},
        projection={"id": 1, "account_id": 1, "permissions": 1, "test": 1, "last_used_at": 1},
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
        key_id=str(doc.get("id") or ""),
        suspended=bool(await suspended_ids(db, [doc["account_id"]])),
    )


async def active_key_id(db: Database, key_hash: str) -> str | None:
    """The public id of the key with this hash while it still works, else None (a console
    session opened with a key ends when the key is revoked)."""
    found = await db[Collections.API_KEYS].find_one(
        {"_id": key_hash, **where(revoked=False)}, projection={"id": 1}
    )
    return None if found is None else str(found.get("id") or "")


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


def _scope(account_id: str, test_only: bool, **fields: Any) -> dict[str, Any]:
    """The account's keys, or only its test keys (what a test key may see and touch)."""
    return where(account_id=account_id, **fields, **({"test": True} if test_only else {}))


async def list_api_keys(
    db: Database, account_id: str, *, test_only: bool = False
) -> list[Document]:
    cursor = db[Collections.API_KEYS].find(_scope(account_id, test_only))
    return await cursor.sort([("created_at", 1), ("id", 1)]).to_list()


async def get_api_key(
    db: Database, account_id: str, key_id: str, *, test_only: bool = False
) -> Document | None:
    return await db[Collections.API_KEYS].find_one(_scope(account_id, test_only, id=key_id))


async def revoke_api_key(
    db: Database, account_id: str, key_id: str, *, test_only: bool = False
) -> Document | None:
    """Revoke at once (the next request with it is refused); None if the account has no such
    key (with ``test_only``, no such test key)."""
    keys = db[Collections.API_KEYS]
    revoked = await keys.find_one_and_update(
        _scope(account_id, test_only, id=key_id, revoked=False),
        {"$set": {"revoked": True}, **now_stamp("revoked_at")},
        return_document=ReturnDocument.AFTER,
    )
    # Revoking twice is not an error: the key is revoked either way.
    return revoked or await get_api_key(db, account_id, key_id, test_only=test_only)


class ApiKeyCache:
    """Authenticated keys kept for a few seconds (see :mod:`mailpass_common.platform.cache`)."""

    def __init__(self, db: Database, ttl_seconds: float) -> None:
        self._db = db
        self._cache: TtlCache[str, ApiKeyRecord] = TtlCache(ttl_seconds)

    async def authenticate(self, key: str) -> ApiKeyRecord | None:
        return await self._cache.get_or_load(hash_api_key(key), lambda: authenticate(self._db, key))

    def forget(self, key_hash: str) -> None:
        """A key revoked by this process is refused by it at once."""
        self._cache.invalidate(key_hash)

    def forget_all(self) -> None:
        """An account suspended or unsuspended by this process: every key is read again."""
        self._cache.clear()
