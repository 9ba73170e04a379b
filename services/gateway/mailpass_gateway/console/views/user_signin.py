"""Signing in as a person: email, password and a TOTP code (where no OpenID Connect
provider is configured), and moving between one's accounts.

Every refusal reads the same ("wrong email, password or code"), and an unknown address
costs the same password hashing as a known one, so the form tells nobody which
addresses have users. Attempts count against the client address like the other ways in.
A session opens in the user's first account by name; the switcher in the page's header
moves it to another of theirs. A failure at the name of an existing user is in the
audit log of each of the user's accounts (:mod:`mailpass_gateway.console.failed_signin`).
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from mailpass_common.audit.record import Actor, ActorType, record
from mailpass_common.platform.db import Database, Document
from mailpass_common.platform.errors import ErrorCode
from mailpass_common.tenants import accounts, console_auth, members, users
from mailpass_gateway.console.deps import CheckedForm, Session, SignInForm, totp_cipher
from mailpass_gateway.console.failed_signin import FailureReason, record_failed_sign_in
from mailpass_gateway.console.routing import ConsoleRoute
from mailpass_gateway.console.views.auth import HOME, count_attempt, signed_in, signin_page
from mailpass_gateway.deps import Db, Settings
from mailpass_gateway.errors import ApiError
from mailpass_gateway.settings import GatewaySettings

router = APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)

WRONG = "Wrong email, password or code."
WRONG_PASSWORD = FailureReason.WRONG_PASSWORD
NO_ACCOUNT = "You are not a member of any account: ask its owner for an invitation."


async def first_membership(db: Database, user_id: str) -> tuple[Document, str] | None:
    """The account a sign-in opens (the first of the user's by name) and the role there."""
    joined = {m["account_id"]: m["role"] for m in await members.memberships(db, user_id)}
    names = await members.account_names(db, list(joined))
    if not names:
        return None
    account_id = min(names, key=lambda found: (names[found], found))
    account = await accounts.get_account(db, account_id)
    return (account, joined[account_id]) if account else None


async def open_user_session(
    db: Database, settings: GatewaySettings, user: Document, target: str, *, via: str
) -> Response | None:
    """A session for a user who proved who they are; None if they are in no account."""
    found = await first_membership(db, user["_id"])
    if found is None:
        return None
    account, role = found
    await record(
        db,
        account_id=account["_id"],
        action="user.signed_in",
        resource_type="user",
        resource_id=user["_id"],
        after={"email": user.get("email"), "via": via, "role": role},
        actor=Actor(ActorType.USER, user["_id"]),
    )
    return await signed_in(
        db,
        settings,
        target,
        account=account,
        permissions=members.permissions_of(role),
        test=False,
        via=via,
        user=user,
        role=role,
    )


async def _refusal(
    db: Database, settings: GatewaySettings, user: Document | None, password: str, code: str
) -> FailureReason | None:
    """Why these credentials do not sign the user in (None: they do). An unknown address
    costs a password check like a known one."""
    proved = await users.verify_password(db, user or {}, password)
    if user is None or not proved:
        return WRONG_PASSWORD
    if bool(user.get("disabled")):
        return FailureReason.DISABLED
    if not await users.verify_totp(db, totp_cipher(settings), user, code):
        return FailureReason.WRONG_CODE
    return None


@router.post("/sign-in/password")
async def sign_in_with_password(
    request: Request, form: SignInForm, db: Db, settings: Settings
) -> Response:
    target = form.get("next")

    def refused(error: str, status: int, headers: dict[str, str] | None = None) -> Response:
        return signin_page(
            request, settings, error=error, status=status, headers=headers, target=target
        )

    if settings.console_oidc:
        return refused(f"Sign in with {settings.console_oidc_name}.", 403)
    try:
        await count_attempt(request, db, settings)
    except ApiError as exc:
        return refused(exc.message, 429, exc.headers)
    user = await users.get_user_by_email(db, form.get("email")) if form.get("email") else None
    reason = await _refusal(db, settings, user, form.get("password"), form.get("code"))
    if reason is not None or user is None:
        attempted = form.get("email").strip().lower()[:320]
        await record_failed_sign_in(
            db, user, attempted=attempted, via="password", reason=reason or WRONG_PASSWORD
        )
        return refused(WRONG, 401)
    opened = await open_user_session(db, settings, user, target, via="password")
    return opened or refused(NO_ACCOUNT, 403)


@router.post("/account")
async def switch_account(session: Session, form: CheckedForm, db: Db) -> Response:
    """Move the session to another account of the signed-in user."""
    account_id = form.get("account_id")
    member = await members.get_member(db, account_id, session.user_id) if session.user_id else None
    account = await accounts.get_account(db, account_id) if member else None
    if member is None or account is None:
        raise ApiError(ErrorCode.NOT_FOUND, "You are not a member of that account")
    await console_auth.switch_account(
        db,
        session.session_id,
        account_id=account_id,
        account_name=str(account.get("name") or account_id),
        role=member["role"],
    )
    return RedirectResponse(HOME, status_code=303)
