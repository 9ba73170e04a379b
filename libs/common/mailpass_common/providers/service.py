"""Provider documents: an account's providers, of any type (``providers.registry``).

Validate input first with :mod:`mailpass_common.providers.config`; secrets are stored only
encrypted (:class:`~mailpass_common.platform.crypto.CredentialCipher`). Every change bumps the
document's ``version``, so a sender reopens a provider whose version moved.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from pymongo.errors import DuplicateKeyError

from mailpass_common.platform.cache import TtlCache
from mailpass_common.platform.crypto import CredentialCipher
from mailpass_common.platform.db import Collections, Database, Document, now_stamp, where
from mailpass_common.providers.config import ProviderConfigError, ValidatedConfig
from mailpass_common.providers.models import ProviderDocument
from mailpass_common.providers.registry import merge_config
from mailpass_common.tenants.accounts import default_limits, new_id

# A default switch holds a per-account lock for two small writes; a holder that died
# loses it after this long.
DEFAULT_LOCK_LEASE = timedelta(seconds=10)

# Every change to a provider document: the sender reopens a provider whose version moved.
_BUMP: dict[str, Any] = {"$inc": {"version": 1}, **now_stamp("updated_at")}


class ProviderNameTaken(Exception):
    """Another provider of the account already has this name."""


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
) -> ProviderDocument:
    """Store a provider (validate first with ``provider_config``); secrets only encrypted.
    A limit not given is the account's default (set by the platform's operators), if any."""
    if hourly_limit is None or daily_limit is None:
        defaults = await default_limits(db, account_id)
        hourly_limit = defaults.get("hourly") if hourly_limit is None else hourly_limit
        daily_limit = defaults.get("daily") if daily_limit is None else daily_limit
    now = datetime.now(UTC)
    now = now.replace(microsecond=now.microsecond // 1000 * 1000)  # what BSON keeps
    doc: ProviderDocument = {
        "_id": new_id("prv"),
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
            await db[Collections.PROVIDERS].insert_one(cast(Document, doc))
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
        # Free, or held by a holder that died: two filters, not an $or (see db).
        for free in ({"default_lock": None}, {"default_lock_at": {"$lt": stale}}):
            taken = await accounts.find_one_and_update(
                {"_id": account_id, **free},
                {"$set": {"default_lock": owner}, **now_stamp("default_lock_at")},
                projection={"_id": 1},
            )
            if taken is not None:
                break
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
            {"_id": account_id, **where(default_lock=owner)}, {"$set": {"default_lock": None}}
        )


async def set_default_provider(db: Database, account_id: str, provider_id: str) -> bool:
    """Make one provider the account's default; False if the account has no such provider."""
    async with _default_lock(db, account_id) as exists:
        if not exists:
            return False
        # Set before unsetting: a send in between sees two defaults (either is fine), never none.
        found = await db[Collections.PROVIDERS].update_one(
            {"_id": provider_id, **where(account_id=account_id, is_default={"$ne": True})},
            {"$set": {"is_default": True}, **_BUMP},
        )
        if found.matched_count == 0 and await get_provider(db, account_id, provider_id) is None:
            return False
        await _unset_other_defaults(db, account_id, provider_id)
    return True


async def _unset_other_defaults(db: Database, account_id: str, provider_id: str) -> None:
    await db[Collections.PROVIDERS].update_many(
        {**where(account_id=account_id, is_default=True), "_id": {"$ne": provider_id}},
        {"$set": {"is_default": False}, **_BUMP},
    )


async def _one(db: Database, selector: Document) -> ProviderDocument | None:
    return cast(ProviderDocument | None, await db[Collections.PROVIDERS].find_one(selector))


async def get_default_provider(db: Database, account_id: str) -> ProviderDocument | None:
    return await _one(db, where(account_id=account_id, is_default=True))


async def get_provider(db: Database, account_id: str, provider_id: str) -> ProviderDocument | None:
    return await _one(db, where(_id=provider_id, account_id=account_id))


