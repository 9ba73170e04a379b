"""Events: what happens to a message more than once (deferrals, opens, clicks).

One document an event, in their own collection (never embedded in the message, which
would grow without bound and which nx-27017 cannot ``$push`` sub-documents into). Every
writer builds its documents with :func:`event_document`, so the sender's delivery events
and the tracker's opens and clicks share one shape; each batch goes in with one
``insert_many``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo.errors import BulkWriteError

from mailpass_common.db import Database, Document, where
from mailpass_common.documents import Collections, EventType, MessageDocument, MessageStatus


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


DUPLICATE_KEY = 11000


async def insert_events(db: Database, docs: Sequence[Document]) -> None:
    """Insert a batch of events. Events given an ``_id`` up front may be inserted again
    (a retried batch): the copies an earlier attempt wrote are skipped, not doubled."""
    if not docs:
        return
    try:
        await db[Collections.EVENTS].insert_many(list(docs), ordered=False)
    except BulkWriteError as exc:
        errors = exc.details.get("writeErrors", [])
        if not errors or any(error.get("code") != DUPLICATE_KEY for error in errors):
            raise


async def list_events(db: Database, account_id: str, message_id: str) -> list[Document]:
    """A message's events, oldest first (ties in insertion order)."""
    cursor = (
        db[Collections.EVENTS]
        .find(where(message_id=message_id, account_id=account_id), projection={"_id": 0})
        .sort([("created_at", 1), ("_id", 1)])
    )
    return await cursor.to_list()


def outcome_event(message: MessageDocument) -> Document | None:
    """The message's final outcome (kept on the message itself) as a delivery event."""
    if message["status"] == MessageStatus.SENT.value:
        when, detail = message.get("sent_at"), message.get("provider_reply")
    elif message["status"] == MessageStatus.FAILED.value:
        when, detail = (
            message.get("failed_at") or message.get("updated_at"),
            message.get("error_message"),
        )
    else:
        return None
    return {
        "message_id": message["_id"],
        "account_id": message["account_id"],
        "event_type": message["status"],
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
