"""Routes of the webhooks API (``webhooks`` permission).

Endpoints belong to an account and a kind: a test key sees, changes and replays only
sandbox endpoints, which receive only the events of test messages (``mailpass_common.
webhooks.endpoints``). The secret is shown when an endpoint is made and when it is
rotated, never again.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Response

from mailpass_common.platform.db import Database, Document
from mailpass_common.platform.errors import ErrorCode
from mailpass_common.tenants.api_keys import ApiKeyRecord
from mailpass_common.webhooks import attempts, endpoints
from mailpass_gateway.bodies import after_key, model_schema, openapi_json_body
from mailpass_gateway.deps import Db, Settings, WebhooksKey
from mailpass_gateway.errors import ApiError
from mailpass_gateway.mail.responses import error_responses, resource_router
from mailpass_gateway.pagination import Page, created_then_id, cut_page
from mailpass_gateway.providers.service import Cipher
from mailpass_gateway.webhooks import service
from mailpass_gateway.webhooks.models import (
    AttemptListResponse,
    AttemptPage,
    AttemptView,
    CreatedWebhook,
    CreatedWebhookResponse,
    Replayed,
    ReplayResponse,
    WebhookCreate,
    WebhookListResponse,
    WebhookPage,
    WebhookResponse,
    WebhookUpdate,
    WebhookView,
)
from mailpass_gateway.webhooks.service import endpoint_view

router = resource_router("/api/v1/webhooks", "webhooks")

CreateBody = Annotated[WebhookCreate, Depends(after_key(WebhookCreate))]
UpdateBody = Annotated[WebhookUpdate, Depends(after_key(WebhookUpdate))]
DAY = 86400


async def _owned(db: Database, key: ApiKeyRecord, endpoint_id: str) -> Document:
    return await service.owned_endpoint(db, key.account_id, endpoint_id, sandbox=key.test)


@router.get("", response_model=WebhookListResponse, summary="List the account's endpoints")
async def list_webhooks(key: WebhooksKey, db: Db, page: Page) -> WebhookListResponse:
    docs = await endpoints.list_endpoints(db, key.account_id, sandbox=key.test)
    shown, next_cursor = cut_page(docs, page, created_then_id("_id"))
    views = [WebhookView(**endpoint_view(d)) for d in shown]
    return WebhookListResponse(data=WebhookPage(webhooks=views, next_cursor=next_cursor))


@router.post(
    "",
    status_code=201,
    response_model=CreatedWebhookResponse,
    summary="Add an endpoint; its whsec_ secret is in this response only",
    responses=error_responses(ErrorCode.WEBHOOK_ENDPOINT_LIMIT),
    openapi_extra=openapi_json_body(model_schema(WebhookCreate)),
)
async def create_webhook(
    key: WebhooksKey, body: CreateBody, db: Db, cipher: Cipher, settings: Settings
) -> CreatedWebhookResponse:
    doc, secret = await service.create_endpoint(
        db, cipher, settings, key.account_id, body, sandbox=key.test
    )
    return CreatedWebhookResponse(data=CreatedWebhook(**endpoint_view(doc), secret=secret))


@router.get("/{endpoint_id}", response_model=WebhookResponse, summary="One endpoint")
async def get_webhook(endpoint_id: str, key: WebhooksKey, db: Db) -> WebhookResponse:
    return WebhookResponse(data=WebhookView(**endpoint_view(await _owned(db, key, endpoint_id))))


@router.patch(
    "/{endpoint_id}",
    response_model=WebhookResponse,
    summary="Change an endpoint's url, events, or enable/disable it",
    openapi_extra=openapi_json_body(model_schema(WebhookUpdate)),
)
async def update_webhook(
    endpoint_id: str, key: WebhooksKey, body: UpdateBody, db: Db, settings: Settings
) -> WebhookResponse:
    doc = await service.update_endpoint(
        db, settings, key.account_id, endpoint_id, body, sandbox=key.test
    )
    return WebhookResponse(data=WebhookView(**endpoint_view(doc)))


@router.delete(
    "/{endpoint_id}",
    status_code=204,
    response_class=Response,
    summary="Delete an endpoint: nothing more is sent to it",
)
async def delete_webhook(endpoint_id: str, key: WebhooksKey, db: Db) -> Response:
    await service.delete_endpoint(db, key.account_id, endpoint_id, sandbox=key.test)
    return Response(status_code=204)


@router.post(
    "/{endpoint_id}/rotate-secret",
    response_model=CreatedWebhookResponse,
    summary="A new secret, shown once; the old one keeps signing during the overlap",
)
async def rotate_secret(
    endpoint_id: str,
    key: WebhooksKey,
    db: Db,
    cipher: Cipher,
    overlap_seconds: Annotated[
        int,
        Query(
            ge=0,
            le=7 * DAY,
            description="How long the old secret stays valid beside the new (default 24 h)",
        ),
    ] = DAY,
) -> CreatedWebhookResponse:
    doc, secret = await service.rotate_secret(
        db, cipher, key.account_id, endpoint_id, sandbox=key.test, overlap_seconds=overlap_seconds
    )
    return CreatedWebhookResponse(data=CreatedWebhook(**endpoint_view(doc), secret=secret))


@router.get(
    "/{endpoint_id}/attempts",
    response_model=AttemptListResponse,
    summary="The endpoint's delivery attempts, newest first, a page at a time",
)
async def list_attempts(
    endpoint_id: str,
    key: WebhooksKey,
    db: Db,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=64)] = None,
) -> AttemptListResponse:
    await _owned(db, key, endpoint_id)
    before = None
    if cursor is not None:
        before = attempts.parse_id(cursor)
        if before is None:
            raise ApiError(
                ErrorCode.VALIDATION_ERROR,
                "Invalid request: cursor",
                [{"field": "cursor", "message": "not a cursor returned by this endpoint"}],
            )
    found = await attempts.page(db, key.account_id, endpoint_id, limit=limit, before=before)
    views = [AttemptView(**attempts.attempt_view(doc)) for doc in found.attempts]
    return AttemptListResponse(data=AttemptPage(attempts=views, next_cursor=found.next_cursor))


@router.post(
    "/{endpoint_id}/attempts/{attempt_id}/replay",
    status_code=202,
    response_model=ReplayResponse,
    summary="Send an attempt's event to the endpoint again (same webhook-id)",
    responses=error_responses(ErrorCode.WEBHOOK_DISABLED),
)
async def replay_attempt(
    endpoint_id: str, attempt_id: str, key: WebhooksKey, db: Db
) -> ReplayResponse:
    endpoint = await _owned(db, key, endpoint_id)
    doc = await service.replay(db, key.account_id, endpoint, attempt_id)
    return ReplayResponse(
        data=Replayed(event_id=doc["_id"], webhook_id=doc["webhook_id"], endpoint_id=endpoint_id)
    )
