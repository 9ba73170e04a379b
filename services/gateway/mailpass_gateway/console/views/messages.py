"""Messages: the filtered list (newest first, a page at a time), a message's page with
its timeline and rendered HTML, and resending a failed message.

The rendered HTML is served apart (``/console/messages/{id}/html``) for a sandboxed
frame: a document of its own origin (the ``sandbox`` directive and attribute) where no
script runs, no form posts, and only the email's own inline styles apply. Remote images
stay blocked unless asked for ("Show remote images"): loading them tells their host the
message was looked at, as a mail client that shows them would.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import ValidationError

from mailpass_common.messages import events
from mailpass_common.messages.models import EventType, MessageDocument, MessageStatus
from mailpass_common.platform.db import Database
from mailpass_common.providers import service as providers
from mailpass_common.tenants.api_keys import Permission
from mailpass_common.tenants.console_auth import ConsoleSession
from mailpass_gateway.console.deps import CheckedForm, Session, require
from mailpass_gateway.console.pages import message_path, render
from mailpass_gateway.console.routing import ConsoleRoute
from mailpass_gateway.deps import Db, Providers, Publisher, Settings
from mailpass_gateway.errors import validation_details
from mailpass_gateway.messages.models import MessageQuery
from mailpass_gateway.messages.service import message_page, resend, visible_message

router = APIRouter(prefix="/console/messages", route_class=ConsoleRoute, include_in_schema=False)

STATUSES = [status.value for status in MessageStatus]
PAGE_SIZE = 50
HTML_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:{images}; font-src data:; "
    "frame-ancestors 'self'; base-uri 'none'; form-action 'none'; sandbox"
)


def _day(value: str, *, end: bool) -> datetime | None:
    """A day of the date filter: its start, or (``end``) the start of the next day."""
    if not value:
        return None
    day = date.fromisoformat(value)
    start = datetime.combine(day, time(0), tzinfo=UTC)
    return start + timedelta(days=1) if end else start


def list_query(params: dict[str, str], *, sandbox: bool, limit: int = PAGE_SIZE) -> MessageQuery:
    """The API's query from the console's filter form (blank fields are no filter)."""
    try:
        after = _day(params.get("from", ""), end=False)
        before = _day(params.get("until", ""), end=True)
    except ValueError as exc:
        raise ValueError("dates are YYYY-MM-DD") from exc
    return MessageQuery.model_validate(
        {
            "status": params.get("status") or None,
            "tag": params.get("tag") or None,
            "to": params.get("to") or None,
            "created_after": after,
            "created_before": before,
            "sandbox": sandbox,
            "limit": limit,
            "cursor": params.get("cursor") or None,
        }
    )


async def filtered_page(
    db: Database, session: ConsoleSession, params: dict[str, str], *, sandbox: bool, limit: int
) -> tuple[list[MessageDocument], str | None, str | None]:
    """The page's messages, the next page's cursor, and what was wrong with the filters."""
    try:
        query = list_query(params, sandbox=sandbox, limit=limit)
    except ValidationError as exc:
        problems = validation_details(exc.errors())
        return [], None, "; ".join(f"{p['field']}: {p['message']}" for p in problems)
    except ValueError as exc:
        return [], None, str(exc)
    page = await message_page(db, session, query)
    return page.messages, (page.next_cursor.encode() if page.next_cursor else None), None


FILTERS = ("status", "tag", "to", "from", "until")


@router.get("")
async def message_list(request: Request, session: Session, db: Db) -> Response:
    params = {name: request.query_params.get(name, "").strip() for name in (*FILTERS, "cursor")}
    docs, next_cursor, problem = await filtered_page(
        db, session, params, sandbox=session.test, limit=PAGE_SIZE
    )
    filters = {name: params[name] for name in FILTERS if params[name]}
    return render(
        request,
        "messages/list.html",
        session=session,
        messages=docs,
        filters=filters,
        statuses=STATUSES,
        next_cursor=next_cursor,
        paged=bool(params["cursor"]),
        problem=problem,
        live=not params["cursor"],
    )


def next_retry(doc: MessageDocument, history: list[dict[str, Any]]) -> datetime | None:
    """When a deferred message is tried again: its last deferral's time plus that
    deferral's delay (the time the message was updated then, as the sender wrote both)."""
    if doc["status"] != MessageStatus.DEFERRED.value:
        return None
    deferrals = [e for e in history if e.get("event_type") == EventType.DEFERRED.value]
    updated = doc.get("updated_at")
    if not deferrals or not isinstance(updated, datetime):
        return None
    delay = float(deferrals[-1].get("retry_in_seconds") or 0)
    updated = updated if updated.tzinfo else updated.replace(tzinfo=UTC)
    return updated + timedelta(seconds=delay)


@router.get("/{message_id}")
async def message_detail(message_id: str, request: Request, session: Session, db: Db) -> Response:
    doc = await visible_message(db, session, message_id)
    history = await events.timeline(db, doc)
    names = {p["_id"]: p["name"] for p in await providers.list_providers(db, session.account_id)}
    final = doc["status"] in (
        MessageStatus.SENT.value,
        MessageStatus.FAILED.value,
        MessageStatus.CANCELLED.value,
    )
    return render(
        request,
        "messages/detail.html",
        session=session,
        message=doc,
        history=history,
        next_retry=next_retry(doc, history),
        provider_names=names,
        may_resend=session.may(Permission.MAIL)
        and doc["status"] == MessageStatus.FAILED.value
        and not doc.get("resent_as"),
        live=not final,
        images=request.query_params.get("images") == "1",
    )


@router.get("/{message_id}/html")
async def message_html(
    message_id: str,
    session: Session,
    db: Db,
    images: Annotated[bool, Query()] = False,
) -> Response:
    doc = await visible_message(db, session, message_id)
    html = doc.get("html") or "<p>This message has no HTML part.</p>"
    return HTMLResponse(
        html,
        headers={
            "Content-Security-Policy": HTML_CSP.format(images=" https: http:" if images else ""),
            "X-Frame-Options": "SAMEORIGIN",
            "Referrer-Policy": "no-referrer",
        },
    )


@router.post("/{message_id}/resend")
async def resend_message(
    message_id: str,
    session: Session,
    form: CheckedForm,
    db: Db,
    cache: Providers,
    publisher: Publisher,
    settings: Settings,
) -> Response:
    require(session, Permission.MAIL)
    doc, _ = await resend(
        db,
        session,
        message_id,
        providers=cache,
        publisher=publisher,
        domain=settings.message_id_domain,
    )
    return RedirectResponse(message_path(doc["_id"]), status_code=303)
