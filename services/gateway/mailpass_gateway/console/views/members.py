"""Members: who is in the account and with which role; owners and admins invite people
(by email, through the platform's account), change roles and remove members.

Every member may see the list; changing it needs the ``members`` permission (owner,
admin, or a key's session with it, acting as an admin). The rules themselves are
:mod:`mailpass_gateway.members.service`'s, shared with the API.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from mailpass_common.messages.validation import email_address
from mailpass_common.platform.db import Database
from mailpass_common.tenants import invitations
from mailpass_common.tenants.api_keys import Permission
from mailpass_common.tenants.console_auth import ConsoleSession
from mailpass_common.tenants.members import ROLE_HELP, Role, may_assign
from mailpass_gateway.console.deps import CheckedForm, Session, require
from mailpass_gateway.console.pages import render
from mailpass_gateway.console.routing import ConsoleRoute
from mailpass_gateway.deps import Db, Providers, Publisher, Settings
from mailpass_gateway.members import service
from mailpass_gateway.members.service import Invited, Manager

router = APIRouter(prefix="/console/members", route_class=ConsoleRoute, include_in_schema=False)
PAGE = "/console/members"


def manager(session: ConsoleSession) -> Manager:
    """The session as a manager of members: a user with their role; a key's session with
    the ``members`` permission acts as an admin."""
    if session.role is not None:
        role = session.role
    else:
        role = Role.ADMIN.value if session.may(Permission.MEMBERS) else Role.VIEWER.value
    actor = session.user_id or f"console:{session.via}:{session.key_prefix or session.account_id}"
    return Manager(session.account_id, role, actor, session.user_id)


async def _page(
    request: Request,
    db: Database,
    session: ConsoleSession,
    *,
    status: int = 200,
    invited: Invited | None = None,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
) -> Response:
    by = manager(session)
    may_change = session.may(Permission.MEMBERS) and not session.test
    pending = await invitations.list_invitations(db, session.account_id)
    return render(
        request,
        "members/list.html",
        session=session,
        status=status,
        members=await service.member_list(db, session.account_id),
        pending=[invitations.invitation_view(doc) for doc in pending],
        roles=[(role.value, ROLE_HELP[role]) for role in Role],
        assignable=[role.value for role in Role if may_assign(by.role, role)],
        may_change=may_change,
        me=session.user_id,
        invited=invited,
        errors=errors or {},
        values=values or {"role": Role.DEVELOPER.value},
    )


@router.get("")
async def member_list(request: Request, session: Session, db: Db) -> Response:
    return await _page(request, db, session)


@router.post("/invitations")
async def invite(
    request: Request,
    session: Session,
    form: CheckedForm,
    db: Db,
    settings: Settings,
    providers: Providers,
    publisher: Publisher,
) -> Response:
    require(session, Permission.MEMBERS)
    values = {"email": form.get("email").strip(), "role": form.get("role")}
    try:
        email = email_address(values["email"])
    except ValueError as exc:
        return await _page(
            request, db, session, status=400, errors={"email": str(exc)}, values=values
        )
    if values["role"] not in list(Role):
        return await _page(
            request, db, session, status=400, errors={"role": "choose a role"}, values=values
        )
    invited = await service.invite(
        db,
        settings,
        providers,
        publisher,
        manager(session),
        email=email,
        role=values["role"],
        base_url=str(request.base_url).rstrip("/"),
    )
    return await _page(request, db, session, status=201, invited=invited)


@router.post("/invitations/{invitation_id}/revoke")
async def revoke_invitation(
    invitation_id: str, session: Session, form: CheckedForm, db: Db
) -> Response:
    require(session, Permission.MEMBERS)
    await service.revoke_invitation(db, manager(session), invitation_id)
    return RedirectResponse(f"{PAGE}?notice=invitation-revoked", status_code=303)


@router.post("/{user_id}/role")
async def change_role(user_id: str, session: Session, form: CheckedForm, db: Db) -> Response:
    require(session, Permission.MEMBERS)
    role = form.get("role")
    if role not in list(Role):
        return RedirectResponse(PAGE, status_code=303)
    await service.change_role(db, manager(session), user_id, role)
    return RedirectResponse(f"{PAGE}?notice=member-role-changed", status_code=303)


@router.post("/{user_id}/remove")
async def remove(user_id: str, session: Session, form: CheckedForm, db: Db) -> Response:
    require(session, Permission.MEMBERS)
    await service.remove(db, manager(session), user_id)
    target = "/console/sign-in?notice=session-ended" if user_id == session.user_id else PAGE
    return RedirectResponse(
        target + ("" if "?" in target else "?notice=member-removed"), status_code=303
    )
