"""Accounts: the tenants. Every other collection names its account, and every read and
write of a tenant's data takes the account id, so one account never reaches another's.

Booleans are read through ``bool()``: the nx-27017 wire server returns a boolean written
by an update's ``$set`` as 0/1 (queries still match ``True``/``False``).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from mailpass_common.platform.db import Collections, Database, Document, where


class AccountExists(Exception):
    pass


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(8)}"


async def create_account(db: Database, name: str) -> Document:
    doc = {"_id": new_id("acc"), "name": name, "created_at": datetime.now(UTC)}
    try:
        await db[Collections.ACCOUNTS].insert_one(doc)
    except DuplicateKeyError as exc:
        raise AccountExists(name) from exc
    return doc


async def get_account(db: Database, account_id: str) -> Document | None:
    return await db[Collections.ACCOUNTS].find_one({"_id": account_id})


async def get_account_by_name(db: Database, name: str) -> Document | None:
    return await db[Collections.ACCOUNTS].find_one({"name": name})


async def list_accounts(db: Database) -> list[Document]:
    return await db[Collections.ACCOUNTS].find().sort("name", 1).to_list()


async def set_suspended(db: Database, account_id: str, suspended: bool) -> Document | None:
    """Suspend or unsuspend an account; the account after, None if there is none. What a
    suspension stops (keys, sessions, delivery) is :mod:`mailpass_common.administration`'s."""
    change: dict[str, Any] = (
        {"$set": {"suspended": True, "suspended_at": datetime.now(UTC)}}
        if suspended
        else {"$set": {"suspended": False, "suspended_at": None}}
    )
    return await db[Collections.ACCOUNTS].find_one_and_update(
        {"_id": account_id}, change, return_document=ReturnDocument.AFTER
    )


async def default_limits(db: Database, account_id: str) -> dict[str, int]:
    """The account's default send limits for new providers: ``hourly``, ``daily`` (each
    absent when not set)."""
    found = await db[Collections.ACCOUNTS].find_one(
        {"_id": account_id}, projection={"default_limits": 1}
    )
    limits = (found or {}).get("default_limits") or {}
    return {k: int(v) for k, v in limits.items() if k in ("hourly", "daily") and v is not None}


async def set_default_limits(
    db: Database, account_id: str, *, hourly: int | None, daily: int | None
) -> Document | None:
    """Set (or, with None, clear) the account's default limits; the account after."""
    return await db[Collections.ACCOUNTS].find_one_and_update(
        {"_id": account_id},
        {"$set": {"default_limits": {"hourly": hourly, "daily": daily}}},
        return_document=ReturnDocument.AFTER,
    )


async def suspended_ids(db: Database, account_ids: Iterable[str]) -> set[str]:
    """Which of these accounts are suspended (one read by ``_id``)."""
    ids = sorted(set(account_ids))
    if not ids:
        return set()
    found = db[Collections.ACCOUNTS].find(
        {"_id": {"$in": ids}, **where(suspended=True)}, projection={"_id": 1}
    )
    return {str(doc["_id"]) async for doc in found}


# An account without tracking settings tracks nothing: a pixel is personal data under the
# GDPR/ePrivacy rules in many places, and rewritten links make every link of a password
# reset depend on the tracker being up (Postmark, built for transactional mail, also
# ships with both off).
DEFAULT_TRACK_OPENS = False
DEFAULT_TRACK_CLICKS = False
# One-click unsubscribe headers: off unless the account (or the message) asks, since
# transactional mail (a receipt, a password reset) is not something to unsubscribe from.
DEFAULT_UNSUBSCRIBE = False


@dataclass(frozen=True)
class TrackingDefaults:
    opens: bool
    clicks: bool
    unsubscribe: bool = DEFAULT_UNSUBSCRIBE


def tracking_defaults(account: Document | None) -> TrackingDefaults:
    settings = (account or {}).get("settings") or {}
    return TrackingDefaults(
        opens=bool(settings.get("track_opens", DEFAULT_TRACK_OPENS)),
        clicks=bool(settings.get("track_clicks", DEFAULT_TRACK_CLICKS)),
        unsubscribe=bool(settings.get("unsubscribe", DEFAULT_UNSUBSCRIBE)),
    )


async def set_tracking(
    db: Database,
    name: str,
    *,
    opens: bool | None,
    clicks: bool | None,
    unsubscribe: bool | None = None,
) -> Document | None:
    """Change an account's tracking (and unsubscribe) defaults; None if there is no such
    account."""
    changes = {
        f"settings.{field}": value
        for field, value in (
            ("track_opens", opens),
            ("track_clicks", clicks),
            ("unsubscribe", unsubscribe),
        )
        if value is not None
    }
    accounts = db[Collections.ACCOUNTS]
    if (
        changes
        and (await accounts.update_one({"name": name}, {"$set": changes})).matched_count == 0
    ):
        return None
    return await get_account_by_name(db, name)
