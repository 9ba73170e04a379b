"""An account's members as the console and the API manage them: the rules, written once.

- Only an owner or an admin manages members (an API key needs the ``members``
  permission, and acts as an admin). An admin neither makes owners nor changes or
  removes one; an owner may do anything, but the account keeps at least one owner.
- Removing someone ends their sessions in the account at once; the console also checks
  the membership on every request, so a session in another gateway ends as well.
- An invitation is mailed through the platform's account when one is configured
  (:mod:`mailpass_gateway.members.mail`); its link is also returned, once, to whoever
  invited.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mailpass_common.audit.record import record
from mailpass_common.platform.broker import JobPublisher
from mailpass_common.platform.db import Database
from mailpass_common.platform.errors import ErrorCode
from mailpass_common.providers.service import ProviderCache
from mailpass_common.tenants import accounts, console_auth, invitations, members, users
from mailpass_common.tenants.invitations import Invitation
from mailpass_common.tenants.members import Role
from mailpass_gateway.errors import ApiError
from mailpass_gateway.members.mail import send_invitation
from mailpass_gateway.settings import GatewaySettings


@dataclass(frozen=True)
class Manager:
    """Who manages: a console user (their role and id) or an API key (acting as admin)."""

    account_id: str
    role: str
    actor: str  # the user's id, or the key's id
    user_id: str | None = None


@dataclass(frozen=True)
class Invited:
    invitation: Invitation
    link: str
    mailed: bool


def _forbidden(message: str) -> ApiError:
    return ApiError(ErrorCode.FORBIDDEN, message)


def _check_may_assign(by: Manager, role: str) -> None:
    if not members.may_assign(by.role, role):
        if by.role == Role.ADMIN:
            raise _forbidden("Only an owner may make, change or remove owners")
        raise _forbidden("Only an owner or an admin manages members")


async def member_list(db: Database, account_id: str) -> list[dict[str, Any]]:
    """The account's members, owners first, each with their user's address and state."""
    found = await members.list_members(db, account_id)
    people = await users.users_by_id(db, [m["user_id"] for m in found])
    order = list(Role)
    views = []
    for member in found:
        user = people.get(member["user_id"])
        if user is None:
            continue
        views.append(
            {
                "user_id": member["user_id"],
                "email": user["email"],
                "name": str(user.get("name") or ""),
                "role": member["role"],
                "disabled": bool(user.get("disabled")),
                "joined_at": member.get("created_at"),
            }
        )
    return sorted(views, key=lambda v: (order.index(Role(v["role"])), v["email"]))


async def invite(
    db: Database,
    settings: GatewaySettings,
    providers: ProviderCache,
    publisher: JobPublisher,
    by: Manager,
    *,
    email: str,
    role: str,
    base_url: str,
) -> Invited:
    _check_may_assign(by, role)
    account = await accounts.get_account(db, by.account_id)
    assert account is not None
    user = await users.get_user_by_email(db, email)
    if user is not None and await members.get_member(db, by.account_id, user["_id"]):
        raise ApiError(
            ErrorCode.MEMBER_EXISTS,
            f"{user['email']} is a member of this account already",
            {"user_id": user["_id"]},
        )
    invitation = await invitations.create_invitation(
        db, account_id=by.account_id, email=email, role=role, invited_by=by.actor
    )
    link = (settings.console_public_url.rstrip("/") or base_url) + invitation.path
    mailed = await send_invitation(
        db,
        settings,
        providers,
        publisher,
        invitation,
        account_name=str(account.get("name") or by.account_id),
        link=link,
    )
    await _audit(
        db,
        by.account_id,
        "invitation.created",
        "invitation",
        invitation.id,
        None,
        {"email": invitation.email, "role": invitation.role, "mailed": mailed is not None},
    )
    return Invited(invitation, link, mailed is not None)


async def _audit(
    db: Database,
    account_id: str,
    action: str,
    resource_type: str,
    resource_id: str,
    before: Any,
    after: Any,
) -> None:
    """Membership changes in the audit log (the actor is the request's: user or key)."""
    await record(
        db,
        account_id=account_id,
        action=action,
        resource_type=resource_type,
        resource_id=resource_id,
        before=before,
        after=after,
    )


async def change_role(db: Database, by: Manager, user_id: str, role: str) -> None:
    current = await members.get_member(db, by.account_id, user_id)
    if current is None:
        raise ApiError(ErrorCode.NOT_FOUND, "No such member in this account")
    _check_may_assign(by, current["role"])
    _check_may_assign(by, role)
    try:
        await members.change_role(db, by.account_id, user_id, role)
    except members.LastOwner:
        raise ApiError(
            ErrorCode.LAST_OWNER,
            "The account's last owner stays an owner: make another member owner first",
        ) from None
    if current["role"] != role:
        await _audit(
            db,
            by.account_id,
            "member.role_changed",
            "member",
            user_id,
            {"role": current["role"]},
            {"role": role},
        )


async def remove(db: Database, by: Manager, user_id: str) -> None:
    current = await members.get_member(db, by.account_id, user_id)
    if current is None:
        raise ApiError(ErrorCode.NOT_FOUND, "No such member in this account")
    _check_may_assign(by, current["role"])
    try:
        await members.remove_member(db, by.account_id, user_id)
    except members.LastOwner:
        raise ApiError(
            ErrorCode.LAST_OWNER,
            "The account's last owner cannot leave: make another member owner first",
        ) from None
    await console_auth.end_user_sessions(db, user_id, by.account_id)
    await _audit(
        db, by.account_id, "member.removed", "member", user_id, {"role": current["role"]}, None
    )


async def revoke_invitation(db: Database, by: Manager, invitation_id: str) -> None:
    found = next(
        (
            i
            for i in await invitations.list_invitations(db, by.account_id)
            if i["id"] == invitation_id
        ),
        None,
    )
    if found is None:
        raise ApiError(ErrorCode.NOT_FOUND, "No such pending invitation in this account")
    _check_may_assign(by, found["role"])
    await invitations.revoke_invitation(db, by.account_id, invitation_id)
    await _audit(
        db,
        by.account_id,
        "invitation.revoked",
        "invitation",
        invitation_id,
        {"email": found["email"], "role": found["role"]},
        None,
    )
