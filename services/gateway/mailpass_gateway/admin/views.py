"""The admin API (``/admin/v1``): the platform team provisions and governs accounts with
its own token (:mod:`mailpass_gateway.admin.auth`), from Terraform, a GitOps pipeline or
a shell. The operations are :mod:`mailpass_common.administration.service`'s, which the
``mailpass accounts`` CLI calls too."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from pymongo.errors import DuplicateKeyError

from mailpass_common.administration import service
from mailpass_common.administration.service import NoSuchAccount, account_view
from mailpass_common.platform.dates import api_datetime
from mailpass_common.platform.errors import ErrorCode
from mailpass_common.tenants.accounts import AccountExists
from mailpass_gateway.admin.auth import Admin
from mailpass_gateway.admin.models import (
    AccountCreate,
    AccountListResponse,
    AccountPage,
    AccountResponse,
    AccountView,
    InvitationCreate,
    InvitationResponse,
    InvitationView,
    LimitsBody,
    UsageResponse,
)
from mailpass_gateway.deps import Db, KeyCache, Providers, Publisher, Settings
from mailpass_gateway.errors import ApiError
from mailpass_gateway.mail.responses import error_responses
from mailpass_gateway.members.mail import send_invitation
from mailpass_gateway.pagination import Page, cut_page

# Not in the tenants' OpenAPI document (the SDKs are made from it): the platform team's
# API is described in the README. It is outside /api, so outside the API's rate limits.
router = APIRouter(
    prefix="/admin/v1/accounts",
    tags=["admin"],
    include_in_schema=False,
    responses=error_responses(
        ErrorCode.VALIDATION_ERROR, ErrorCode.UNAUTHORIZED, ErrorCode.NOT_FOUND
    ),
)


def _not_found(account_id: str) -> ApiError:
    return ApiError(ErrorCode.NOT_FOUND, f"No account {account_id!r}")


def _one(doc: dict[str, Any]) -> AccountResponse:
    return AccountResponse(data=AccountView.model_validate(account_view(doc)))


@router.post("", status_code=201, response_model=AccountResponse, summary="Create an account")
async def create_account(body: AccountCreate, admin: Admin, db: Db) -> AccountResponse:
    try:
        doc = await service.create_account(db, admin, body.name)
    except (AccountExists, DuplicateKeyError):
        raise ApiError(
            ErrorCode.VALIDATION_ERROR,
            "Invalid request: name",
            [{"field": "name", "message": f"an account named {body.name!r} exists"}],
        ) from None
    return _one(doc)


@router.get("", response_model=AccountListResponse, summary="List the accounts, by name")
async def list_accounts(admin: Admin, db: Db, page: Page) -> AccountListResponse:
    docs = await service.list_accounts(db)
    shown, next_cursor = cut_page(docs, page, lambda d: (str(d["name"]), str(d["_id"])))
    views = [AccountView.model_validate(account_view(d)) for d in shown]
    return AccountListResponse(data=AccountPage(accounts=views, next_cursor=next_cursor))


@router.get("/{account_id}", response_model=AccountResponse, summary="One account")
async def get_account(account_id: str, admin: Admin, db: Db) -> AccountResponse:
    try:
        return _one(await service.get_account(db, account_id))
    except NoSuchAccount:
        raise _not_found(account_id) from None


async def _suspension(
    db: Db, keys: KeyCache, admin: Admin, account_id: str, suspended: bool
) -> AccountResponse:
    try:
        doc = await service.set_suspended(db, admin, account_id, suspended)
    except NoSuchAccount:
        raise _not_found(account_id) from None
    keys.forget_all()  # this process refuses (or takes back) the account's keys at once
    return _one(doc)


@router.post(
    "/{account_id}/suspend",
    response_model=AccountResponse,
    summary="Suspend: keys refused (ACCOUNT_SUSPENDED), sessions ended, queued mail held",
)
async def suspend(account_id: str, admin: Admin, db: Db, keys: KeyCache) -> AccountResponse:
    return await _suspension(db, keys, admin, account_id, True)


@router.post(
    "/{account_id}/unsuspend",
    response_model=AccountResponse,
    summary="Unsuspend: keys work again and the held mail is delivered",
)
async def unsuspend(account_id: str, admin: Admin, db: Db, keys: KeyCache) -> AccountResponse:
    return await _suspension(db, keys, admin, account_id, False)


@router.put(
    "/{account_id}/default-limits",
    response_model=AccountResponse,
    summary="Send limits a new provider of the account gets when it names none",
)
async def set_default_limits(
    account_id: str, body: LimitsBody, admin: Admin, db: Db
) -> AccountResponse:
    try:
        doc = await service.set_default_limits(
            db, admin, account_id, hourly=body.hourly, daily=body.daily
        )
    except NoSuchAccount:
        raise _not_found(account_id) from None
    return _one(doc)


@router.get(
    "/{account_id}/usage",
    response_model=UsageResponse,
    summary="Live messages of the last 7 UTC days, per day",
)
async def usage(account_id: str, admin: Admin, db: Db) -> UsageResponse:
    try:
        days = await service.usage(db, account_id)
    except NoSuchAccount:
        raise _not_found(account_id) from None
    return UsageResponse(
        data={
            "account_id": account_id,
            "days": [
                {"day": api_datetime(d.day), "counts": d.counts.as_dict(), "capped": d.capped}
                for d in days
            ],
        }
    )


@router.post(
    "/{account_id}/invitations",
    status_code=201,
    response_model=InvitationResponse,
    summary="Invite the account's first owner: mailed through the platform's account when "
    "CONSOLE_MAIL_ACCOUNT is set; the link is in this response only",
)
async def invite_owner(
    account_id: str,
    body: InvitationCreate,
    admin: Admin,
    db: Db,
    settings: Settings,
    providers: Providers,
    publisher: Publisher,
) -> InvitationResponse:
    try:
        invitation = await service.invite_owner(db, admin, account_id, str(body.email))
        account = await service.get_account(db, account_id)
    except NoSuchAccount:
        raise _not_found(account_id) from None
    link = settings.console_public_url.rstrip("/") + invitation.path
    mailed = await send_invitation(
        db,
        settings,
        providers,
        publisher,
        invitation,
        account_name=str(account["name"]),
        link=link,
    )
    return InvitationResponse(
        data=InvitationView(
            id=invitation.id,
            email=invitation.email,
            role=invitation.role,
            url=link,
            expires_at=api_datetime(invitation.expires_at) or "",
            mailed=mailed is not None,
        )
    )


@router.delete(
    "/{account_id}",
    status_code=204,
    response_class=Response,
    summary="Delete an account and everything it owns (its audit log is kept)",
)
async def delete_account(account_id: str, admin: Admin, db: Db, keys: KeyCache) -> Response:
    try:
        await service.delete_account(db, admin, account_id)
    except NoSuchAccount:
        raise _not_found(account_id) from None
    keys.forget_all()
    return Response(status_code=204)
