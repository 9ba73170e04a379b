"""Which recipient domains of a message are settled, so a retry does not send to them again.

A message with recipients on several domains is one transaction per domain. When some
domains accepted it (or refused it for good) and another deferred it, the message is
retried as a whole through the delay queues; the settled domains are written here first
(``mta_progress``, ``{_id: message id, domains: [...], expires_at}``, one ``$addToSet``
upsert) and left out of the retry. Only messages with more than one recipient domain read
or write here, and they write only when an attempt ended part-way: a one-domain message,
the usual transactional mail, costs no round trip. A TTL index drops the document after
:data:`KEEP_DAYS` (longer than any retry schedule).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from pymongo import ASCENDING, IndexModel

from mailpass_common.platform.db import Database

COLLECTION = "mta_progress"
KEEP_DAYS = 7


async def ensure_indexes(db: Database) -> None:
    await db[COLLECTION].create_indexes(
        [IndexModel([("expires_at", ASCENDING)], expireAfterSeconds=0)]
    )


async def settled_domains(db: Database, message_id: str) -> set[str]:
    doc = await db[COLLECTION].find_one({"_id": message_id}, {"domains": 1})
    return set(doc.get("domains") or ()) if doc else set()


async def settle(db: Database, message_id: str, domains: Iterable[str]) -> None:
    expires = datetime.now(UTC) + timedelta(days=KEEP_DAYS)
    await db[COLLECTION].update_one(
        {"_id": message_id},
        {"$addToSet": {"domains": {"$each": sorted(domains)}}, "$set": {"expires_at": expires}},
        upsert=True,
    )
