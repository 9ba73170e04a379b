"""The webhook outbox: events are written to MongoDB where they happen, then relayed.

Why an outbox, not a publish. A producer (the sender recording a batch of outcomes, the
tracker writing opens and clicks, the bounce ingestion) already writes to MongoDB in that
step; writing its webhook events there too, in one more ``insert_many`` beside the
status change and before the job is acked, keeps it free of broker round trips and of a
second failure mode: if the insert fails, the step fails and is retried as a whole
(events carry ids derived from what caused them, so a retried step never doubles them).
Publishing with confirms instead would put a RabbitMQ round trip and its own failure
handling into each producer's hot path, and a publish that fails after the status
change has nowhere to wait. The relay of the ``mailpass-webhooks`` service (its
``relay`` module) reads ``pending`` events through an index, claims them with a lease,
publishes one job per (event, endpoint) with publisher confirms, and only then marks
them ``published``: a relay that dies leaves its claims to expire and be taken again, so
an event reaches RabbitMQ at least once. There is no separate recovery sweep: the relay
is the sweep. The sender writes its batch's events just before the status change (a
sender dying after the change would leave a job that finds its message final and
reports nothing); their keys name the claim, so a record retried after the write does
not report twice. The tracker writes them with its events.

Cost for accounts without webhooks: :class:`~mailpass_common.webhooks.endpoints.
EndpointDirectory` says in memory (a cached empty answer) that nobody listens, and
nothing is written.

One document an event in ``webhook_events``::

    {_id: "evt_…", webhook_id: "msg_…", account_id, sandbox, type, payload,
     endpoint_ids[], state: "pending" | "published", lease_until (Unix seconds),
     relay, created_at, published_at, replay_of}
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pymongo.errors import BulkWriteError

from mailpass_common.platform.dates import api_datetime
from mailpass_common.platform.db import (
    DUPLICATE_KEY,
    Collections,
    Database,
    Document,
    now_stamp,
    where,
)
from mailpass_common.webhooks.endpoints import EndpointDirectory

COLLECTION = Collections.WEBHOOK_EVENTS


@dataclass(frozen=True)
class WebhookEvent:
    """An event to report. ``key``: what caused it, unique (e.g. an events document's id):
    reporting the same key again is a no-op, so a retried step never reports twice."""

    account_id: str
    event_type: str
    data: dict[str, Any]
    sandbox: bool = False
    key: str = field(default_factory=lambda: secrets.token_hex(16))


def _ids(key: str) -> tuple[str, str]:
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    return f"evt_{digest}", f"msg_{digest}"


def event_document(
    event: WebhookEvent, endpoint_ids: Sequence[str], *, webhook_id: str | None = None
) -> Document:
    event_id, derived_webhook_id = _ids(event.key)
    now = datetime.now(UTC)
    now = now.replace(microsecond=now.microsecond // 1000 * 1000)
    return {
        "_id": event_id,
        "webhook_id": webhook_id or derived_webhook_id,
        "account_id": event.account_id,
        "sandbox": event.sandbox,
        "type": event.event_type,
        # The body every endpoint receives (Standard Webhooks' recommended shape).
        "payload": {
            "type": event.event_type,
            "timestamp": api_datetime(now),
            "data": event.data,
        },
        "endpoint_ids": list(endpoint_ids),
        "state": "pending",
        "lease_until": 0.0,
        "relay": None,
        "created_at": now,
    }


async def _insert(db: Database, docs: list[Document]) -> int:
    if not docs:
        return 0
    try:
        await db[COLLECTION].insert_many(docs, ordered=False)
    except BulkWriteError as exc:
        errors = exc.details.get("writeErrors", [])
        if not errors or any(e.get("code") != DUPLICATE_KEY for e in errors):
            raise
        return len(docs) - len(errors)  # the rest were written by an earlier try
    return len(docs)


async def emit_many(
    db: Database, directory: EndpointDirectory, events: Sequence[WebhookEvent]
) -> int:
    """Report a batch of events in one ``insert_many`` (none when nobody listens).

    Each event goes to the enabled endpoints of its account, of the same kind (live or
    sandbox), that ask for its type. Returns how many event documents were written.
    """
    docs = []
    for event in events:
        targets = await directory.subscribers(
            event.account_id, event.event_type, sandbox=event.sandbox
        )
        if targets:
            docs.append(event_document(event, targets))
    return await _insert(db, docs)


async def emit(
    db: Database,
    account_id: str,
    event_type: str,
    data: dict[str, Any],
    *,
    sandbox: bool = False,
    key: str | None = None,
    directory: EndpointDirectory | None = None,
) -> bool:
    """Report one event (see :class:`WebhookEvent`); True when an endpoint will get it.

    For producers outside the hot paths (bounce and complaint ingestion, ``endpoint.
    disabled``). Without a ``directory`` the account's endpoints are read each time.
    """
    event = WebhookEvent(account_id, event_type, data, sandbox, key or secrets.token_hex(16))
    return await emit_many(db, directory or EndpointDirectory(db, 0), [event]) == 1


async def replay(db: Database, original: Document, endpoint_id: str) -> Document:
    """The event again, to one endpoint, with its original ``webhook-id`` (receivers that
    saw it already know it for the same event)."""
    event = WebhookEvent(
        original["account_id"],
        original["type"],
        original["payload"]["data"],
        bool(original.get("sandbox")),
    )
    doc = event_document(event, [endpoint_id], webhook_id=original["webhook_id"])
    doc["payload"] = original["payload"]
    doc["replay_of"] = original["_id"]
    await db[COLLECTION].insert_one(doc)
    return doc


async def get_event(db: Database, account_id: str, event_id: str) -> Document | None:
    return await db[COLLECTION].find_one(where(_id=event_id, account_id=account_id))


async def claim_pending(db: Database, *, limit: int, lease_seconds: float) -> list[Document]:
    """Take up to ``limit`` pending events no live relay holds, oldest claims first.

    Three round trips whatever the number: find candidates (index ``state,
    lease_until``), stamp them with this claim where still unclaimed, read back those
    stamped. Two relays racing for one event: one stamp wins, the other reads nothing.
    """
    now = time.time()
    pending = where(state="pending", lease_until={"$lt": now})
    found = await (
        db[COLLECTION]
        .find(pending, projection={"_id": 1})
        .sort([("lease_until", 1)])
        .limit(limit)
        .to_list()
    )
    if not found:
        return []
    ids = [doc["_id"] for doc in found]
    token = secrets.token_hex(8)
    await db[COLLECTION].update_many(
        {"_id": {"$in": ids}, **pending},
        {"$set": {"lease_until": now + lease_seconds, "relay": token}},
    )
    return await db[COLLECTION].find({"_id": {"$in": ids}, **where(relay=token)}).to_list()


async def mark_published(db: Database, event_ids: Sequence[str]) -> None:
    if event_ids:
        await db[COLLECTION].update_many(
            {"_id": {"$in": list(event_ids)}},
            {"$set": {"state": "published"}, **now_stamp("published_at")},
        )
