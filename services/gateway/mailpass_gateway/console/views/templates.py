"""Templates: the account's list, a template's editor with a live preview, sample
variables and its version history, "Send test" to the sandbox inbox, deleting one.

The preview is rendered by the same code as a send (:mod:`mailpass_gateway.templates`)
and served apart, like a message's HTML (``views.messages``): the editor's form posts
the draft to ``/console/templates/preview`` into a sandboxed frame (a button's
``formaction``/``formtarget``; ``console.js`` posts it again as one types), and the
answer carries the message frame's policy, where nothing runs. Viewing needs only the
``console`` permission, changes need ``templates``, a test send needs ``mail``; the test
always goes to the sandbox inbox, whatever the session's mode.
"""

from __future__ import annotations

import json
from html import escape
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from mailpass_common.platform.db import Database, Document
from mailpass_common.platform.errors import ErrorCode
from mailpass_common.templates import store
from mailpass_common.templates.rendering import RenderBudget, TemplateProblem, compile_template
from mailpass_common.tenants.api_keys import ApiKeyRecord, Permission
from mailpass_common.tenants.console_auth import ConsoleSession
from mailpass_gateway.console.deps import CheckedForm, Session, require
from mailpass_gateway.console.forms import Form
from mailpass_gateway.console.pages import render
from mailpass_gateway.console.routing import ConsoleRoute
from mailpass_gateway.console.views.messages import HTML_CSP
from mailpass_gateway.deps import Db, Providers, Publisher, Settings, Waiter
from mailpass_gateway.errors import ApiError
from mailpass_gateway.mail.files import AttachmentPolicy
from mailpass_gateway.mail.service import MessageIds, send_now
from mailpass_gateway.templates import service
from mailpass_gateway.templates.sending import render_send, templated
from mailpass_gateway.templates.service import (
    UNSUBSCRIBE_URL,
    Content,
    summary,
    unsubscribe_links,
    view,
)

router = APIRouter(prefix="/console/templates", route_class=ConsoleRoute, include_in_schema=False)
PAGE = "/console/templates"
PREVIEW_HEADERS = {"X-Frame-Options": "SAMEORIGIN", "Referrer-Policy": "no-referrer"}


def _draft(form: Form) -> dict[str, Any]:
    return {
        "name": form.get("name").strip(),
        "alias": form.get("alias").strip() or None,
        "subject": form.get("subject"),
        "html": form.get("html") or None,
        "text": form.get("text") or None,
    }


def _sample(doc: Document | None, given: str | None = None) -> str:
    if given is not None:
        return given
    names = list((doc or {}).get("variables") or [])
    return json.dumps({name: name for name in names}, indent=2)


