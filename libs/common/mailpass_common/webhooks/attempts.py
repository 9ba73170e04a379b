"""Delivery attempts: one document each in ``webhook_attempts``, listed newest first.

    {_id: ObjectId, endpoint_id, account_id, event_id, webhook_id, event_type, attempt,
     outcome: "succeeded" | "failed", status_code | None, response (at most 300
     characters of the body, one line) | None, error | None, duration_ms,
     next_attempt_in_seconds | None, created_at}

Pages follow ``seq``, the ``_id`` as hex text (ObjectIds grow with time, and so does
their hex): the index ``(endpoint_id, seq)`` serves the first page and every next one,
and a cursor is the last id shown. (Not an index on ``_id`` itself: nx-27017 cannot
index ``_id`` inside a compound index.)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bson import ObjectId
from bson.errors import InvalidId

from mailpass_common.platform.db import Collections, Database, Document, where

COLLECTION = Collections.WEBHOOK_ATTEMPTS
EXCERPT_CHARS = 300


def excerpt(body: bytes) -> str:
    """A response body as attempts keep it: decoded leniently, on one line, cut short."""
    text = " ".join(body.decode("utf-8", errors="replace").split())
    return text if len(text) <= EXCERPT_CHARS else text[: EXCERPT_CHARS - 1] + "…"


async def record_attempt(
    db: Database,
    *,
    endpoint: Document,
    event: Document,
    attempt: int,
    succeeded: bool,
    status_code: int | None,
    response: str | None,
    error: str | None,
    duration_ms: int,
    next_attempt_in_seconds: float | None,
) -> Document:
    oid = ObjectId()
    doc: Document = {
        "_id": oid,
        "seq": str(oid),
        "endpoint_id": endpoint["_id"],
        "account_id": endpoint["account_id"],
        "event_id": event["_id"],
        "webhook_id": event["webhook_id"],
        "event_type": event["type"],
        "attempt": attempt,
        "outcome": "succeeded" if succeeded else "failed",
        "status_code": status_code,
        "response": response,
        "error": error,
        "duration_ms": duration_ms,
        "next_attempt_in_seconds": next_attempt_in_seconds,
        "created_at": datetime.now(UTC),
    }
    await db[COLLECTION].insert_one(doc)
    return doc


def parse_id(value: str) -> ObjectId | None:
    try:
        return ObjectId(value)
    except (InvalidId, TypeError):
        return None


@dataclass(frozen=True)
class AttemptPage:
    attempts: list[Document]  # newest first
    next_cursor: str | None


async def page(
    db: Database, account_id: str, endpoint_id: str, *, limit: int, before: ObjectId | None
) -> AttemptPage:
    selector: dict[str, Any] = where(endpoint_id=endpoint_id, account_id=account_id)
    if before is not None:
        selector["_id"] = {"$lt": before}
    found = await db[COLLECTION].find(selector).sort([("_id", -1)]).limit(limit + 1).to_list()
    shown = found[:limit]
    more = len(found) > limit
    return AttemptPage(shown, str(shown[-1]["_id"]) if more else None)


async def get_attempt(
    db: Database, account_id: str, endpoint_id: str, attempt_id: str
) -> Document | None:
    oid = parse_id(attempt_id)
    if oid is None:
        return None
    return await db[COLLECTION].find_one(
        where(_id=oid, endpoint_id=endpoint_id, account_id=account_id)
    )


def attempt_view(doc: Document) -> dict[str, Any]:
    created = doc["created_at"]
    return {
        "id": str(doc["_id"]),
        "event_id": doc["event_id"],
        "webhook_id": doc["webhook_id"],
        "event_type": doc["event_type"],
        "attempt": doc["attempt"],
        "outcome": doc["outcome"],
        "status_code": doc.get("status_code"),
        "response": doc.get("response"),
        "error": doc.get("error"),
        "duration_ms": doc.get("duration_ms"),
        "next_attempt_in_seconds": doc.get("next_attempt_in_seconds"),
        "created_at": created if created.tzinfo else created.replace(tzinfo=UTC),
    }
