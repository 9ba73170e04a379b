"""``GET /mail/status/{message_id}``: a message and its events, as the spec shows them.

Dates are UTC without an offset, ``YYYY-MM-DDTHH:MM:SS``, as in the spec. The status is
the message's real one (queued, sending, deferred, sent, failed). Events are the
delivery events (queued, sent, deferred, failed, with the provider's reply in
``detail``) and the tracking events (open, click, with ``url`` and ``classification``).

Bounded: a message can gather tens of thousands of opens and clicks, so the answer holds
the newest ``limit`` events (default 100, at most 1000), still oldest first as the spec
shows them, beside ``event_totals`` (every event by type) and ``next_cursor``: passed
back as ``before``, it gives the page of events just older than this one (null when
there are none). The newest page first is what a caller checking a message wants: its
outcome and latest activity.
"""

from __future__ import annotations

import urllib.parse
from typing import Any

from mailpass_common.messages import events
from mailpass_common.messages import service as messages
from mailpass_common.messages.ids import normalize_message_id
from mailpass_common.messages.models import MessageDocument, stored_datetime
from mailpass_common.platform.db import Database, Document
from mailpass_common.platform.errors import ErrorCode
from mailpass_gateway.errors import ApiError

MAX_MESSAGE_ID_CHARS = 512
OPTIONAL_EVENT_FIELDS = ("url", "classification", "detail")


def spec_datetime(value: Any) -> str | None:
    when = stored_datetime(value)
    return None if when is None else f"{when:%Y-%m-%dT%H:%M:%S}"


def message_view(doc: MessageDocument) -> dict[str, Any]:
    view = {
        "message_id": doc["_id"],
        "from_email": doc.get("from_email"),
        "to_email": doc.get("to"),
        "subject": doc.get("subject"),
        "status": doc.get("status"),
        "error_message": doc.get("error_message"),
        "sent_at": spec_datetime(doc.get("sent_at")),
        "created_at": spec_datetime(doc.get("created_at")),
        "body_purged_at": spec_datetime(doc.get("body_purged_at")),
    }
    if doc.get("scheduled_at") is not None:  # only then: the spec's shape stays as it is
        view["scheduled_at"] = spec_datetime(doc.get("scheduled_at"))
    return view


def event_view(doc: Document) -> dict[str, Any]:
    view = {
        "event_type": doc.get("event_type"),
        "ip_address": doc.get("ip_address"),
        "user_agent": doc.get("user_agent"),
        "created_at": spec_datetime(doc.get("created_at")),
    }
    for field in OPTIONAL_EVENT_FIELDS:
        if doc.get(field) is not None:
            view[field] = doc[field]
    return view


def requested_id(raw: str) -> str:
    """The id as clients send it: with or without ``<>``, URL-encoded once or twice."""
    return normalize_message_id(urllib.parse.unquote(raw))


def _cursor(before: str | None) -> events.Key | None:
    if before is None:
        return None
    try:
        return events.decode_cursor(before)
    except ValueError as exc:
        raise ApiError(
            ErrorCode.VALIDATION_ERROR,
            "Invalid request: before",
            [{"field": "before", "message": str(exc)}],
        ) from exc


async def message_status(
    db: Database, account_id: str, raw_id: str, *, limit: int, before: str | None
) -> dict[str, Any]:
    cursor = _cursor(before)
    message_id = requested_id(raw_id)
    doc = None
    if len(message_id) <= MAX_MESSAGE_ID_CHARS:
        # Filtered by account: another account's message is as absent as a missing one.
        doc = await messages.find_message(db, account_id, message_id)
    if doc is None:
        raise ApiError(ErrorCode.NOT_FOUND, "Message not found", {"message_id": message_id})
    found = await events.page(db, doc, limit=limit, before=cursor)
    return {
        "message": message_view(doc),
        "events": [event_view(e) for e in found.events],
        "event_totals": found.totals,
        "next_cursor": found.next_cursor,
    }
