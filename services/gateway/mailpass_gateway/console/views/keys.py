"""API Keys: create a live or test key with permissions (shown once, with a copy
button), list the account's keys, revoke one.

The API's rules hold here too: a session grants only the permissions it has, and a test
key's session sees, creates and revokes test keys only. Viewing needs only the
``console`` permission; creating and revoking need ``keys``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse
from pydantic import ValidationError

from mailpass_common.platform.db import Database
from mailpass_common.tenants import api_keys
from mailpass_common.tenants.api_keys import Permission
from mailpass_common.tenants.console_auth import ConsoleSession
from mailpass_gateway.console.deps import CheckedForm, Session, require
from mailpass_gateway.console.pages import render
from mailpass_gateway.console.routing import ConsoleRoute
from mailpass_gateway.deps import Db, KeyCache
from mailpass_gateway.errors import validation_details
from mailpass_gateway.keys import service
from mailpass_gateway.keys.models import KeyCreate

router = APIRouter(prefix="/console/keys", route_class=ConsoleRoute, include_in_schema=False)

PERMISSION_HELP = {
    Permission.MAIL: "send, and read the account's messages and stats",
    Permission.PROVIDERS: "add, change and delete providers",
    Permission.KEYS: "create and revoke API keys",
    Permission.CONSOLE: "sign in to this console",
    Permission.WEBHOOKS: "add, change and delete webhook endpoints; replay deliveries",
    Permission.TEMPLATES: "create, change and delete templates",
    Permission.AUDIT: "read the audit log",
    Permission.MEMBERS: "invite people to the console, change their roles, remove them",
}


async def _visible_keys(db: Database, session: ConsoleSession) -> list[dict[str, Any]]:
    docs = await service.visible_keys(db, _creator(session))
    views = [api_keys.api_key_view(doc) for doc in docs]
    # Newest first; revoked keys after the working ones.
    views.sort(key=lambda v: v["created_at"], reverse=True)
    return sorted(views, key=lambda v: v["revoked"])


def _page(
    request: Request,
    session: ConsoleSession,
    keys: list[dict[str, Any]],
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
) -> Response:
    return render(
        request,
        "keys/list.html",
        session=session,
        status=400 if errors else 200,
        keys=keys,
        grantable=[(p, PERMISSION_HELP[p]) for p in Permission if session.may(p)],
        may_change=session.may(Permission.KEYS),
        errors=errors or {},
        values=values or {"test": session.test, "permissions": [Permission.MAIL.value]},
    )


@router.get("")
async def key_list(request: Request, session: Session, db: Db) -> Response:
    return _page(request, session, await _visible_keys(db, session))


@router.post("")
async def create_key(request: Request, session: Session, form: CheckedForm, db: Db) -> Response:
    require(session, Permission.KEYS)
    test = form.get("mode") == "test"
    values = {"name": form.get("name"), "permissions": form.getlist("permissions"), "test": test}
    try:
        body = KeyCreate.model_validate(values)
    except ValidationError as exc:
        errors = {d["field"].split(".")[0]: d["message"] for d in validation_details(exc.errors())}
        return _page(
            request, session, await _visible_keys(db, session), errors=errors, values=values
        )
    created, doc = await service.create_key(db, _creator(session), body)
    return render(
        request,
        "keys/created.html",
        session=session,
        status=201,
        key=created.key,
        view=api_keys.api_key_view(doc),
    )


@router.get("/{key_id}/revoke")
async def revoke_page(key_id: str, request: Request, session: Session, db: Db) -> Response:
    require(session, Permission.KEYS)
    doc = await service.owned_key(db, _creator(session), key_id)
    current = doc["_id"] == session.key_hash
    return render(
        request,
        "keys/revoke.html",
        session=session,
        view=api_keys.api_key_view(doc),
        current=current,
    )


@router.post("/{key_id}/revoke")
async def revoke_key(
    key_id: str, session: Session, form: CheckedForm, db: Db, keys: KeyCache
) -> Response:
    require(session, Permission.KEYS)
    await service.revoke_key(db, keys, _creator(session), key_id)
    return RedirectResponse("/console/keys?notice=key-revoked", status_code=303)


def _creator(session: ConsoleSession) -> service.Creator:
    return service.Creator(
        session.account_id, frozenset(session.permissions), session.test, "session"
    )
