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
a retry takes it over rather than being refused for a whole day. So does a record marked
``interrupted``: its request failed without knowing whether its messages were stored
(MongoDB went away mid-insert, say), so the key may be neither kept nor released.

Exactly one set of messages per key, however the first attempt ended: each record holds a
random ``nonce`` from which the request's message ids are derived
(:func:`mailpass_common.messages.ids.keyed_message_id`), and a takeover keeps it. A retry that
runs the request again therefore names the very messages the first attempt may have
stored, and the insert finds them there instead of making second ones. Only a record
that is released (nothing was stored) or expired starts again with a new nonce.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import ASCENDING, IndexModel
from pymongo.errors import DuplicateKeyError

from mailpass_common.messages.ids import new_nonce
from mailpass_common.platform.db import Database, Document

COLLECTION = "idempotency_keys"
RETENTION = timedelta(hours=24)
RUNNING = "running"
DONE = "done"


@dataclass(frozen=True)
class Started:
    """This request owns the key: run it, then ``complete``, ``release`` or ``interrupt``."""

    record_id: str
    nonce: str  # the seed of the request's message ids; kept by a takeover


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
    nonce = new_nonce()
    for _ in range(3):
        now = datetime.now(UTC)
        try:
            await db[COLLECTION].insert_one(
                {
                    "_id": rid,
                    "account_id": account_id,
                    "fingerprint": request_fingerprint,
                    "state": RUNNING,
                    "nonce": nonce,
                    "created_at": now,
                }
            )
            return Started(rid, nonce)
        except DuplicateKeyError:
            existing = await db[COLLECTION].find_one({"_id": rid})
        if existing is None:
            continue  # removed in between (released or expired): try again
        if _expired(existing, now):
            nonce = new_nonce()  # a new request: new messages
        elif existing["fingerprint"] != request_fingerprint:
            return Conflict("different_request")
        elif existing["state"] == DONE:
            return Replay(int(existing["status_code"]), str(existing["body"]))
        elif _abandoned(existing, now, stale_after):
            # The same request, run again: it names the messages the first run may have
            # stored (records from before nonces were kept get a new one).
            nonce = str(existing.get("nonce") or nonce)
        else:
            return Conflict("in_progress")
        # Only the retry that deletes this exact version goes on to insert.
        await db[COLLECTION].delete_one(
            {"_id": rid, "created_at": existing["created_at"], "state": existing["state"]}
        )
    return Conflict("in_progress")


def _age(doc: Document, now: datetime) -> timedelta | None:
    created = doc.get("created_at")
    if not isinstance(created, datetime):
        return None
    return now - (created if created.tzinfo else created.replace(tzinfo=UTC))


def _expired(doc: Document, now: datetime) -> bool:
    # The TTL monitor removes expired records only once a minute.
    age = _age(doc, now)
    return age is None or age > RETENTION


def _abandoned(doc: Document, now: datetime, stale_after: timedelta) -> bool:
    """A running record nobody will finish: its request was interrupted, or its gateway
    died (it has been running longer than any request may)."""
    age = _age(doc, now)
    return bool(doc.get("interrupted")) or (age is not None and age > stale_after)


async def complete(db: Database, claim: Started, status_code: int, body: str) -> None:
    # The body is kept as JSON text: it is replayed byte for byte, never queried.
    await db[COLLECTION].update_one(
        {"_id": claim.record_id, "state": RUNNING},
        {"$set": {"state": DONE, "status_code": status_code, "body": body}},
    )


async def release(db: Database, claim: Started) -> None:
    """Nothing was stored: a retry runs the request afresh."""
    await db[COLLECTION].delete_one({"_id": claim.record_id, "state": RUNNING})


async def interrupt(db: Database, claim: Started) -> None:
    """The request failed without knowing what it stored: the next retry takes it over at
    once, with the same nonce, so it finds the messages already stored instead of making
    them twice."""
    await db[COLLECTION].update_one(
        {"_id": claim.record_id, "state": RUNNING}, {"$set": {"interrupted": True}}
    )
