"""What the console's routes declare they need: the signed-in session, a checked form.

- The session cookie holds a random token; the session itself is a server-side document
  (:mod:`mailpass_common.tenants.console_auth`). It is ``HttpOnly``, ``SameSite=Strict`` and,
  outside development, ``Secure`` with the ``__Host-`` prefix (no Domain, Path ``/``), so
  no subdomain can plant one. A session opened with an API key ends with that key: it
  is checked on every console request (one indexed read; the console is no hot path).
- Every form that changes something carries the session's CSRF token, compared in
  constant time; a post marked cross-site by the browser (``Sec-Fetch-Site``) is refused
  before that. The sign-in forms, which have no session yet, carry a token that is also
  in a short-lived cookie of their own (double submit).
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import replace
from typing import Annotated

from fastapi import Depends, Request, Response

from mailpass_common.audit.record import Actor, ActorType, act_as
from mailpass_common.platform.crypto import CredentialCipher
from mailpass_common.platform.db import Database
from mailpass_common.platform.errors import ErrorCode
from mailpass_common.tenants import accounts, api_keys, console_auth, members, users
from mailpass_common.tenants.console_auth import ConsoleSession
from mailpass_gateway.console.forms import Form, read_form
from mailpass_gateway.deps import Db, Settings
from mailpass_gateway.errors import ApiError
from mailpass_gateway.settings import GatewaySettings

SIGNIN_COOKIE = "mailpass_console_signin"
SIGNIN_COOKIE_SECONDS = 3600
# A session opened with a one-time link (`mailpass console link`, made by the platform's
# operators) acts for them in the audit log.
LINK_ACTOR = Actor(ActorType.ADMIN, "console-link")


class SignInRequired(Exception):
    """No live session: the route class sends the browser to the sign-in page."""

    def __init__(self, notice: str | None = None) -> None:
        super().__init__(notice or "sign in")
        self.notice = notice


def totp_cipher(settings: GatewaySettings) -> CredentialCipher:
    """What encrypts and decrypts users' TOTP secrets (a key derived from SECRET_KEY)."""
    return users.totp_cipher(settings.secret_key.get_secret_value(), settings.previous_secrets())


def session_cookie_name(settings: GatewaySettings) -> str:
    return "__Host-mailpass_console" if settings.console_secure_cookie else "mailpass_console"


def set_session_cookie(response: Response, settings: GatewaySettings, token: str) -> None:
    response.set_cookie(
        session_cookie_name(settings),
        token,
        max_age=int(settings.console_session_hours * 3600),
        path="/",
        secure=settings.console_secure_cookie,
        httponly=True,
        samesite="strict",
    )


def clear_session_cookie(response: Response, settings: GatewaySettings) -> None:
    response.delete_cookie(
        session_cookie_name(settings),
        path="/",
        secure=settings.console_secure_cookie,
        httponly=True,
        samesite="strict",
    )


async def current_session(request: Request, db: Db, settings: Settings) -> ConsoleSession:
    token = request.cookies.get(session_cookie_name(settings), "")
    session = await console_auth.find_session(db, token) if token else None
    if session is None:
        raise SignInRequired("session-ended" if token else None)
    actor = LINK_ACTOR
    if session.key_hash is not None:
        key_id = await api_keys.active_key_id(db, session.key_hash)
        if key_id is None:
            await console_auth.end_session(db, session.session_id)
            raise SignInRequired("session-ended")
        actor = Actor(ActorType.KEY, key_id)
    if session.user_id is not None:
        actor = Actor(ActorType.USER, session.user_id)
        session = await _as_member_now(db, session)
    # A suspended account's sessions end (its suspension ends them all; this catches one
    # opened meanwhile): one read by _id, the console being no hot path.
    if await accounts.suspended_ids(db, [session.account_id]):
        await console_auth.end_session(db, session.session_id)
        raise SignInRequired("session-ended")
    act_as(actor)  # the audit log's actor of what this request changes
    request.state.console_session = session  # for the layout of an error page
    return session


async def _as_member_now(db: Database, session: ConsoleSession) -> ConsoleSession:
    """A user's session as things are now: ended when the user is disabled or no longer in
    the account; otherwise with the role (so the permissions) the membership has now."""
    assert session.user_id is not None
    user = await users.get_user(db, session.user_id)
    joined = await members.memberships(db, session.user_id) if user else []
    current = next((m for m in joined if m["account_id"] == session.account_id), None)
    if user is None or bool(user.get("disabled")) or current is None:
        await console_auth.end_session(db, session.session_id)
        raise SignInRequired("session-ended")
    names = await members.account_names(db, [m["account_id"] for m in joined])
    others = sorted(
        (
            (account_id, name)
            for account_id, name in names.items()
            if account_id != session.account_id
        ),
        key=lambda pair: pair[1],
    )
    return replace(
        session,
        role=current["role"],
        permissions=members.permissions_of(current["role"]),
        accounts=tuple(others),
    )


Session = Annotated[ConsoleSession, Depends(current_session)]


def _same_token(expected: str, given: str) -> bool:
    return bool(expected) and hmac.compare_digest(expected.encode(), given.encode())


def refuse_cross_site(request: Request) -> None:
    if request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
        raise ApiError(ErrorCode.CSRF_INVALID, "Cross-site form posts are refused")


async def checked_form(request: Request, session: Session) -> Form:
    """The posted form, once its CSRF token is the session's."""
    refuse_cross_site(request)
    form = await read_form(request)
    if not _same_token(session.csrf_token, form.get("csrf_token")):
        raise ApiError(ErrorCode.CSRF_INVALID, ERROR_CSRF)
    return form


ERROR_CSRF = "The form's security token is missing or stale: reload the page and try again"

CheckedForm = Annotated[Form, Depends(checked_form)]


def signin_token(request: Request) -> str:
    """The token of the sign-in forms: the one in their cookie, or a new one."""
    return request.cookies.get(SIGNIN_COOKIE) or secrets.token_urlsafe(32)


def keep_signin_token(response: Response, settings: GatewaySettings, token: str) -> None:
    response.set_cookie(
        SIGNIN_COOKIE,
        token,
        max_age=SIGNIN_COOKIE_SECONDS,
        path="/console",
        secure=settings.console_secure_cookie,
        httponly=True,
        samesite="strict",
    )


async def checked_signin_form(request: Request) -> Form:
    """A sign-in form whose token matches its cookie (no session exists yet)."""
    refuse_cross_site(request)
    form = await read_form(request)
    if not _same_token(request.cookies.get(SIGNIN_COOKIE, ""), form.get("csrf_token")):
        raise ApiError(ErrorCode.CSRF_INVALID, ERROR_CSRF)
    return form


SignInForm = Annotated[Form, Depends(checked_signin_form)]


def require(session: ConsoleSession, permission: str) -> None:
    if not session.may(permission) and session.role is not None:
        raise ApiError(
            ErrorCode.FORBIDDEN,
            f"Your role in this account ({session.role}) does not allow that: "
            "ask an owner or admin for another role",
        )
    if not session.may(permission):
        raise ApiError(
            ErrorCode.FORBIDDEN,
            f"This session cannot do that: sign in with a key that has the '{permission}' "
            "permission",
        )


def client_address(request: Request) -> str:
    """The client's address as uvicorn resolved it (it applies X-Forwarded-For only from
    the proxies in FORWARDED_ALLOW_IPS, e.g. the ingress)."""
    return request.client.host if request.client else "unknown"
