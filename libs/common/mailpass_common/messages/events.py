"""Events: what happens to a message more than once (deferrals, opens, clicks).

One document an event, in their own collection (never embedded in the message, which
would grow without bound and which nx-27017 cannot ``$push`` sub-documents into). Every
writer builds its documents with :func:`event_document`, so the sender's delivery events
and the tracker's opens and clicks share one shape; each batch goes in with one
``insert_many``.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from bson import ObjectId
from pymongo.errors import BulkWriteError

from mailpass_common.messages.models import EventType, MessageDocument, MessageStatus
from mailpass_common.platform.db import DUPLICATE_KEY, Collections, Database, Document, where


def event_document(
    *,
    message_id: str,
    account_id: str,
    event_type: EventType,
    sandbox: bool,
    created_at: datetime | None = None,
    **fields: Any,
) -> Document:
    """``sandbox``: an event of a test message (stats count live and test mail apart)."""
    return {
        "message_id": message_id,
        "account_id": account_id,
        "event_type": event_type.value,
        "sandbox": sandbox,
        "created_at": created_at or datetime.now(UTC),
        **fields,
    }


async def insert_events(db: Database, docs: Sequence[Document]) -> list[Document]:
    """Insert a batch of events; return those skipped because their ``_id`` was taken.

    Events given an ``_id`` up front may be inserted again (a retried batch): the copies
    an earlier attempt wrote are skipped, not doubled. The same rule keeps one open per
    message, reader and minute (the tracker derives those opens' ids from the three).
    """
    if not docs:
        return []
    try:
        await db[Collections.EVENTS].insert_many(list(docs), ordered=False)
    except BulkWriteError as exc:
        errors = exc.details.get("writeErrors", [])
        if not errors or any(error.get("code") != DUPLICATE_KEY for error in errors):
            raise
        return [docs[error["index"]] for error in errors if "index" in error]
    return []


async def list_events(db: Database, account_id: str, message_id: str) -> list[Document]:
    """Every event of a message, oldest first (ties in insertion order). Unbounded: for
    tools and tests; the status endpoint reads pages (:func:`page`)."""
    cursor = (
        db[Collections.EVENTS]
        .find(where(message_id=message_id, account_id=account_id), projection={"_id": 0})
        .sort([("created_at", 1), ("_id", 1)])
    )
    return await cursor.to_list()


def outcome_event(message: MessageDocument) -> Document | None:
    """The message's final outcome (kept on the message itself) as a delivery event."""
    if message["status"] in (MessageStatus.SENT.value, MessageStatus.BOUNCED.value):
        # A bounced message was sent first: its bounce is an event of its own.
        when, detail = message.get("sent_at"), message.get("provider_reply")
    elif message["status"] == MessageStatus.FAILED.value:
        when, detail = (
            message.get("failed_at") or message.get("updated_at"),
            message.get("error_message"),
        )
    elif message["status"] == MessageStatus.CANCELLED.value:
        when, detail = message.get("cancelled_at"), "cancelled before its scheduled time"
    else:
        return None
    return {
        "message_id": message["_id"],
        "account_id": message["account_id"],
        "event_type": MessageStatus.SENT.value
        if message["status"] == MessageStatus.BOUNCED.value
        else message["status"],
        "created_at": when,
        "detail": detail or "",
    }


async def timeline(db: Database, message: MessageDocument) -> list[Document]:
    """Everything that happened to a message, oldest first: its events and its outcome."""
    history = await list_events(db, message["account_id"], message["_id"])
    final = outcome_event(message)
    if final is not None:
        history.append(final)
        # Stable: an open recorded in the same instant as the send stays after it.
        history.sort(key=lambda event: _sort_time(event.get("created_at")))
    return history


def _sort_time(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.max.replace(tzinfo=UTC)


def last_deferral_selector(message: MessageDocument) -> dict[str, Any]:
    return where(
        message_id=message["_id"],
        account_id=message["account_id"],
        event_type=EventType.DEFERRED.value,
    )


async def last_deferral(db: Database, message: MessageDocument) -> Document | None:
    """The message's latest deferral: its reply, and when the retry was due."""
    cursor = (
        db[Collections.EVENTS]
        .find(last_deferral_selector(message))
        .sort([("created_at", -1), ("_id", -1)])
        .limit(1)
    )
    found = await cursor.to_list()
    return found[0] if found else None


def retry_due(deferral: Document) -> datetime | None:
    """When a deferral's retry was scheduled: its time plus the delay it waits in its
    delay queue (the jittered one, as the sender recorded it)."""
    when, delay = deferral.get("created_at"), deferral.get("retry_in_seconds")
    if not isinstance(when, datetime) or not isinstance(delay, int | float):
        return None
    return (when if when.tzinfo else when.replace(tzinfo=UTC)) + timedelta(seconds=delay)


# Paging. An event's place is (created_at to the millisecond, _id); the message's outcome
# (which has no _id) comes after the events of its own millisecond.
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_OUTCOME_ID = b"\xff" * 12
Key = tuple[int, bytes]


def _millis(value: Any) -> int:
    if not isinstance(value, datetime):
        return 2**62  # an unreadable date sorts last (newest), as in the timeline
    value = value if value.tzinfo else value.replace(tzinfo=UTC)
    return int((value - _EPOCH) // timedelta(milliseconds=1))


def _key(event: Document) -> Key:
    event_id = event.get("_id")
    return (
        _millis(event.get("created_at")),
        event_id.binary if isinstance(event_id, ObjectId) else _OUTCOME_ID,
    )


def encode_cursor(key: Key) -> str:
    raw = key[0].to_bytes(8, "big", signed=True) + key[1]
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def decode_cursor(cursor: str) -> Key:
    """The position a cursor names; ``ValueError`` for anything :func:`page` did not make."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    except (binascii.Error, ValueError) as exc:
        raise ValueError("not a cursor returned by this endpoint") from exc
    key = int.from_bytes(raw[:8], "big", signed=True), raw[8:]
    if len(raw) != 20 or encode_cursor(key) != cursor:
        raise ValueError("not a cursor returned by this endpoint")
    return key


@dataclass(frozen=True)
class EventPage:
    events: list[Document]  # oldest first
    totals: dict[str, int]  # every event of the message, by type
    next_cursor: str | None  # where the older events continue; None when there are none


async def page(
    db: Database, message: MessageDocument, *, limit: int, before: Key | None = None
) -> EventPage:
    """The newest ``limit`` events of a message older than ``before`` (all, without it),
    oldest first, with the outcome merged in; the totals by type; a cursor for more.

    One index-served query (``(message_id, created_at)``, newest first) and one count
    per type. Dates are compared to the millisecond here, not in the query: nx-27017
    compares dates to the second, so the query asks for a superset (``$lte``) and the
    events already shown are dropped from its head (a second query, only when more than
    a few share the cursor's second).
    """
    selector = where(message_id=message["_id"], account_id=message["account_id"])
    if before is not None:
        selector["created_at"] = {"$lte": _EPOCH + timedelta(milliseconds=before[0])}
    wanted, fetch = limit + 1, limit + 17
    while True:
        found = await (
            db[Collections.EVENTS]
            .find(selector)
            .sort([("created_at", -1), ("_id", -1)])
            .limit(fetch)
            .to_list()
        )
        older = [e for e in found if before is None or _key(e) < before]
        if len(found) < fetch or len(older) >= wanted:
            break
        fetch += wanted - len(older)
    final = outcome_event(message)
    candidates = older[:wanted]
    if final is not None and (before is None or _key(final) < before):
        candidates.append(final)
    candidates.sort(key=_key, reverse=True)
    shown = candidates[:limit]
    more = len(candidates) > limit
    return EventPage(
        events=shown[::-1],
        totals=await _totals(db, message, final),
        next_cursor=encode_cursor(_key(shown[-1])) if more else None,
    )


async def _totals(db: Database, message: MessageDocument, final: Document | None) -> dict[str, int]:
    grouped = await db[Collections.EVENTS].aggregate(
        [
            {"$match": where(message_id=message["_id"], account_id=message["account_id"])},
            {"$group": {"_id": "$event_type", "count": {"$sum": 1}}},
        ]
    )
    totals = {str(row["_id"]): int(row["count"]) async for row in grouped}
    if final is not None:
        totals[final["event_type"]] = totals.get(final["event_type"], 0) + 1
    return dict(sorted(totals.items()))
