"""Signing in (with an API key that has the ``console`` permission, or a one-time link)
and out.

A one-time link is spent by a button on the page it opens, not by opening it: mail and
chat clients fetch links to preview them, and such a fetch must not use up the link (or
sign anyone in). Both ways of signing in count against the client address's attempts.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterable
from datetime import timedelta

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from mailpass_common.platform.db import Document
from mailpass_common.platform.errors import ErrorCode
from mailpass_common.tenants import accounts, api_keys, console_auth
from mailpass_common.tenants.api_keys import Permission
from mailpass_gateway.console.deps import (
    CheckedForm,
    Session,
    SignInForm,
    clear_session_cookie,
    client_address,
    keep_signin_token,
    set_session_cookie,
    signin_token,
)
from mailpass_gateway.console.headers import csp_with_form_target
from mailpass_gateway.console.pages import render
from mailpass_gateway.console.routing import ConsoleRoute
from mailpass_gateway.deps import Db, Settings
from mailpass_gateway.errors import ApiError
from mailpass_gateway.settings import GatewaySettings

router = APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)

HOME = "/console/overview"


def safe_next(target: str) -> str:
    """Only a console page of this site: never another host (an open redirect)."""
    if target.startswith("/console/") and not target.startswith("//") and "\\" not in target:
        return target
    return HOME


@router.get("")
@router.get("/")
async def home() -> Response:
    return RedirectResponse(HOME, status_code=303)


def signin_page(
    request: Request,
    settings: GatewaySettings,
    *,
    error: str | None = None,
    status: int = 200,
    headers: dict[str, str] | None = None,
    target: str | None = None,
) -> Response:
    """The sign-in form; ``target`` is where a successful sign-in goes on to."""
    token = signin_token(request)
    headers = {**(headers or {}), **oidc_form_headers(settings)}
    response = render(
        request,
        "signin.html",
        session=None,
        status=status,
        headers=headers,
        csrf_token=token,
        next=safe_next(target if target is not None else request.query_params.get("next", "")),
        error=error,
        oidc_name=settings.console_oidc_name if settings.console_oidc else None,
    )
    keep_signin_token(response, settings, token)
    return response


def oidc_form_headers(settings: GatewaySettings) -> dict[str, str]:
    """A page with the identity provider's button lets its form lead there."""
    if not settings.console_oidc:
        return {}
    parts = urllib.parse.urlsplit(settings.console_oidc_issuer)
    return {"Content-Security-Policy": csp_with_form_target(f"{parts.scheme}://{parts.netloc}")}


@router.get("/sign-in")
async def sign_in_page(request: Request, settings: Settings) -> Response:
    return signin_page(request, settings)


async def count_attempt(request: Request, db: Db, settings: GatewaySettings) -> None:
    retry_after = await console_auth.count_attempt(
        db,
        client_address(request),
        limit=settings.console_signin_attempts,
        window=timedelta(seconds=settings.console_signin_window_seconds),
    )
    if retry_after is not None:
        raise ApiError(
            ErrorCode.TOO_MANY_ATTEMPTS,
            f"Too many sign-in attempts from this address; retry in {retry_after} s",
            {"retry_after_seconds": retry_after},
            headers={"Retry-After": str(retry_after)},
        )


async def signed_in(
    db: Db,
    settings: GatewaySettings,
    target: str,
    *,
    account: Document,
    permissions: Iterable[str],
    test: bool,
    via: str,
    key_hash: str | None = None,
    key_prefix: str | None = None,
    user: Document | None = None,
    role: str | None = None,
) -> Response:
    """A new session (never one from before the sign-in), its cookie, and the way on."""
    new = await console_auth.open_session(
        db,
        account_id=account["_id"],
        account_name=str(account.get("name") or account["_id"]),
        permissions=permissions,
        test=test,
        via=via,
        key_hash=key_hash,
        key_prefix=key_prefix,
        user=user,
        role=role,
        lifetime=timedelta(hours=settings.console_session_hours),
    )
    response = RedirectResponse(safe_next(target), status_code=303)
    set_session_cookie(response, settings, new.token)
    return response


@router.post("/sign-in")
async def sign_in(request: Request, form: SignInForm, db: Db, settings: Settings) -> Response:
    target = form.get("next")
    try:
        await count_attempt(request, db, settings)
    except ApiError as exc:
        return signin_page(
            request, settings, error=exc.message, status=429, headers=exc.headers, target=target
        )
    record = await api_keys.authenticate(db, form.get("api_key")) if form.get("api_key") else None
    account = await accounts.get_account(db, record.account_id) if record else None
    if record is None or account is None:
        return signin_page(
            request, settings, error="Invalid or revoked API key.", status=401, target=target
        )
    if Permission.CONSOLE not in record.permissions:
        return signin_page(
            request,
            settings,
            error="This API key lacks the 'console' permission: create one that has it, "
            "or ask for a sign-in link (mailpass console link).",
            status=403,
            target=target,
        )
    return await signed_in(
        db,
        settings,
        target,
        account=account,
        permissions=record.permissions,
        test=record.test,
        via="key",
        key_hash=record.key_hash,
        key_prefix=form.get("api_key")[:12],
    )


@router.get("/link/{token}")
async def link_page(token: str, request: Request, db: Db, settings: Settings) -> Response:
    link = await console_auth.peek_link(db, token)
    account = await accounts.get_account(db, link["account_id"]) if link else None
    csrf = signin_token(request)
    response = render(
        request,
        "link.html",
        session=None,
        status=200 if account else 404,
        # The token is in this page's address: never sent on to another page.
        headers={"Referrer-Policy": "no-referrer"},
        csrf_token=csrf,
        token=token,
        account=account,
    )
    keep_signin_token(response, settings, csrf)
    return response


@router.post("/link/{token}")
async def use_link(
    token: str, request: Request, form: SignInForm, db: Db, settings: Settings
) -> Response:
    await count_attempt(request, db, settings)
    account_id = await console_auth.use_link(db, token)
    account = await accounts.get_account(db, account_id) if account_id else None
    if account is None:
        raise ApiError(
            ErrorCode.NOT_FOUND,
            "This sign-in link was used already or has expired: ask for a new one "
            "(mailpass console link).",
        )
    # A link is an operator's: the account's whole console, live.
    return await signed_in(
        db, settings, HOME, account=account, permissions=list(Permission), test=False, via="link"
    )


@router.post("/sign-out")
async def sign_out(session: Session, form: CheckedForm, db: Db, settings: Settings) -> Response:
    await console_auth.end_session(db, session.session_id)
    response = RedirectResponse("/console/sign-in?notice=signed-out", status_code=303)
    clear_session_cookie(response, settings)
    return response
