"""Routes of the Mail Send API (the MailPass Mail Send API spec): parse, validate, delegate
to the service layer (:mod:`mailpass_gateway.mail.service`, :mod:`.batch`, :mod:`.status`)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse

from mailpass_common.acceptance.grouped import Grouped
from mailpass_common.messages import service as messages
from mailpass_common.platform.broker import JobPublisher
from mailpass_common.platform.db import Database
from mailpass_common.platform.errors import ErrorCode
from mailpass_common.providers.service import ProviderCache
from mailpass_gateway.bodies import model_schema, openapi_json_body, parse_json_object, validate
from mailpass_gateway.deps import (
    Db,
    IdempotencyKey,
    MailKey,
    Providers,
    Publisher,
    Settings,
)
from mailpass_gateway.errors import ApiError
from mailpass_gateway.mail import examples
from mailpass_gateway.mail.batch import queue_batch
from mailpass_gateway.mail.files import AttachmentPolicy
from mailpass_gateway.mail.idempotency import run_idempotent
from mailpass_gateway.mail.models import BatchRequest, SendRequest
from mailpass_gateway.mail.responses import (
    BatchResponse,
    SendResponse,
    StatusResponse,
    error_responses,
)
from mailpass_gateway.mail.service import MessageIds, send_now
from mailpass_gateway.mail.status import MAX_MESSAGE_ID_CHARS, message_status, requested_id
from mailpass_gateway.pagination import PageQuery, page_query
from mailpass_gateway.rpc import ReplyWaiter
from mailpass_gateway.settings import GatewaySettings
from mailpass_gateway.templates.schemas import (
    TEMPLATE_BATCH_EXAMPLE,
    TEMPLATE_SEND_EXAMPLE,
    send_schema,
)
from mailpass_gateway.templates.sending import render_send, templated
from mailpass_gateway.templates.service import unsubscribe_links

router = APIRouter(prefix="/api/v1/mail", tags=["mail"])

DEFAULT_STATUS_EVENTS = 100
MAX_STATUS_EVENTS = 1000

EVENT_PAGES = page_query(default=DEFAULT_STATUS_EVENTS, maximum=MAX_STATUS_EVENTS, former="before")

COMMON_ERRORS = (ErrorCode.VALIDATION_ERROR, ErrorCode.UNAUTHORIZED, ErrorCode.FORBIDDEN)


# A message gives its content (the spec's shape), or names a template with variables.
_SEND_SCHEMA = send_schema(model_schema(SendRequest))
# The batch model checks each message on its own (so one bad message fails alone); its
# schema says what each message is.
_BATCH_SCHEMA = BatchRequest.model_json_schema()
_BATCH_SCHEMA["properties"]["messages"]["items"] = _SEND_SCHEMA


@router.post(
    "/send",
    summary="Send one email immediately through the default provider",
    description="Waits for the delivery result up to `SEND_TIMEOUT_SECONDS` (30 s): "
    "delivered → 200 `sent`; not yet known, or a temporary failure that is retried → "
    "202 `queued` (follow it with GET /mail/status); refused by the provider → 500 "
    "SEND_FAILED with the provider's reply. Test keys (`mp_test_`) deliver to the sandbox "
    "capture only. Request bodies are limited to 10 MiB.",
    response_model=SendResponse,
    responses={
        202: {
            "model": SendResponse,
            "description": "Accepted; delivery continues in the background",
            "content": {"application/json": {"example": examples.SEND_QUEUED_RESPONSE}},
        },
        **error_responses(
            *COMMON_ERRORS,
            ErrorCode.IDEMPOTENCY_CONFLICT,
            ErrorCode.PAYLOAD_TOO_LARGE,
            ErrorCode.NO_SMTP_PROVIDER,
            ErrorCode.SEND_LIMIT_EXCEEDED,
            ErrorCode.SEND_FAILED,
            ErrorCode.RECIPIENT_SUPPRESSED,
            ErrorCode.DOMAIN_NOT_VERIFIED,
            ErrorCode.ATTACHMENT_REFUSED,
            ErrorCode.MESSAGE_TOO_LARGE,
        ),
    },
    openapi_extra=openapi_json_body(
        _SEND_SCHEMA,
        {
            "Spec request": examples.SEND_REQUEST,
            "cURL example": examples.SEND_REQUEST_CURL,
            "With a template": TEMPLATE_SEND_EXAMPLE,
        },
    ),
)
async def send(request: Request, key: MailKey, idempotency_key: IdempotencyKey = None) -> Response:
    # The app's parts straight from its state: a dependency apiece costs FastAPI a
    # resolution per request, on the API's busiest route.
    state = request.app.state
    db: Database = state.db
    providers: ProviderCache = state.providers
    publisher: JobPublisher = state.publisher
    waiter: ReplyWaiter = state.waiter
    settings: GatewaySettings = state.settings
    grouped: Grouped = state.grouped
    data = parse_json_object(await request.body())
    use = templated(data)
    body = validate(SendRequest, data) if use is None else None
    links = unsubscribe_links(settings)

    async def produce(ids: MessageIds) -> JSONResponse:
        request, template = body, None
        if use is not None:
            request, template = await render_send(
                db, key.account_id, use, message_id=ids.of(0), links=links
            )
        assert request is not None
        return await send_now(
            db,
            request,
            key=key,
            providers=providers,
            publisher=publisher,
            waiter=waiter,
            ids=ids,
            timeout=settings.send_timeout_seconds,
            policy=AttachmentPolicy.of(settings),
            grouped=grouped,
            template=template,
        )

    return await run_idempotent(
        db,
        account_id=key.account_id,
        test=key.test,
        key=idempotency_key,
        endpoint="send",
        body=data,
        stale_after=timedelta(seconds=settings.idempotency_stale_seconds),
        domain=settings.message_id_domain,
        produce=produce,
    )


@router.post(
    "/send-batch",
    summary="Queue up to 100 emails; the scheduler sends them within the provider's limits",
    description="Each message is validated alone: an invalid one is returned with "
    '`status: "failed"` and its error, the others are queued with a numeric, increasing '
    "`queue_id` (and their `message_id`, for the status endpoint). Top-level `from_email` "
    "and `from_name` apply to messages that set none. A batch of 0 or more than 100 "
    "messages is refused as a whole (VALIDATION_ERROR).",
    response_model=BatchResponse,
    responses=error_responses(
        *COMMON_ERRORS,
        ErrorCode.IDEMPOTENCY_CONFLICT,
        ErrorCode.PAYLOAD_TOO_LARGE,
        ErrorCode.NO_SMTP_PROVIDER,
        ErrorCode.DOMAIN_NOT_VERIFIED,
    ),
    openapi_extra=openapi_json_body(
        _BATCH_SCHEMA,
        {
            "Spec request": examples.BATCH_REQUEST,
            "cURL example": examples.BATCH_REQUEST_CURL,
            "With a template": TEMPLATE_BATCH_EXAMPLE,
        },
    ),
)
async def send_batch(
    request: Request,
    key: MailKey,
    db: Db,
    providers: Providers,
    publisher: Publisher,
    settings: Settings,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    data = parse_json_object(await request.body())
    batch = validate(BatchRequest, data)

    async def produce(ids: MessageIds) -> JSONResponse:
        result = await queue_batch(
            db,
            batch,
            key=key,
            providers=providers,
            publisher=publisher,
            ids=ids,
            policy=AttachmentPolicy.of(settings),
            links=unsubscribe_links(settings),
        )
        return JSONResponse({"success": True, "data": result})

    return await run_idempotent(
        db,
        account_id=key.account_id,
        test=key.test,
        key=idempotency_key,
        endpoint="send-batch",
        body=data,
        stale_after=timedelta(seconds=settings.idempotency_stale_seconds),
        domain=settings.message_id_domain,
        produce=produce,
    )


@router.get(
    "/status/{message_id}",
    summary="Status and events of one message",
    description="`message_id` as returned by /send (or a batch), with or without its angle "
    "brackets, URL-encoded. Dates are UTC, `YYYY-MM-DDTHH:MM:SS`. Events: delivery "
    "(`queued`, `sent`, `deferred`, `failed`, with the provider's reply in `detail`) and "
    "tracking (`open`, `click`, with `url` and `classification`). The newest `limit` events "
    "(default 100), oldest first; `event_totals` counts every event by type, and "
    "`next_cursor`, passed back as `cursor` (formerly `before`), gives the events just "
    "older (null when there are none). Another account's message is 404, like a missing "
    "one, and so is a live message to a test key and a test key's message to a live key.",
    response_model=StatusResponse,
    responses=error_responses(
        ErrorCode.VALIDATION_ERROR, ErrorCode.UNAUTHORIZED, ErrorCode.FORBIDDEN, ErrorCode.NOT_FOUND
    ),
)
async def status(
    message_id: str,
    key: MailKey,
    db: Db,
    page: Annotated[PageQuery, Depends(EVENT_PAGES)],
) -> JSONResponse:
    # Test keys see only messages sent with test keys, live keys only live messages: the
    # other mode's message is as absent as another account's.
    wanted = requested_id(message_id)
    if len(wanted) > MAX_MESSAGE_ID_CHARS or not await messages.message_exists(
        db, key.account_id, wanted, sandbox=key.test
    ):
        raise ApiError(ErrorCode.NOT_FOUND, "Message not found", {"message_id": wanted})
    data = await message_status(
        db, key.account_id, message_id, limit=page.limit, before=page.cursor
    )
    return JSONResponse({"success": True, "data": data})