def _variables(raw: str) -> dict[str, Any]:
    try:
        value = json.loads(raw or "{}")
    except ValueError as exc:
        raise ValueError(f"sample variables are not JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise ValueError("sample variables are a JSON object")
    return value


def _problems(exc: ApiError) -> dict[str, str]:
    details = exc.details if isinstance(exc.details, list) else []
    return {str(d.get("field")): str(d.get("message")) for d in details} or {"": exc.message}


async def _owned(db: Database, session: ConsoleSession, template_id: str) -> Document:
    return await service.owned_template(db, session.account_id, template_id)


def _content(draft: dict[str, Any]) -> Content:
    return Content(draft["subject"] or "", draft["html"], draft["text"])


async def _list_page(
    request: Request,
    db: Database,
    session: ConsoleSession,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
) -> Response:
    docs, _ = await store.page(db, session.account_id, limit=store.MAX_PAGE)
    return render(
        request,
        "templates/list.html",
        session=session,
        status=400 if errors else 200,
        templates=[summary(d) for d in docs],
        may_change=session.may(Permission.TEMPLATES),
        errors=errors or {},
        values=values or {"html": "<p>Hi {{ name }}</p>"},
    )


def _edit_page(
    request: Request,
    session: ConsoleSession,
    doc: Document,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    sample: str | None = None,
) -> Response:
    shown = view(doc)
    wanted = request.query_params.get("version", "")
    version = next((v for v in shown.versions if str(v.version) == wanted), None)
    current = values or {
        "name": shown.name,
        "alias": shown.alias,
        **(version or shown).model_dump(include={"subject", "html", "text"}),
    }
    return render(
        request,
        "templates/edit.html",
        session=session,
        status=400 if errors else 200,
        item=shown,
        values=current,
        sample=_sample(doc, sample),
        showing=version.version if version else shown.version,
        may_change=session.may(Permission.TEMPLATES),
        may_send=session.may(Permission.MAIL),
        errors=errors or {},
    )


@router.get("")
async def template_list(request: Request, session: Session, db: Db) -> Response:
    return await _list_page(request, db, session)


@router.post("")
async def create_template(
    request: Request, session: Session, form: CheckedForm, db: Db
) -> Response:
    require(session, Permission.TEMPLATES)
    draft = _draft(form)
    if not draft["name"]:
        return await _list_page(request, db, session, errors={"name": "required"}, values=draft)
    try:
        doc = await service.create_template(
            db,
            session.account_id,
            name=draft["name"],
            alias=draft["alias"],
            content=_content(draft),
        )
    except ApiError as exc:
        return await _list_page(request, db, session, errors=_problems(exc), values=draft)
    return RedirectResponse(f"{PAGE}/{doc['_id']}", status_code=303)


@router.post("/preview")
async def preview(session: Session, form: CheckedForm) -> Response:
    """The draft rendered with the sample variables, for the sandboxed frame."""
    draft = _draft(form)
    try:
        compiled = compile_template(draft["subject"] or " ", draft["html"], draft["text"])
        variables = {**_variables(form.get("variables")), UNSUBSCRIBE_URL: "#unsubscribe"}
        rendered = compiled.render(variables, RenderBudget())
    except (TemplateProblem, ValueError) as exc:
        body = f"<p><strong>Not rendered:</strong> {escape(str(exc))}</p>"
    else:
        body = rendered.html or f"<pre>{escape(rendered.text or '')}</pre>"
    headers = {**PREVIEW_HEADERS, "Content-Security-Policy": HTML_CSP.format(images="")}
    return HTMLResponse(body, headers=headers)


@router.get("/{template_id}")
async def template_page(template_id: str, request: Request, session: Session, db: Db) -> Response:
    return _edit_page(request, session, await _owned(db, session, template_id))


@router.post("/{template_id}")
async def save_template(
    template_id: str, request: Request, session: Session, form: CheckedForm, db: Db
) -> Response:
    require(session, Permission.TEMPLATES)
    doc = await _owned(db, session, template_id)
    draft = _draft(form)
    sample = form.get("variables")
    try:
        await service.update_template(
            db,
            session.account_id,
            doc["_id"],
            name=draft["name"] or None,
            alias=draft["alias"],
            content=_content(draft),
        )
    except ApiError as exc:
        if exc.code is not ErrorCode.VALIDATION_ERROR:
            raise
        return _edit_page(request, session, doc, errors=_problems(exc), values=draft, sample=sample)
    return RedirectResponse(f"{PAGE}/{doc['_id']}?notice=template-saved", status_code=303)


@router.post("/{template_id}/test")
async def send_test(
    template_id: str,
    request: Request,
    session: Session,
    form: CheckedForm,
    db: Db,
    providers: Providers,
    publisher: Publisher,
    waiter: Waiter,
    settings: Settings,
) -> Response:
    """Send the saved version with the sample variables to the sandbox inbox."""
    require(session, Permission.MAIL)
    doc = await _owned(db, session, template_id)
    sample = form.get("variables")
    try:
        variables = _variables(sample)
    except ValueError as exc:
        return _edit_page(request, session, doc, errors={"variables": str(exc)}, sample=sample)
    entry = templated(
        {"to": form.get("to").strip(), "template_id": doc["_id"], "variables": variables}
    )
    assert entry is not None
    ids = MessageIds(settings.message_id_domain)
    sandbox_key = ApiKeyRecord("console", session.account_id, session.permissions, test=True)
    try:
        message, template = await render_send(
            db, session.account_id, entry, message_id=ids.of(0), links=unsubscribe_links(settings)
        )
        await send_now(
            db,
            message,
            key=sandbox_key,
            providers=providers,
            publisher=publisher,
            waiter=waiter,
            ids=ids,
            timeout=settings.send_timeout_seconds,
            policy=AttachmentPolicy.of(settings),
            grouped=request.app.state.grouped,
            template=template,
        )
    except ApiError as exc:
        if exc.code not in (ErrorCode.VALIDATION_ERROR, ErrorCode.NO_SMTP_PROVIDER):
            raise
        return _edit_page(request, session, doc, errors=_problems(exc), sample=sample)
    return RedirectResponse(f"/console/sandbox?id={quote(ids.of(0), safe='')}", status_code=303)


@router.post("/{template_id}/delete")
async def delete_template(
    template_id: str, session: Session, form: CheckedForm, db: Db
) -> Response:
    require(session, Permission.TEMPLATES)
    await service.delete_template(db, session.account_id, template_id)
    return RedirectResponse(f"{PAGE}?notice=template-deleted", status_code=303)
