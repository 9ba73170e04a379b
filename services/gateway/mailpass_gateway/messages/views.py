"""Routes of the message history: ``GET /mail/messages`` and ``POST /mail/messages/{id}/resend``
(``mail`` permission)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from mailpass_common.messages.models import MessageDocument
from mailpass_common.platform.dates import api_datetime
from mailpass_common.platform.errors import ErrorCode
from mailpass_gateway.deps import Db, MailKey, Providers, Publisher, Settings
from mailpass_gateway.mail.responses import error_responses
from mailpass_gateway.mail.status import message_view, requested_id
from mailpass_gateway.messages.models import (
    CancelResponse,
    MessageListResponse,
    MessageQuery,
    ResendResponse,
)
from mailpass_gateway.messages.service import cancel_scheduled, message_page, resend

router = APIRouter(prefix="/api/v1/mail/messages", tags=["mail"])


DATE_FIELDS = ("sent_at", "created_at", "body_purged_at", "scheduled_at")


def summary(doc: MessageDocument) -> dict[str, Any]:
    """A message as the list shows it: the status endpoint's fields, tags, mode and links.
    Not a spec endpoint: its dates are RFC 3339 (``api_datetime``)."""
    view = message_view(doc)
    return {
        **view,
        "tags": list(doc.get("tags") or []),
        "sandbox": bool(doc.get("sandbox")),
        "resent_from": doc.get("resent_from"),
        "resent_as": doc.get("resent_as"),
        **{field: api_datetime(doc.get(field)) for field in DATE_FIELDS if field in view},
    }


@router.get(
    "",
    response_model=MessageListResponse,
    summary="The account's messages, newest first, filtered, a page at a time",
    description="Filters (`status`, `tag`, `to`, `created_after`, `created_before`) apply "
    "together. Pages hold up to `limit` messages; `next_cursor` asks for the next one "
    "(null on the last page). Live and test messages are listed apart (`sandbox`). "
    "Dates are UTC; the bodies are not listed (GET /mail/status/{message_id} has the rest).",
    responses=error_responses(
        ErrorCode.VALIDATION_ERROR, ErrorCode.UNAUTHORIZED, ErrorCode.FORBIDDEN
    ),
)
async def list_messages(
    query: Annotated[MessageQuery, Query()], key: MailKey, db: Db
) -> JSONResponse:
    page = await message_page(db, key, query)
    data = {
        "messages": [summary(doc) for doc in page.messages],
        "next_cursor": page.next_cursor.encode() if page.next_cursor else None,
    }
    return JSONResponse({"success": True, "data": data})


@router.post(
    "/{message_id}/resend",
    status_code=202,
    response_model=ResendResponse,
    summary="Send a failed message again, as a new message",
    description="Creates a new message with the failed one's content, linked both ways "
    "(`resent_from` on the new one, `resent_as` on the failed one, which keeps its "
    "status and history), and queues it through the current default provider; follow it "
    "with GET /mail/status/{message_id}. A message that is not failed, or was resent "
    "already, is 409 NOT_RESENDABLE. Suppressions are screened as by /mail/send: a "
    "suppressed `to` is 422 RECIPIENT_SUPPRESSED, suppressed cc/bcc are dropped and listed "
    "under `suppressed`. `message_id` with or without `<>`, URL-encoded.",
    responses=error_responses(
        ErrorCode.UNAUTHORIZED,
        ErrorCode.FORBIDDEN,
        ErrorCode.NOT_FOUND,
        ErrorCode.NOT_RESENDABLE,
        ErrorCode.RECIPIENT_SUPPRESSED,
        ErrorCode.NO_SMTP_PROVIDER,
        ErrorCode.SEND_LIMIT_EXCEEDED,
    ),
)
async def resend_message(
    message_id: str,
    key: MailKey,
    db: Db,
    providers: Providers,
    publisher: Publisher,
    settings: Settings,
) -> JSONResponse:
    doc, dropped = await resend(
        db,
        key,
        message_id,
        providers=providers,
        publisher=publisher,
        domain=settings.message_id_domain,
    )
    data: dict[str, Any] = {
        "message_id": doc["_id"],
        "status": doc["status"],
        "to": doc["to"],
        "from": doc["from_email"],
        "resent_from": doc.get("resent_from"),
    }
    if dropped:
        data["suppressed"] = dropped
    return JSONResponse({"success": True, "data": data}, status_code=202)


@router.post(
    "/{message_id}/cancel",
    response_model=CancelResponse,
    summary="Cancel a scheduled message before it is due",
    description="A message sent with `scheduled_at` can be cancelled while it is still "
    "`scheduled`: it becomes `cancelled` (final) and is never sent. Once the scheduler "
    "has released it (it is `queued` or further), or it was cancelled already, the answer "
    "is 409 NOT_CANCELLABLE with its status. `message_id` with or without `<>`, URL-encoded.",
    responses=error_responses(
        ErrorCode.UNAUTHORIZED,
        ErrorCode.FORBIDDEN,
        ErrorCode.NOT_FOUND,
        ErrorCode.NOT_CANCELLABLE,
    ),
)
async def cancel_message(message_id: str, key: MailKey, db: Db) -> JSONResponse:
    doc = await cancel_scheduled(db, key, requested_id(message_id))
    data = {"message_id": doc["_id"], "status": doc["status"]}
    return JSONResponse({"success": True, "data": data})
