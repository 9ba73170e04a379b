"""A bounce or complaint reported after the message left: its event and, for a bounce,
the move ``sent`` → ``bounced``. Shared by the inbound DSN path (``mailpass-inbound``) and
the provider event hooks (the gateway's ``/api/v1/provider-events``).

Idempotent: an event's id is derived from (message, address, what happened), so a report
or notification received twice (or a DSN and a provider's notification of the same
bounce) records one event, and the move is a conditional update that changes only a
``sent`` message.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import cast

from bson import ObjectId

from mailpass_common.messages import events
from mailpass_common.messages.models import EventType, MessageDocument
from mailpass_common.messages.transitions import BOUNCE
from mailpass_common.platform.db import Collections, Database, Document, now_stamp, where
from mailpass_common.suppressions import service as suppressions

# What a hook needs of a message: whom it was sent to, and whose it is.
_PROJECTION = {"account_id": 1, "to": 1, "cc": 1, "bcc": 1, "sandbox": 1, "status": 1}


def event_id(*parts: str) -> ObjectId:
    """The same id for the same thing reported again (see the module's idempotency)."""
    return ObjectId(hashlib.sha256("\x00".join(parts).encode()).digest()[:12])


def recipients_of(message: MessageDocument) -> list[str]:
    found = [message.get("to") or "", *(message.get("cc") or []), *(message.get("bcc") or [])]
    return list(dict.fromkeys(suppressions.normalized(a) for a in found if a))


async def mark_bounced(db: Database, message: MessageDocument, diagnostic: str) -> bool:
    """``sent`` → ``bounced`` (the only move out of ``sent``), with the remote server's
    reply as the message's error; False when it was not ``sent`` (already bounced,
    failed, or a report that outran the sender's record)."""
    result = await db[Collections.MESSAGES].update_one(
        {**where(_id=message["_id"]), **BOUNCE.selector()},
        {
            "$set": BOUNCE.fields(error_message=diagnostic),
            **now_stamp("bounced_at", "updated_at"),
        },
    )
    return result.modified_count == 1


_KINDS = {
    suppressions.SuppressionReason.BOUNCE: (EventType.BOUNCE, "bounce"),
    suppressions.SuppressionReason.COMPLAINT: (EventType.COMPLAINT, "complaint"),
}


async def record_hook_reports(
    db: Database, account_id: str, reports: Sequence[suppressions.Suppression], source: str
) -> int:
    """Record what a provider's notification says of messages of ``account_id``: a
    ``bounce`` or ``complaint`` event per reported recipient, and ``sent`` → ``bounced``
    for a bounce. Only reports naming our Message-ID of a message of that account, sent to
    that address, count (one ``_id`` look-up for them all). Returns the messages bounced."""
    wanted = {r.message_id for r in reports if r.message_id and r.reason in _KINDS}
    if not wanted:
        return 0
    cursor = db[Collections.MESSAGES].find(
        {"_id": {"$in": sorted(wanted)}, **where(account_id=account_id)}, projection=_PROJECTION
    )
    found = {doc["_id"]: cast(MessageDocument, doc) async for doc in cursor}
    docs: list[Document] = []
    bounced: dict[str, tuple[MessageDocument, str]] = {}
    for report in reports:
        message = found.get(report.message_id or "")
        address = suppressions.normalized(report.address)
        if message is None or address not in recipients_of(message) or report.reason not in _KINDS:
            continue
        kind, name = _KINDS[report.reason]
        doc = events.event_document(
            _id=event_id(message["_id"], address, name),
            message_id=message["_id"],
            account_id=account_id,
            event_type=kind,
            sandbox=bool(message.get("sandbox")),
            address=address,
            detail=report.detail[: suppressions.MAX_DETAIL_CHARS],
            source=source,
        )
        docs.append(doc)
        if kind is EventType.BOUNCE:
            bounced.setdefault(message["_id"], (message, report.detail))
    await events.insert_events(db, docs)
    moved = 0
    for bounced_message, detail in bounced.values():
        moved += await mark_bounced(db, bounced_message, detail)
    return moved
