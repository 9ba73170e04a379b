"""The sandbox inbox: messages sent with test keys, newest first, each shown rendered
(as a local capture inbox such as Mailpit shows them)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from mailpass_gateway.console.deps import Session
from mailpass_gateway.console.pages import render
from mailpass_gateway.console.routing import ConsoleRoute
from mailpass_gateway.console.views.messages import FILTERS, filtered_page
from mailpass_gateway.deps import Db
from mailpass_gateway.messages.service import visible_message

router = APIRouter(prefix="/console/sandbox", route_class=ConsoleRoute, include_in_schema=False)

PAGE_SIZE = 25


@router.get("")
async def sandbox_inbox(request: Request, session: Session, db: Db) -> Response:
    params = {name: request.query_params.get(name, "").strip() for name in (*FILTERS, "cursor")}
    docs, next_cursor, problem = await filtered_page(
        db, session, params, sandbox=True, limit=PAGE_SIZE
    )
    chosen = request.query_params.get("id", "")
    selected = None
    if chosen:
        selected = await visible_message(db, session, chosen)
        if not selected.get("sandbox"):
            selected = None
    elif docs:
        selected = await visible_message(db, session, docs[0]["_id"])
    return render(
        request,
        "sandbox.html",
        session=session,
        messages=docs,
        selected=selected,
        next_cursor=next_cursor,
        problem=problem,
        live=not params["cursor"],
    )
