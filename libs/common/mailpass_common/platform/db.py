"""MongoDB access through PyMongo's async API, and the indexes every service relies on.

Query shapes. Every query on the hot path is served by an index on both MongoDB and the
nx-27017 wire server used in development and tests, so its cost does not grow with the
number of stored messages (``tests/delivery/test_query_plans.py`` checks the plans, and
``tests/delivery/test_scale.py`` the cost at two data sizes). On nx-27017 that takes:

- equality written ``{"field": {"$eq": value}}`` (:func:`where`) beside ``_id``: for the
  implicit ``{"field": value}`` it adds an array-containment subquery that keeps SQLite
  from using the index; MongoDB treats both forms the same;
- no ``$or``, and no ``$in`` on fields other than ``_id``: either makes it evaluate the
  filter in Python over every document. Such a query is split into one per branch;
- no ``count_documents``, which it runs as a scanning aggregation.
"""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING, AsyncMongoClient, IndexModel
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import OperationFailure

from mailpass_common.platform.collection_names import Collections as Collections
from mailpass_common.platform.indexes import INDEXES as INDEXES
from mailpass_common.platform.indexes import RETIRED_INDEXES, TTL_COLLECTIONS, TTL_FIELD
from mailpass_common.platform.metrics import CommandCounter
from mailpass_common.platform.settings import CommonSettings

Document = dict[str, Any]
Database = AsyncDatabase[Document]


# The server error code of an insert whose _id (or unique key) is taken.
DUPLICATE_KEY = 11000
# ... and of a drop of an index that is not there.
INDEX_NOT_FOUND = 27


def connect(settings: CommonSettings) -> tuple[AsyncMongoClient[Document], Database]:
    client: AsyncMongoClient[Document] = AsyncMongoClient(
        settings.mongodb_url,
        tz_aware=True,
        serverSelectionTimeoutMS=5000,
        appname="mailpass",
        # TTL indexes exist where retention is on (ensure_indexes, with the settings).
        event_listeners=[CommandCounter(settings.message_metadata_retention_days > 0)],
    )
    return client, client[settings.mongodb_database]


async def ping(db: Database) -> None:
    await db.command("ping")


def where(**fields: Any) -> dict[str, Any]:
    """A filter with ``$eq`` for every plain value (see the module's query shapes).

    ``_id`` and values that already are operator documents are kept as they are.
    """
    return {
        name: value if name == "_id" or isinstance(value, dict) else {"$eq": value}
        for name, value in fields.items()
    }


def now_stamp(*fields: str) -> dict[str, dict[str, bool]]:
    """``$currentDate`` for the given fields: how updates write timestamps (see documents)."""
    return {"$currentDate": {field: True for field in fields}}


async def ensure_indexes(db: Database, settings: CommonSettings | None = None) -> None:
    """Create the indexes, then drop the retired ones; with ``settings``, also put the TTL
    indexes in line with its retention (created, changed or dropped). Without, TTL
    indexes are left as they are.

    Created first, so a query of a service still running the previous version always has
    its index (a retired full index and the partial one replacing it coexist meanwhile).
    """
    for name, models in INDEXES.items():
        await db[name].create_indexes(models)
    for name, keys in RETIRED_INDEXES.items():
        await _drop_retired(db, name, keys)
    if settings is not None:
        seconds = round(settings.message_metadata_retention_days * 86400)
        for name in TTL_COLLECTIONS:
            await _ensure_ttl_index(db, name, seconds)
        audit_seconds = round(settings.audit_retention_days * 86400)
        await _ensure_ttl_index(db, Collections.AUDIT_EVENTS, audit_seconds)


def _key(info: dict[str, Any]) -> list[tuple[str, int]]:
    return [(field, int(order)) for field, order in info["key"]]


async def _drop_retired(db: Database, name: str, keys: list[list[tuple[str, int]]]) -> None:
    """Drop the full indexes of ``name`` whose key is one of ``keys``, never one of the
    declared indexes: found by key (the two databases name an undeclared index
    differently), and kept when it is partial or bears a declared name.

    nx-27017 keeps neither the name nor the partial filter of an index: it names each after
    its key, and holds one index per key. A declared index it lists under another name is
    the index listed with that key, which stays.
    """
    collection = db[name]
    listed = await collection.index_information()
    declared = {model.document["name"]: model.document["key"] for model in INDEXES.get(name, [])}
    renamed = [list(key.items()) for n, key in declared.items() if n not in listed]
    for index_name, info in listed.items():
        key = _key(info)
        if (
            key in keys
            and "partialFilterExpression" not in info
            and index_name not in declared
            and key not in renamed
        ):
            try:
                await collection.drop_index(index_name)
            except OperationFailure as exc:
                if exc.code != INDEX_NOT_FOUND:  # another service dropped it first
                    raise


async def _ensure_ttl_index(db: Database, name: str, seconds: int) -> None:
    """A TTL index on ``created_at`` expiring after ``seconds`` (none when 0).

    Changing the period of an existing one is a ``collMod`` on MongoDB (rebuilding the
    index of a large collection would leave it without expiry meanwhile); nx-27017
    accepts ``collMod`` without applying it, and updates the index when it is created
    again, which is done when the first did not take.
    """
    collection = db[name]

    async def existing() -> tuple[str, int | None] | None:
        for index_name, info in (await collection.index_information()).items():
            if _key(info) == [(TTL_FIELD, 1)]:
                expire = info.get("expireAfterSeconds")
                return index_name, None if expire is None else int(expire)
        return None

    found = await existing()
    if not seconds:
        if found is not None:
            await collection.drop_index(found[0])
        return
    model = IndexModel([(TTL_FIELD, ASCENDING)], name="retention", expireAfterSeconds=seconds)
    if found is None:
        await collection.create_indexes([model])
        return
    if found[1] == seconds:
        return
    await db.command("collMod", name, index={"name": found[0], "expireAfterSeconds": seconds})
    after = await existing()
    if after is None or after[1] != seconds:
        await collection.create_indexes([model])
