"""What route handlers declare they need, defined once (``Annotated`` aliases).

Every getter is ``async def``, even the trivial ones: FastAPI runs a plain ``def``
dependency in a worker thread, a thread hop per dependency per request.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from mailpass_common.audit.record import Actor, ActorType, act_as
from mailpass_common.platform.broker import JobPublisher
from mailpass_common.platform.db import Database
from mailpass_common.platform.errors import ErrorCode
from mailpass_common.providers.service import ProviderCache
from mailpass_common.tenants.api_keys import ApiKeyCache, ApiKeyRecord, Permission
from mailpass_gateway import rate_limit
from mailpass_gateway.errors import ApiError
from mailpass_gateway.rpc import ReplyWaiter
from mailpass_gateway.settings import GatewaySettings


async def get_db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


async def get_settings(request: Request) -> GatewaySettings:
    settings: GatewaySettings = request.app.state.settings
    return settings


async def get_publisher(request: Request) -> JobPublisher:
    publisher: JobPublisher = request.app.state.publisher
    return publisher


async def get_waiter(request: Request) -> ReplyWaiter:
    waiter: ReplyWaiter = request.app.state.waiter
    return waiter


async def get_key_cache(request: Request) -> ApiKeyCache:
    keys: ApiKeyCache = request.app.state.keys
    return keys


async def get_provider_cache(request: Request) -> ProviderCache:
    providers: ProviderCache = request.app.state.providers
    return providers


Db = Annotated[Database, Depends(get_db)]
Settings = Annotated[GatewaySettings, Depends(get_settings)]
Publisher = Annotated[JobPublisher, Depends(get_publisher)]
Waiter = Annotated[ReplyWaiter, Depends(get_waiter)]
KeyCache = Annotated[ApiKeyCache, Depends(get_key_cache)]
Providers = Annotated[ProviderCache, Depends(get_provider_cache)]


# Declared for the OpenAPI document (the "Authorize" button in /docs); the check is ours,
# so a missing key is 401 in our envelope rather than FastAPI's 403.
_bearer = HTTPBearer(auto_error=False, description="An API key: `mp_live_…` or `mp_test_…`")


# RFC 6750: a 401 says which scheme it wants, and why a token given was refused.
CHALLENGE = 'Bearer realm="mailpass"'
INVALID_TOKEN_CHALLENGE = (
    f'{CHALLENGE}, error="invalid_token", error_description="invalid or revoked API key"'
)


async def _api_key(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> ApiKeyRecord:
    # The app's parts are read from its state, not declared as dependencies: every
    # authenticated request passes here, and each dependency costs FastAPI a resolution.
    state = request.app.state
    keys: ApiKeyCache = state.keys
    settings: GatewaySettings = state.settings
    token = credentials.credentials.strip() if credentials else ""
    if not token:
        raise ApiError(
            ErrorCode.UNAUTHORIZED,
            "Missing API key: send 'Authorization: Bearer <key>'",
            headers={"WWW-Authenticate": CHALLENGE},
        )
    record = await keys.authenticate(token)
    if record is None:
        raise ApiError(
            ErrorCode.UNAUTHORIZED,
            "Invalid or revoked API key",
            headers={"WWW-Authenticate": INVALID_TOKEN_CHALLENGE},
        )
    if record.suspended:
        raise ApiError(
            ErrorCode.ACCOUNT_SUSPENDED,
            "This account is suspended: its API keys are refused until the platform's "
            "operators unsuspend it",
        )
    act_as(Actor(ActorType.KEY, record.key_id))
    policy = settings.rate_limit_policy
    if policy.enabled:
        counter: rate_limit.RequestCounter = state.request_counter
        counted = await counter.count(policy, record.key_hash)
        request.state.rate_limit = counted  # the RateLimit header (mailpass_gateway.conventions)
        if counted.exceeded:
            raise rate_limit.refusal(counted, record.account_id)
    return record


def require(
    permission: str, *, refused_to_test_keys: str | None = None
) -> Callable[..., Awaitable[ApiKeyRecord]]:
    """The key must hold ``permission``; with ``refused_to_test_keys``, it must also be a
    live key (the text says why to the test key's holder)."""

    async def dependency(key: Annotated[ApiKeyRecord, Depends(_api_key)]) -> ApiKeyRecord:
        if permission not in key.permissions:
            raise ApiError(ErrorCode.FORBIDDEN, f"This API key lacks the '{permission}' permission")
        if key.test and refused_to_test_keys:
            raise ApiError(ErrorCode.FORBIDDEN, refused_to_test_keys)
        return key

    return dependency


MailKey = Annotated[ApiKeyRecord, Depends(require(Permission.MAIL))]
ProvidersKey = Annotated[ApiKeyRecord, Depends(require(Permission.PROVIDERS))]
# Test keys see only test data, and providers are live configuration: a test key may
# read them (what the sandbox sends from) but never change, delete or connect them.
LiveProvidersKey = Annotated[
    ApiKeyRecord,
    Depends(
        require(
            Permission.PROVIDERS,
            refused_to_test_keys="A test API key can read providers but not change or test "
            "them: providers deliver real mail. Use a live key.",
        )
    ),
]
KeysKey = Annotated[ApiKeyRecord, Depends(require(Permission.KEYS))]
WebhooksKey = Annotated[ApiKeyRecord, Depends(require(Permission.WEBHOOKS))]
TemplatesKey = Annotated[ApiKeyRecord, Depends(require(Permission.TEMPLATES))]


# Printable ASCII, as Stripe and the IETF draft use: it is compared byte for byte.
IDEMPOTENCY_KEY_PATTERN = r"^[\x21-\x7e]{1,255}$"

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        pattern=IDEMPOTENCY_KEY_PATTERN,
        description="Retry safely: the same key with the same body returns the first "
        "response (header `Idempotent-Replayed: true`) and sends nothing again; a different "
        "body, or a retry while the first request still runs, is 409 IDEMPOTENCY_CONFLICT. "
        "Kept 24 hours per account. 1-255 printable ASCII characters.",
    ),
]
