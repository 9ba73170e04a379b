"""Webhooks: the account's endpoints, one added with its secret shown once, an endpoint's
recent attempts with a replay button, deleting one.

The API's rules hold here too (``mailpass_gateway.webhooks``): viewing needs only the
``console`` permission, changes need ``webhooks``; a test key's session sees and changes
sandbox endpoints only; URLs pass the same checks.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse
from pydantic import ValidationError

from mailpass_common.platform.db import Database, Document
from mailpass_common.platform.errors import ErrorCode
from mailpass_common.tenants.api_keys import Permission
from mailpass_common.tenants.console_auth import ConsoleSession
from mailpass_common.webhooks import attempts, endpoints
from mailpass_common.webhooks.endpoints import WebhookEventType
from mailpass_gateway.console.deps import CheckedForm, Session, require
from mailpass_gateway.console.pages import render
from mailpass_gateway.console.routing import ConsoleRoute
from mailpass_gateway.deps import Db, Settings
from mailpass_gateway.errors import ApiError, validation_details
from mailpass_gateway.providers.service import Cipher
from mailpass_gateway.webhooks import service
from mailpass_gateway.webhooks.models import WebhookCreate
from mailpass_gateway.webhooks.service import endpoint_view

router = APIRouter(prefix="/console/webhooks", route_class=ConsoleRoute, include_in_schema=False)
RECENT_ATTEMPTS = 20


async def _list_page(
    request: Request,
    db: Database,
    session: ConsoleSession,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
) -> Response:
    docs = await endpoints.list_endpoints(db, session.account_id, sandbox=session.test)
    return render(
        request,
        "webhooks/list.html",
        session=session,
        status=400 if errors else 200,
        endpoints=[endpoint_view(d) for d in docs],
        event_types=[e.value for e in WebhookEventType],
        may_change=session.may(Permission.WEBHOOKS),
        errors=errors or {},
        values=values or {"events": ["sent", "failed"]},
    )


async def _owned(db: Database, session: ConsoleSession, endpoint_id: str) -> Document:
    return await service.owned_endpoint(db, session.account_id, endpoint_id, sandbox=session.test)


@router.get("")
async def webhook_list(request: Request, session: Session, db: Db) -> Response:
    return await _list_page(request, db, session)


@router.post("")
async def create_webhook(
    request: Request,
    session: Session,
    form: CheckedForm,
    db: Db,
    cipher: Cipher,
    settings: Settings,
) -> Response:
    require(session, Permission.WEBHOOKS)
    values = {"url": (form.get("url") or "").strip(), "events": form.getlist("events")}
    try:
        body = WebhookCreate.model_validate(values)
    except ValidationError as exc:
        errors = {d["field"].split(".")[0]: d["message"] for d in validation_details(exc.errors())}
        return await _list_page(request, db, session, errors=errors, values=values)
    try:
        doc, secret = await service.create_endpoint(
            db, cipher, settings, session.account_id, body, sandbox=session.test
        )
    except ApiError as exc:
        if exc.code not in (ErrorCode.VALIDATION_ERROR, ErrorCode.WEBHOOK_ENDPOINT_LIMIT):
            raise
        problem = exc.details[0]["message"] if isinstance(exc.details, list) else exc.message
        return await _list_page(request, db, session, errors={"url": problem}, values=values)
    return render(
        request,
        "webhooks/created.html",
        session=session,
        status=201,
        secret=secret,
        view=endpoint_view(doc),
    )


@router.get("/{endpoint_id}")
async def webhook_page(endpoint_id: str, request: Request, session: Session, db: Db) -> Response:
    doc = await _owned(db, session, endpoint_id)
    page = await attempts.page(
        db, session.account_id, endpoint_id, limit=RECENT_ATTEMPTS, before=None
    )
    return render(
        request,
        "webhooks/detail.html",
        session=session,
        view=endpoint_view(doc),
        attempts=[attempts.attempt_view(a) for a in page.attempts],
        may_change=session.may(Permission.WEBHOOKS),
    )


@router.post("/{endpoint_id}/attempts/{attempt_id}/replay")
async def replay_attempt(
    endpoint_id: str, attempt_id: str, session: Session, form: CheckedForm, db: Db
) -> Response:
    require(session, Permission.WEBHOOKS)
    doc = await _owned(db, session, endpoint_id)
    await service.replay(db, session.account_id, doc, attempt_id)
    return RedirectResponse(
        f"/console/webhooks/{endpoint_id}?notice=webhook-replayed", status_code=303
    )


@router.get("/{endpoint_id}/delete")
async def delete_page(endpoint_id: str, request: Request, session: Session, db: Db) -> Response:
    require(session, Permission.WEBHOOKS)
    doc = await _owned(db, session, endpoint_id)
    return render(request, "webhooks/delete.html", session=session, view=endpoint_view(doc))


@router.post("/{endpoint_id}/delete")
async def delete_webhook(endpoint_id: str, session: Session, form: CheckedForm, db: Db) -> Response:
    require(session, Permission.WEBHOOKS)
    await service.delete_endpoint(db, session.account_id, endpoint_id, sandbox=session.test)
    return RedirectResponse("/console/webhooks?notice=webhook-deleted", status_code=303)
