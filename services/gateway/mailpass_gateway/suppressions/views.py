"""Routes of the suppression list: ``/api/v1/suppressions`` (list, add, remove).

Permission: ``mail``. The list decides where the account's mail may go, so it belongs
with sending rather than with administration. Test keys may read it (their sends are
refused by it too) but not change it: it is the account's live configuration, shared by
both modes.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse

from mailpass_common.platform.db import Document
from mailpass_common.platform.errors import ErrorCode
from mailpass_common.suppressions import service as suppressions
from mailpass_common.tenants.api_keys import ApiKeyRecord, Permission
from mailpass_gateway.bodies import after_key, model_schema, openapi_json_body
from mailpass_gateway.deps import Db, MailKey, require
from mailpass_gateway.mail.responses import error_responses
from mailpass_gateway.pagination import PageQuery, page_query
from mailpass_gateway.suppressions import service
from mailpass_gateway.suppressions.models import (
    RemovedResponse,
    SuppressionCreate,
    SuppressionListResponse,
    SuppressionResponse,
    SuppressionView,
)

router = APIRouter(
    prefix="/api/v1/suppressions",
    tags=["suppressions"],
    responses=error_responses(
        ErrorCode.VALIDATION_ERROR, ErrorCode.UNAUTHORIZED, ErrorCode.FORBIDDEN
    ),
)

LiveMailKey = Annotated[
    ApiKeyRecord,
    Depends(
        require(
            Permission.MAIL,
            refused_to_test_keys="A test API key can read the suppression list but not "
            "change it: it applies to live mail too. Use a live key.",
        )
    ),
]
CreateBody = Annotated[SuppressionCreate, Depends(after_key(SuppressionCreate))]
PAGES = page_query(default=100, maximum=suppressions.MAX_PAGE, former="after")


def view(doc: Document) -> SuppressionView:
    return SuppressionView.model_validate(
        {**doc, "detail": doc.get("detail") or "", "message_id": doc.get("message_id")}
    )


@router.get(
    "",
    response_model=SuppressionListResponse,
    summary="The account's suppressed addresses, in address order, a page at a time",
)
async def list_suppressions(
    key: MailKey,
    db: Db,
    page: Annotated[PageQuery, Depends(PAGES)],
    prefix: Annotated[
        str, Query(max_length=320, description="Only addresses starting with this")
    ] = "",
) -> JSONResponse:
    found, cursor = await service.list_page(
        db, key.account_id, limit=page.limit, prefix=prefix, after=page.cursor
    )
    data = {
        "suppressions": [view(doc).model_dump(mode="json") for doc in found],
        "next_cursor": cursor,
    }
    return JSONResponse({"success": True, "data": data})


@router.post(
    "",
    status_code=201,
    response_model=SuppressionResponse,
    summary="Suppress an address: sends to it are refused from now on",
    description="201 with the new entry; 200 with the existing one when the address is "
    "listed already (its first reason is kept).",
    responses={
        200: {"model": SuppressionResponse, "description": "Listed already: the existing entry"}
    },
    openapi_extra=openapi_json_body(model_schema(SuppressionCreate)),
)
async def add_suppression(key: LiveMailKey, body: CreateBody, db: Db) -> JSONResponse:
    doc, added = await service.add_suppression(db, key.account_id, body, source="api")
    return JSONResponse(
        {"success": True, "data": view(doc).model_dump(mode="json")},
        status_code=201 if added else 200,
    )


@router.delete(
    "/{address}",
    response_model=RemovedResponse,
    summary="Remove an address from the list: it may be sent to again",
    responses=error_responses(ErrorCode.NOT_FOUND),
)
async def remove_suppression(address: str, key: LiveMailKey, db: Db) -> RemovedResponse:
    if not await service.remove_suppression(db, key.account_id, address):
        raise service.not_listed(address)
    return RemovedResponse.model_validate({"data": {"address": suppressions.normalized(address)}})
