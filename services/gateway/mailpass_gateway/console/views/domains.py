"""Sending domains: the account's domains with their status, one domain's DNS records with
copy buttons and what DNS answered, Verify, Rotate DKIM, removing one.

As in the API (``mailpass_gateway.domains``): viewing needs the ``providers`` permission;
changes need it and a live key's session (domains are live configuration).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from mailpass_common.platform.db import Database, Document
from mailpass_common.platform.errors import ErrorCode
from mailpass_common.tenants.api_keys import Permission
from mailpass_common.tenants.console_auth import ConsoleSession
from mailpass_gateway.console.deps import CheckedForm, Session, require
from mailpass_gateway.console.pages import render
from mailpass_gateway.console.routing import ConsoleRoute
from mailpass_gateway.deps import Db, Settings
from mailpass_gateway.domains import service
from mailpass_gateway.domains.service import (
    Resolver,
    add_domain,
    domain_view,
    list_views,
    owned_domain,
    verify,
)
from mailpass_gateway.errors import ApiError
from mailpass_gateway.providers.service import Cipher

router = APIRouter(prefix="/console/domains", route_class=ConsoleRoute, include_in_schema=False)


def _may_change(session: ConsoleSession) -> bool:
    return session.may(Permission.PROVIDERS) and not session.test


def _require_change(session: ConsoleSession) -> None:
    require(session, Permission.PROVIDERS)
    if session.test:
        raise ApiError(
            ErrorCode.FORBIDDEN,
            "A test key's session can read sending domains but not change them: they are "
            "live configuration. Sign in with a live key.",
        )


async def _owned(db: Database, session: ConsoleSession, domain_id: str) -> Document:
    require(session, Permission.PROVIDERS)
    return await owned_domain(db, session.account_id, domain_id)


async def _list_page(
    request: Request,
    db: Database,
    session: ConsoleSession,
    settings: Settings,
    *,
    error: str | None = None,
    value: str = "",
) -> Response:
    return render(
        request,
        "domains/list.html",
        session=session,
        status=400 if error else 200,
        domains=await list_views(db, session.account_id, settings),
        may_change=_may_change(session),
        error=error,
        value=value,
    )


def _detail(request: Request, session: ConsoleSession, view: dict[str, Any]) -> Response:
    return render(
        request, "domains/detail.html", session=session, view=view, may_change=_may_change(session)
    )


@router.get("")
async def domain_list(request: Request, session: Session, db: Db, settings: Settings) -> Response:
    require(session, Permission.PROVIDERS)
    return await _list_page(request, db, session, settings)


@router.post("")
async def create_domain(
    request: Request,
    session: Session,
    form: CheckedForm,
    db: Db,
    cipher: Cipher,
    settings: Settings,
) -> Response:
    _require_change(session)
    value = str(form.get("domain") or "")[:300]
    try:
        doc = await add_domain(db, cipher, session.account_id, value)
    except ApiError as exc:
        if exc.code is ErrorCode.VALIDATION_ERROR:
            message = exc.details[0]["message"]
        else:
            message = exc.message
        return await _list_page(request, db, session, settings, error=message, value=value)
    return RedirectResponse(f"/console/domains/{doc['_id']}?notice=domain-added", status_code=303)


@router.get("/{domain_id}")
async def domain_page(
    domain_id: str, request: Request, session: Session, db: Db, settings: Settings
) -> Response:
    doc = await _owned(db, session, domain_id)
    return _detail(request, session, await domain_view(db, doc, settings))


@router.post("/{domain_id}/verify")
async def verify_domain(
    domain_id: str,
    request: Request,
    session: Session,
    form: CheckedForm,
    db: Db,
    settings: Settings,
    resolver: Resolver,
) -> Response:
    _require_change(session)
    doc = await _owned(db, session, domain_id)
    view = await verify(db, resolver, doc, settings)
    return _detail(request, session, {**view, "just_checked": True})


@router.post("/{domain_id}/rotate-dkim")
async def rotate_dkim(
    domain_id: str, session: Session, form: CheckedForm, db: Db, cipher: Cipher
) -> Response:
    _require_change(session)
    await service.rotate_dkim(db, cipher, session.account_id, domain_id)
    return RedirectResponse(f"/console/domains/{domain_id}?notice=domain-rotated", status_code=303)


@router.get("/{domain_id}/delete")
async def delete_page(
    domain_id: str, request: Request, session: Session, db: Db, settings: Settings
) -> Response:
    _require_change(session)
    doc = await _owned(db, session, domain_id)
    return render(
        request, "domains/delete.html", session=session, view=await domain_view(db, doc, settings)
    )


@router.post("/{domain_id}/delete")
async def delete_domain(domain_id: str, session: Session, form: CheckedForm, db: Db) -> Response:
    _require_change(session)
    await service.delete_domain(db, session.account_id, domain_id)
    return RedirectResponse("/console/domains?notice=domain-removed", status_code=303)
