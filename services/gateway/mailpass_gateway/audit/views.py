"""``GET /api/v1/audit-events`` (``audit`` permission, live keys): the account's audit
log, newest first. There is no route that changes or deletes an entry."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from mailpass_common.audit import query as audit_query
from mailpass_common.audit.query import AuditFilter
from mailpass_common.audit.record import event_view
from mailpass_common.platform.errors import ErrorCode
from mailpass_common.tenants.api_keys import ApiKeyRecord, Permission
from mailpass_gateway.audit.models import AuditEventListResponse, AuditEventPage, AuditQuery
from mailpass_gateway.deps import Db, require
from mailpass_gateway.errors import ApiError
from mailpass_gateway.mail.responses import error_responses

router = APIRouter(prefix="/api/v1/audit-events", tags=["audit"])

# The log is the account's live configuration history: a test key does not read it.
AuditKey = Annotated[
    ApiKeyRecord,
    Depends(
        require(
            Permission.AUDIT,
            refused_to_test_keys="A test API key cannot read the audit log. Use a live key.",
        )
    ),
]


@router.get(
    "",
    response_model=AuditEventListResponse,
    summary="The account's audit log, newest first, filtered, a page at a time",
    description="Every change to the account's providers, domains, keys, webhooks, "
    "templates, suppressions and settings, with who made it (`actor`), from where "
    "(`source`), and the resource before and after (secrets redacted). Filters apply "
    "together; `next_cursor` asks for the next page (null on the last). Entries are kept "
    "for `AUDIT_RETENTION_DAYS` and cannot be changed or deleted.",
    responses=error_responses(
        ErrorCode.VALIDATION_ERROR, ErrorCode.UNAUTHORIZED, ErrorCode.FORBIDDEN
    ),
)
async def list_audit_events(
    query: Annotated[AuditQuery, Query()], key: AuditKey, db: Db
) -> AuditEventListResponse:
    if query.cursor is not None and not audit_query.is_cursor(query.cursor):
        raise ApiError(
            ErrorCode.VALIDATION_ERROR,
            "Invalid request: cursor",
            [{"field": "cursor", "message": "not a cursor returned by this list"}],
        )
    found = AuditFilter(
        actor_id=query.actor_id,
        actor_type=query.actor_type,
        resource_type=query.resource_type,
        resource_id=query.resource_id,
        action=query.action,
        since=query.since,
        until=query.until,
    )
    docs, next_cursor = await audit_query.page(
        db, key.account_id, found, limit=query.limit, cursor=query.cursor
    )
    return AuditEventListResponse(
        data=AuditEventPage.model_validate(
            {"audit_events": [event_view(d) for d in docs], "next_cursor": next_cursor}
        )
    )
