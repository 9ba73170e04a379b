"""Signing in through the organisation's OpenID Connect provider.

``/console/oidc/start`` (a button, with the sign-in form's CSRF token) keeps the flow's
``state``, ``nonce`` and PKCE verifier server-side, under a random key whose only copy is
a short-lived cookie of this browser, and sends the browser to the provider. The cookie
is ``SameSite=Lax``: the provider's redirect back is a cross-site navigation, on which a
``Strict`` cookie would not be sent. ``/console/oidc/callback`` spends the flow (once),
checks ``state``, exchanges the code and verifies the ID token
(:mod:`mailpass_gateway.console.oidc`), then finds the person:

- by the provider's subject (``<issuer>#<sub>``) once they have signed in before;
- else by a verified email address, which then gets tied to the subject;
- an invitation carried through the flow makes the user (or adds the membership) for
  the invited address only;
- groups named in ``CONSOLE_OIDC_GROUP_ROLES`` grant memberships, created on the fly
  and taken away when the group is gone (memberships from invitations stay).

The callback answers with a small page that moves on to the console instead of a
redirect: after a cross-site redirect chain the browser would withhold the session's
``Strict`` cookie from the next page.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from mailpass_common.platform.db import Collections, Database, Document
from mailpass_common.tenants import invitations, users
from mailpass_gateway.console.deps import SignInForm
from mailpass_gateway.console.failed_signin import FailureReason, record_failed_sign_in
from mailpass_gateway.console.groups import apply_group_roles
from mailpass_gateway.console.oidc import Flow, OidcClient, OidcError
from mailpass_gateway.console.pages import render
from mailpass_gateway.console.routing import ConsoleRoute
from mailpass_gateway.console.views.auth import count_attempt, safe_next, signin_page
from mailpass_gateway.console.views.invitations import join
from mailpass_gateway.console.views.user_signin import NO_ACCOUNT, open_user_session
from mailpass_gateway.deps import Db, Settings
from mailpass_gateway.errors import ApiError
from mailpass_gateway.settings import GatewaySettings

log = logging.getLogger(__name__)
router = APIRouter(prefix="/console/oidc", route_class=ConsoleRoute, include_in_schema=False)

FLOW_COOKIE = "mailpass_console_oidc"
FLOW_LIFETIME = timedelta(minutes=10)


def _client(request: Request, settings: GatewaySettings) -> OidcClient:
    """One client per app (it keeps the discovery document and the keys)."""
    client: OidcClient | None = getattr(request.app.state, "oidc_client", None)
    if client is None:
        client = request.app.state.oidc_client = OidcClient(settings)
    return client


def _redirect_uri(request: Request, settings: GatewaySettings) -> str:
    base = settings.console_public_url.rstrip("/") or str(request.base_url).rstrip("/")
    return f"{base}/console/oidc/callback"


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


@router.post("/start")
async def start(request: Request, form: SignInForm, db: Db, settings: Settings) -> Response:
    if not settings.console_oidc:
        return signin_page(request, settings, error="Single sign-on is not configured.", status=404)
    try:
        await count_attempt(request, db, settings)
    except ApiError as exc:
        return signin_page(request, settings, error=exc.message, status=429, headers=exc.headers)
    flow = Flow(secrets.token_urlsafe(24), secrets.token_urlsafe(24), secrets.token_urlsafe(48))
    try:
        url = await _client(request, settings).authorization_url(
            flow, _redirect_uri(request, settings)
        )
    except OidcError as exc:
        log.warning("OpenID Connect sign-in cannot start: %s", exc)
        error = "The identity provider cannot be reached; try again later."
        return signin_page(request, settings, error=error, status=502)
    key = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    await db[Collections.CONSOLE_OIDC_FLOWS].insert_one(
        {
            "_id": _hash(key),
            "state": flow.state,
            "nonce": flow.nonce,
            "code_verifier": flow.code_verifier,
            "next": safe_next(form.get("next")),
            "invitation": form.get("invitation")[:128] or None,
            "expires_at": now + FLOW_LIFETIME,
        }
    )
    response = RedirectResponse(url, status_code=303)
    response.set_cookie(
        FLOW_COOKIE,
        key,
        max_age=int(FLOW_LIFETIME.total_seconds()),
        path="/console/oidc",
        secure=settings.console_secure_cookie,
        httponly=True,
        samesite="lax",
    )
    return response


async def _spend_flow(db: Database, request: Request) -> Document | None:
    key = request.cookies.get(FLOW_COOKIE, "")
    if not key or len(key) > 128:
        return None
    doc = await db[Collections.CONSOLE_OIDC_FLOWS].find_one_and_delete({"_id": _hash(key)})
    expires = (doc or {}).get("expires_at")
    if doc is None or not isinstance(expires, datetime):
        return None
    expires = expires if expires.tzinfo else expires.replace(tzinfo=UTC)
    return doc if expires > datetime.now(UTC) else None


def _refused(request: Request, settings: GatewaySettings, error: str, status: int) -> Response:
    response = signin_page(request, settings, error=error, status=status, target="")
    response.delete_cookie(FLOW_COOKIE, path="/console/oidc")
    return response


async def _person(db: Database, claims: dict[str, Any], subject: str) -> Document | None:
    """The user these claims are, tying a verified address to the subject on first use."""
    user = await users.get_user_by_subject(db, subject)
    if user is None and claims.get("email") and claims.get("email_verified") is True:
        user = await users.get_user_by_email(db, str(claims["email"]))
        if user is not None and not user.get("oidc_subject"):
            await users.link_subject(db, user["_id"], subject)
    return user


async def _new_person(db: Database, claims: dict[str, Any], subject: str) -> Document | None:
    if not claims.get("email") or claims.get("email_verified") is not True:
        return None
    try:
        return await users.create_user(
            db, str(claims["email"]), name=str(claims.get("name") or ""), oidc_subject=subject
        )
    except users.UserExists:
        return await users.get_user_by_email(db, str(claims["email"]))


@router.get("/callback")
async def callback(request: Request, db: Db, settings: Settings) -> Response:
    flow_doc = await _spend_flow(db, request)
    state = request.query_params.get("state", "")
    if flow_doc is None or not hmac.compare_digest(flow_doc["state"].encode(), state.encode()):
        return _refused(request, settings, "This sign-in expired or was not started here.", 400)
    if request.query_params.get("error"):
        return _refused(request, settings, "The identity provider did not sign you in.", 401)
    client = _client(request, settings)
    flow = Flow(flow_doc["state"], flow_doc["nonce"], flow_doc["code_verifier"])
    try:
        claims = await client.exchange(
            request.query_params.get("code", ""), _redirect_uri(request, settings), flow
        )
    except OidcError as exc:
        log.warning("OpenID Connect sign-in refused: %s", exc)
        return _refused(request, settings, "The identity provider's answer did not verify.", 401)
    subject = f"{client.issuer}#{claims['sub']}"
    user = await _person(db, claims, subject)
    if user is not None and bool(user.get("disabled")):
        await record_failed_sign_in(
            db, user, attempted=subject, via="oidc", reason=FailureReason.DISABLED
        )
        return _refused(request, settings, "This user is disabled.", 403)
    token = flow_doc.get("invitation")
    invitation = await invitations.peek_invitation(db, token) if token else None
    if token and invitation is not None:
        if str(claims.get("email", "")).lower() != invitation["email"]:
            await record_failed_sign_in(
                db, user, attempted=subject, via="oidc", reason=FailureReason.INVITATION_ADDRESS
            )
            error = f"This invitation is for {invitation['email']}: sign in with that address."
            return _refused(request, settings, error, 403)
        user = user or await _new_person(db, claims, subject)
        if user is None:
            return _refused(request, settings, "The provider gave no verified address.", 403)
        return _moving_on(request, await join(db, settings, token, user, via="oidc"))
    groups = claims.get(settings.console_oidc_group_claim) or []
    if isinstance(groups, list) and settings.console_oidc_group_roles:
        user = await apply_group_roles(
            db,
            settings.console_oidc_group_roles,
            [str(g) for g in groups],
            user,
            lambda: _new_person(db, claims, subject),
        )
    opened = (
        await open_user_session(db, settings, user, flow_doc["next"], via="oidc") if user else None
    )
    if opened is None:
        return _refused(request, settings, NO_ACCOUNT, 403)
    return _moving_on(request, opened)


def _moving_on(request: Request, redirect: Response) -> Response:
    """The redirect's cookie on a page that moves on to its target (see the module)."""
    target = redirect.headers["location"]
    page = render(request, "moving_on.html", session=None, target=target)
    for name, value in redirect.raw_headers:
        if name.lower() == b"set-cookie":
            page.raw_headers.append((name, value))
    page.delete_cookie(FLOW_COOKIE, path="/console/oidc")
    return page
