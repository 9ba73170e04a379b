"""Suppressions: the addresses the account no longer sends to, why and since when (the
provider's reply as it gave it), a search by address prefix, adding one, removing one.

As in the API: viewing needs the ``mail`` permission; adding and removing need ``mail``
and a live key's session (the list applies to live mail too).
"""

from __future__ import annotations

import urllib.parse

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse
from pydantic import ValidationError

from mailpass_common.platform.errors import ErrorCode
from mailpass_common.tenants.api_keys import Permission
from mailpass_common.tenants.console_auth import ConsoleSession
from mailpass_gateway.console.deps import CheckedForm, Session, require
from mailpass_gateway.console.pages import render
from mailpass_gateway.console.routing import ConsoleRoute
from mailpass_gateway.deps import Db
from mailpass_gateway.errors import ApiError, validation_details
from mailpass_gateway.suppressions import service
from mailpass_gateway.suppressions.models import SuppressionCreate

router = APIRouter(
    prefix="/console/suppressions", route_class=ConsoleRoute, include_in_schema=False
)
PAGE = 50


def _may_change(session: ConsoleSession) -> bool:
    return session.may(Permission.MAIL) and not session.test


def _require_change(session: ConsoleSession) -> None:
    require(session, Permission.MAIL)
    if session.test:
        raise ApiError(
            ErrorCode.FORBIDDEN,
            "A test key's session can read the suppression list but not change it: it "
            "applies to live mail too",
        )


async def _page(
    request: Request,
    session: ConsoleSession,
    db: Db,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    prefix = request.query_params.get("q", "")[:320]
    after = request.query_params.get("after") or None
    found, cursor = await service.list_page(
        db, session.account_id, limit=PAGE, prefix=prefix, after=after
    )
    more = f"?{urllib.parse.urlencode({'q': prefix, 'after': cursor})}" if cursor else None
    return render(
        request,
        "suppressions/list.html",
        session=session,
        status=400 if errors else 200,
        entries=found,
        prefix=prefix,
        more=more,
        may_change=_may_change(session),
        errors=errors or {},
        values=values or {},
    )


@router.get("")
async def suppression_list(request: Request, session: Session, db: Db) -> Response:
    require(session, Permission.MAIL)
    return await _page(request, session, db)


@router.post("")
async def add_suppression(
    request: Request, session: Session, form: CheckedForm, db: Db
) -> Response:
    _require_change(session)
    values = {"address": str(form.get("address") or ""), "note": str(form.get("note") or "")}
    try:
        body = SuppressionCreate.model_validate(values)
    except ValidationError as exc:
        errors = {d["field"]: d["message"] for d in validation_details(exc.errors())}
        return await _page(request, session, db, errors=errors, values=values)
    await service.add_suppression(db, session.account_id, body, source="console")
    return RedirectResponse("/console/suppressions?notice=suppression-added", status_code=303)


@router.post("/remove")
async def remove_suppression(session: Session, form: CheckedForm, db: Db) -> Response:
    _require_change(session)
    # Idempotent here: an address already gone leaves the list as the form wanted it.
    await service.remove_suppression(db, session.account_id, str(form.get("address") or ""))
    return RedirectResponse("/console/suppressions?notice=suppression-removed", status_code=303)
