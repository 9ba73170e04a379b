"""Routes of the Mail Send API."""

from __future__ import annotations

import logging

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from mailpass_common import messages
from mailpass_common.broker import SendJob
from mailpass_common.documents import MessageKind, MessageStatus
from mailpass_common.telemetry import log_fields
from mailpass_gateway.deps import Db, MailKey, Publisher, Settings, Waiter
from mailpass_gateway.errors import ApiError
from mailpass_gateway.mail.models import SendRequest, SendResponse, SendResult
from mailpass_gateway.mail.service import default_provider, message_document
from mailpass_gateway.metrics import MESSAGES_ACCEPTED

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/v1/mail", tags=["mail"])


@router.post(
    "/send",
    response_model=SendResponse,
    responses={202: {"description": "Accepted; delivery continues in the background"}},
    summary="Send one email immediately through the default provider",
)
async def send(
    body: SendRequest,
    key: MailKey,
    db: Db,
    publisher: Publisher,
    waiter: Waiter,
    settings: Settings,
) -> JSONResponse:
    provider = await default_provider(db, key.account_id)
    doc = message_document(
        body,
        key=key,
        provider=provider,
        kind=MessageKind.IMMEDIATE,
        domain=settings.message_id_domain,
    )
    await messages.insert_messages(db, [doc])
    MESSAGES_ACCEPTED.labels(MessageKind.IMMEDIATE.value).inc()

    correlation_id, future = waiter.expect()
    try:
        await publisher.publish(
            SendJob(doc["_id"], key.account_id),
            MessageKind.IMMEDIATE,
            reply_to=waiter.queue_name,
            correlation_id=correlation_id,
        )
    except Exception:
        # The document is the outbox: the scheduler's recovery publishes it later.
        log.exception(
            "publish failed; message stays queued", extra=log_fields(message_id=doc["_id"])
        )
        reply = None
    else:
        reply = await waiter.wait(correlation_id, future, settings.send_timeout_seconds)

    status = reply["status"] if reply else MessageStatus.QUEUED.value
    if status == MessageStatus.FAILED.value:
        raise ApiError(
            500,
            "SEND_FAILED",
            f"Email sending failed: {reply and reply.get('error_message')}",
            {"message_id": doc["_id"]},
        )
    result = SendResult(
        message_id=doc["_id"],
        status="sent" if status == "sent" else "queued",
        to=doc["to"],
        from_=doc["from_email"],
    )
    return JSONResponse(
        SendResponse(data=result).model_dump(by_alias=True),
        status_code=200 if result.status == "sent" else 202,
    )
