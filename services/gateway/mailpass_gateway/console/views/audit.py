"""The audit log, read-only: who changed what, from where, newest first, with filters
(actor, kind of resource, resource, action, time range) and pages, as
``GET /api/v1/audit-events``. Reading it needs the ``audit`` permission and a live session.

The time range is "since" (inclusive) and "until" (exclusive), each a day
(``YYYY-MM-DD``, its midnight) or a minute (``YYYY-MM-DDTHH:MM``), in UTC."""

from __future__ import annotations

import json
import urllib.parse
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request, Response

from mailpass_common.audit import query as audit_query
from mailpass_common.audit.query import AuditFilter
from mailpass_common.platform.errors import ErrorCode
from mailpass_common.tenants.api_keys import Permission
from mailpass_gateway.console.deps import Session, require
from mailpass_gateway.console.pages import render
from mailpass_gateway.console.routing import ConsoleRoute
from mailpass_gateway.deps import Db
from mailpass_gateway.errors import ApiError

router = APIRouter(prefix="/console/audit", route_class=ConsoleRoute, include_in_schema=False)
PAGE = 50
FILTERS = ("actor_id", "resource_type", "resource_id", "action")
TIMES = ("since", "until")


def _moment(value: str) -> datetime | None:
    """A bound of the time range (blank: none), read as UTC; ValueError if not a date."""
    if not value:
        return None
    moment = datetime.fromisoformat(value)
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def _state(value: Any) -> str:
    return "—" if value is None else json.dumps(value, indent=1, sort_keys=True, default=str)


@router.get("")
async def audit_log(request: Request, session: Session, db: Db) -> Response:
    require(session, Permission.AUDIT)
    if session.test:
        raise ApiError(ErrorCode.FORBIDDEN, "A test key's session cannot read the audit log")
    chosen = {name: request.query_params.get(name, "").strip()[:300] for name in (*FILTERS, *TIMES)}
    problem = None
    try:
        since, until = _moment(chosen["since"]), _moment(chosen["until"])
    except ValueError:
        problem = "times are YYYY-MM-DD or YYYY-MM-DDTHH:MM (UTC)"
        since = until = None
    cursor = request.query_params.get("cursor") or None
    if cursor is not None and not audit_query.is_cursor(cursor):
        cursor = None
    found, next_cursor = await audit_query.page(
        db,
        session.account_id,
        AuditFilter(
            actor_id=chosen["actor_id"] or None,
            resource_type=chosen["resource_type"] or None,
            resource_id=chosen["resource_id"] or None,
            action=chosen["action"] or None,
            since=since,
            until=until,
        ),
        limit=PAGE,
        cursor=cursor,
    )
    kept = {name: value for name, value in chosen.items() if value}
    more = f"?{urllib.parse.urlencode({**kept, 'cursor': next_cursor})}" if next_cursor else None
    entries = [
        {**doc, "before_text": _state(doc.get("before")), "after_text": _state(doc.get("after"))}
        for doc in found
    ]
    return render(
        request,
        "audit/list.html",
        session=session,
        entries=entries,
        chosen=chosen,
        filtered=bool(kept),
        more=more,
        problem=problem,
    )
