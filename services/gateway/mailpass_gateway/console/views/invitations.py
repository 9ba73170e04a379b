"""Accepting an invitation: the page its link opens, and joining.

Opening the link changes nothing (mail clients fetch links to preview them); a button
does. With an OpenID Connect provider configured, the person continues there (the
invitation rides along in the sign-in's state). Without, a newcomer chooses a password
and sets up a TOTP authenticator on the same form (the secret is shown, and the first
code proves it was saved); someone who already has a MailPass sign-in confirms with
their password and code. Either way the invitation is spent, the membership made, and
a session opened in the account they joined.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from mailpass_common.audit.record import Actor, ActorType, record
from mailpass_common.platform.db import Database, Document
from mailpass_common.platform.errors import ErrorCode
from mailpass_common.tenants import accounts, invitations, members, users
from mailpass_gateway.console.deps import (
    SignInForm,
    keep_signin_token,
    signin_token,
    totp_cipher,
)
from mailpass_gateway.console.forms import Form
from mailpass_gateway.console.pages import render
from mailpass_gateway.console.routing import ConsoleRoute
from mailpass_gateway.console.views.auth import count_attempt, oidc_form_headers, signed_in
from mailpass_gateway.deps import Db, Settings
from mailpass_gateway.errors import ApiError
from mailpass_gateway.settings import GatewaySettings

router = APIRouter(prefix="/console/invitations", route_class=ConsoleRoute, include_in_schema=False)

GONE = "This invitation was used already, withdrawn, or has expired: ask for a new one."


async def _page(
    request: Request,
    db: Database,
    settings: GatewaySettings,
    token: str,
    invitation: Document | None,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    name: str = "",
    secret: str | None = None,
) -> Response:
    account = await accounts.get_account(db, invitation["account_id"]) if invitation else None
    existing = await users.get_user_by_email(db, invitation["email"]) if invitation else None
    csrf = signin_token(request)
    secret = secret or users.new_totp_secret()
    response = render(
        request,
        "invitation.html",
        session=None,
        status=status if account else 404,
        # The token is in this page's address: never sent on as a referrer.
        headers={"Referrer-Policy": "no-referrer", **oidc_form_headers(settings)},
        csrf_token=csrf,
        token=token,
        invitation=invitation if account else None,
        account=account,
        existing=existing is not None,
        oidc_name=settings.console_oidc_name if settings.console_oidc else None,
        secret=secret,
        totp_uri=users.totp_uri(secret, invitation["email"]) if invitation else "",
        errors=errors or {},
        name=name,
        gone=GONE,
    )
    keep_signin_token(response, settings, csrf)
    return response


@router.get("/{token}")
async def invitation_page(token: str, request: Request, db: Db, settings: Settings) -> Response:
    invitation = await invitations.peek_invitation(db, token)
    return await _page(request, db, settings, token, invitation)


async def _newcomer(
    db: Database, settings: GatewaySettings, invitation: Document, form: Form
) -> Document | dict[str, str]:
    """The new user (password and TOTP from the form), or the form's problems."""
    errors: dict[str, str] = {}
    try:
        users.check_password(form.get("password"))
    except users.WeakPassword as exc:
        errors["password"] = str(exc)
    secret = form.get("secret")
    step = users.totp_step(form.get("code"), secret) if len(secret) == 32 else None
    if step is None:
        errors["code"] = "not the current code of the secret shown: check the app's clock"
    if errors:
        return errors
    user = await users.create_user(
        db,
        invitation["email"],
        name=form.get("name")[:200],
        password=form.get("password"),
        totp_secret=secret,
        cipher=totp_cipher(settings),
    )
    await users.verify_totp(db, totp_cipher(settings), user, form.get("code"))  # spend it
    return user


@router.post("/{token}")
async def accept(
    token: str, request: Request, form: SignInForm, db: Db, settings: Settings
) -> Response:
    await count_attempt(request, db, settings)
    invitation = await invitations.peek_invitation(db, token)
    if invitation is None:
        raise ApiError(ErrorCode.NOT_FOUND, GONE)
    if settings.console_oidc:
        raise ApiError(ErrorCode.FORBIDDEN, f"Accept with {settings.console_oidc_name}")
    existing = await users.get_user_by_email(db, invitation["email"])
    if existing is not None:
        proved = await users.verify_password(db, existing, form.get("password")) and (
            await users.verify_totp(db, totp_cipher(settings), existing, form.get("code"))
        )
        if not proved or bool(existing.get("disabled")):
            errors = {"password": "wrong password or code"}
            return await _page(request, db, settings, token, invitation, status=401, errors=errors)
        user = existing
    else:
        made = await _newcomer(db, settings, invitation, form)
        if "_id" not in made:
            return await _page(
                request,
                db,
                settings,
                token,
                invitation,
                status=400,
                errors=made,
                name=form.get("name"),
                secret=form.get("secret"),
            )
        user = made
    return await join(db, settings, token, user, via="password")


async def join(
    db: Database, settings: GatewaySettings, token: str, user: Document, *, via: str
) -> Response:
    """Spend the invitation for ``user``: the membership, and a session in that account."""
    spent = await invitations.spend_invitation(db, token)
    account = await accounts.get_account(db, spent["account_id"]) if spent else None
    if spent is None or account is None:
        raise ApiError(ErrorCode.NOT_FOUND, GONE)
    await members.add_member(db, account["_id"], user["_id"], spent["role"])
    await record(
        db,
        account_id=account["_id"],
        action="member.added",
        resource_type="member",
        resource_id=user["_id"],
        after={"email": user.get("email"), "role": spent["role"], "invitation": spent["id"]},
        actor=Actor(ActorType.USER, user["_id"]),
    )
    return await signed_in(
        db,
        settings,
        "/console/overview?notice=welcome",
        account=account,
        permissions=members.permissions_of(spent["role"]),
        test=False,
        via=via,
        user=user,
        role=spent["role"],
    )
