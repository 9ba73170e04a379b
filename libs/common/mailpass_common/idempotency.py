"""``Idempotency-Key`` records: the first response to a keyed request, replayed to retries.

One document per (account, key mode, key) in ``idempotency_keys``, ``_id`` = account id,
``test`` for test keys, and the SHA-256 of the key: live and test keys never share a
record, so a live request can never be answered with a sandbox "sent" (or the reverse).
A request first *inserts* its record as ``running`` (the unique ``_id`` makes exactly
one of several concurrent duplicates the owner), then either
``complete``s it with its response or ``release``s it (the request failed before anything
was accepted, so a retry must be free to try again). Records live 24 hours: a TTL index on
``created_at``, a datetime written by the insert.

A ``running`` record older than ``stale_after`` belongs to a gateway that died mid-request;
a retry takes it over rather than being refused for a whole day.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import ASCENDING, IndexModel
from pymongo.errors import DuplicateKeyError

from mailpass_common.db import Database, Document

COLLECTION = "idempotency_keys"
RETENTION = timedelta(hours=24)
RUNNING = "running"
DONE = "done"


@dataclass(frozen=True)
class Started:
    """This request owns the key: run it, then ``complete`` or ``release``."""

    record_id: str


@dataclass(frozen=True)
class Replay:
    status_code: int
    body: str


@dataclass(frozen=True)
class Conflict:
    reason: str  # "in_progress" | "different_request"


Claim = Started | Replay | Conflict


def fingerprint(endpoint: str, body: Any) -> str:
    """What "the same request" means: the endpoint and the JSON body, key order ignored."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(f"{endpoint}\n{canonical}".encode()).hexdigest()


def record_id(account_id: str, key: str, *, test: bool) -> str:
    # Live records keep the id they had before modes were told apart, so a retry that
    # spans an upgrade still replays its first response.
    mode = "test:" if test else ""
    return f"{account_id}:{mode}{hashlib.sha256(key.encode()).hexdigest()}"


async def ensure_indexes(db: Database) -> None:
    await db[COLLECTION].create_indexes(
        [IndexModel([("created_at", ASCENDING)], expireAfterSeconds=int(RETENTION.total_seconds()))]
    )


async def begin(
    db: Database,
    account_id: str,
    key: str,
    request_fingerprint: str,
    stale_after: timedelta,
    *,
    test: bool,
) -> Claim:
    rid = record_id(account_id, key, test=test)
    for _ in range(2):
        now = datetime.now(UTC)
        try:
            await db[COLLECTION].insert_one(
                {
                    "_id": rid,
                    "account_id": account_id,
                    "fingerprint": request_fingerprint,
                    "state": RUNNING,
                    "created_at": now,
                }
            )
            return Started(rid)
        except DuplicateKeyError:
            existing = await db[COLLECTION].find_one({"_id": rid})
        if existing is None:
            continue  # removed in between (released or expired): try again
        if _expired(existing, now, stale_after):
            # Only the retry that deletes this exact version goes on to insert.
            await db[COLLECTION].delete_one(
                {"_id": rid, "created_at": existing["created_at"], "state": existing["state"]}
            )
            continue
        if existing["fingerprint"] != request_fingerprint:
            return Conflict("different_request")
        if existing["state"] != DONE:
            return Conflict("in_progress")
        return Replay(int(existing["status_code"]), str(existing["body"]))
    return Conflict("in_progress")


def _expired(doc: Document, now: datetime, stale_after: timedelta) -> bool:
    created = doc.get("created_at")
    if not isinstance(created, datetime):
        return True
    age = now - (created if created.tzinfo else created.replace(tzinfo=UTC))
    # The TTL monitor removes expired records only once a minute.
    return age > RETENTION or (doc.get("state") == RUNNING and age > stale_after)


async def complete(db: Database, claim: Started, status_code: int, body: str) -> None:
    # The body is kept as JSON text: it is replayed byte for byte, never queried.
    await db[COLLECTION].update_one(
        {"_id": claim.record_id, "state": RUNNING},
        {"$set": {"state": DONE, "status_code": status_code, "body": body}},
    )


async def release(db: Database, claim: Started) -> None:
    await db[COLLECTION].delete_one({"_id": claim.record_id, "state": RUNNING})