async def provider_by_id(db: Database, provider_id: str) -> ProviderDocument | None:
    """Any account's provider (the scheduler works across accounts; tenants never do)."""
    return await _one(db, {"_id": provider_id})


async def find_provider(db: Database, account_id: str, name_or_id: str) -> ProviderDocument | None:
    """By id, else by name (the CLI accepts either)."""
    found = await get_provider(db, account_id, name_or_id)
    if found is None:
        found = await _one(db, where(account_id=account_id, name=name_or_id))
    return found


async def list_providers(db: Database, account_id: str) -> list[ProviderDocument]:
    cursor = db[Collections.PROVIDERS].find(where(account_id=account_id))
    return cast(
        list[ProviderDocument], await cursor.sort([("created_at", 1), ("_id", 1)]).to_list()
    )


async def update_provider(
    db: Database,
    cipher: CredentialCipher,
    account_id: str,
    provider_id: str,
    fields: Mapping[str, Any],
    config_changes: Mapping[str, Any] | None = None,
    check_config: Callable[[ValidatedConfig], Awaitable[None]] | None = None,
) -> ProviderDocument | None:
    """Apply validated common ``fields`` and a partial config (validated here, then by
    ``check_config``; either may raise ``ProviderConfigError``); None if the account has
    no such provider.

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
            if check_config is not None:
                await check_config(merged)
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
                where(_id=provider_id, account_id=account_id, version=current.get("version")),
                update,
            )
        except DuplicateKeyError as exc:
            raise ProviderNameTaken(str(fields.get("name"))) from exc
        if result.matched_count == 1:
            return await get_provider(db, account_id, provider_id)


async def delete_provider(db: Database, account_id: str, provider_id: str) -> bool:
    """Deleting the default leaves the account without one (sends get NO_SMTP_PROVIDER)."""
    result = await db[Collections.PROVIDERS].delete_one(
        where(_id=provider_id, account_id=account_id)
    )
    return result.deleted_count == 1


async def record_check(db: Database, account_id: str, provider_id: str, error: str | None) -> None:
    """Keep the result of the provider's last check (shown by the console and the API).

    Not a change of the provider: its version stays, so senders keep their connections.
    """
    await db[Collections.PROVIDERS].update_one(
        where(_id=provider_id, account_id=account_id),
        {
            "$set": {"last_check_ok": error is None, "last_check_error": error},
            **now_stamp("last_check_at"),
        },
    )


async def list_fallbacks(db: Database, account_id: str) -> list[ProviderDocument]:
    """The account's fallback providers, lowest ``fallback_priority`` first."""
    # $type, not $ne None: the nx-27017 dev server matches missing fields with $ne None.
    cursor = db[Collections.PROVIDERS].find(
        where(account_id=account_id, fallback_priority={"$type": "number"})
    )
    return cast(
        list[ProviderDocument], await cursor.sort([("fallback_priority", 1), ("_id", 1)]).to_list()
    )


class ProviderCache:
    """Provider documents kept for a few seconds (see :mod:`mailpass_common.platform.cache`): the
    default provider of an account, and providers by id."""

    def __init__(self, db: Database, ttl_seconds: float) -> None:
        self._db = db
        self._defaults: TtlCache[str, ProviderDocument] = TtlCache(ttl_seconds)
        self._by_id: TtlCache[tuple[str, str], ProviderDocument] = TtlCache(ttl_seconds)

    async def default(self, account_id: str) -> ProviderDocument | None:
        return await self._defaults.get_or_load(
            account_id, lambda: get_default_provider(self._db, account_id)
        )

    async def get(self, account_id: str, provider_id: str) -> ProviderDocument | None:
        return await self._by_id.get_or_load(
            (account_id, provider_id), lambda: get_provider(self._db, account_id, provider_id)
        )

    def forget(self, account_id: str) -> None:
        """This process changed the account's providers: its next read goes to the database."""
        self._defaults.invalidate(account_id)
        self._by_id.clear()
