"""What route handlers declare they need, defined once (``Annotated`` aliases)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request

from mailpass_common.accounts import ApiKeyRecord, authenticate
from mailpass_common.broker import JobPublisher
from mailpass_common.db import Database
from mailpass_common.security import Permission
from mailpass_gateway.errors import ApiError
from mailpass_gateway.rpc import ReplyWaiter
from mailpass_gateway.settings import GatewaySettings


def get_db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def get_settings(request: Request) -> GatewaySettings:
    settings: GatewaySettings = request.app.state.settings
    return settings


def get_publisher(request: Request) -> JobPublisher:
    publisher: JobPublisher = request.app.state.publisher
    return publisher


def get_waiter(request: Request) -> ReplyWaiter:
    waiter: ReplyWaiter = request.app.state.waiter
    return waiter


Db = Annotated[Database, Depends(get_db)]
Settings = Annotated[GatewaySettings, Depends(get_settings)]
Publisher = Annotated[JobPublisher, Depends(get_publisher)]
Waiter = Annotated[ReplyWaiter, Depends(get_waiter)]


async def _api_key(request: Request, db: Db) -> ApiKeyRecord:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "UNAUTHORIZED", "Missing API key: send 'Authorization: Bearer <key>'")
    record = await authenticate(db, token.strip())
    if record is None:
        raise ApiError(401, "UNAUTHORIZED", "Invalid or revoked API key")
    return record


def require(permission: str) -> Callable[..., Awaitable[ApiKeyRecord]]:
    async def dependency(key: Annotated[ApiKeyRecord, Depends(_api_key)]) -> ApiKeyRecord:
        if permission not in key.permissions:
            raise ApiError(403, "FORBIDDEN", f"This API key lacks the '{permission}' permission")
        return key

    return dependency


MailKey = Annotated[ApiKeyRecord, Depends(require(Permission.MAIL))]
