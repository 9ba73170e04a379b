"""MongoDB access through PyMongo's async API, and the indexes every service relies on."""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING, AsyncMongoClient, IndexModel
from pymongo.asynchronous.database import AsyncDatabase

from mailpass_common.documents import Collections
from mailpass_common.metrics import CommandCounter
from mailpass_common.settings import CommonSettings

Document = dict[str, Any]
Database = AsyncDatabase[Document]


def connect(settings: CommonSettings) -> tuple[AsyncMongoClient[Document], Database]:
    client: AsyncMongoClient[Document] = AsyncMongoClient(
        settings.mongodb_url,
        tz_aware=True,
        serverSelectionTimeoutMS=5000,
        appname="mailpass",
        event_listeners=[CommandCounter()],
    )
    return client, client[settings.mongodb_database]


async def ping(db: Database) -> None:
    await db.command("ping")


def now_stamp(*fields: str) -> dict[str, dict[str, bool]]:
    """``$currentDate`` for the given fields: how updates write timestamps (see documents)."""
    return {"$currentDate": {field: True for field in fields}}


INDEXES: dict[str, list[IndexModel]] = {
    Collections.API_KEYS: [IndexModel([("account_id", ASCENDING)])],
    Collections.ACCOUNTS: [IndexModel([("name", ASCENDING)], unique=True)],
    Collections.PROVIDERS: [
        IndexModel([("account_id", ASCENDING), ("name", ASCENDING)], unique=True)
    ],
    Collections.MESSAGES: [
        IndexModel([("account_id", ASCENDING), ("created_at", ASCENDING)]),
        # The scheduler's scans: due batch messages in queue order, and stale leases.
        IndexModel([("kind", ASCENDING), ("status", ASCENDING), ("queue_id", ASCENDING)]),
        IndexModel([("status", ASCENDING), ("claimed_at", ASCENDING)]),
    ],
    Collections.EVENTS: [IndexModel([("message_id", ASCENDING), ("created_at", ASCENDING)])],
    Collections.COUNTERS: [IndexModel([("expires_at", ASCENDING)], expireAfterSeconds=0)],
}


async def ensure_indexes(db: Database) -> None:
    for name, models in INDEXES.items():
        await db[name].create_indexes(models)
