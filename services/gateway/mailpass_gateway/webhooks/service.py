"""Webhook endpoints as the API and the console change them: the rules, written once.

An endpoint belongs to an account and a kind: a test key (or its console session) sees,
changes and replays only ``sandbox`` endpoints, which receive only test messages' events.
Every URL passes the egress check (``mailpass_common.webhooks.urls``) when it is saved;
an account holds at most ``webhook_max_endpoints_per_account`` endpoints. Nothing here is
cached: the webhooks service reads the endpoints of each batch it delivers.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from mailpass_common.audit.record import record
from mailpass_common.platform.crypto import CredentialCipher
from mailpass_common.platform.db import Database, Document
from mailpass_common.platform.errors import ErrorCode
from mailpass_common.platform.settings import CommonSettings
from mailpass_common.webhooks import attempts, endpoints, outbox
from mailpass_common.webhooks.urls import url_problem
from mailpass_gateway.errors import ApiError
from mailpass_gateway.webhooks.models import WebhookCreate, WebhookUpdate


def _utc(value: Any) -> datetime | None:
    if not isinstance(value, datetime):
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def endpoint_view(doc: Document) -> dict[str, Any]:
    until = doc.get("previous_secret_until")
    overlapping = doc.get("previous_secret") and isinstance(until, int | float)
    return {
        "id": doc["_id"],
        "url": doc["url"],
        "events": list(doc["events"]),
        "enabled": bool(doc.get("enabled")),
        "sandbox": bool(doc.get("sandbox")),
        "disabled_reason": doc.get("disabled_reason"),
        "failing_since": _utc(doc.get("failing_since")),
        "previous_secret_valid_until": (
            datetime.fromtimestamp(float(until), UTC) if overlapping and until else None
        ),
        "created_at": _utc(doc["created_at"]),
    }


def not_found(endpoint_id: str) -> ApiError:
    return ApiError(ErrorCode.NOT_FOUND, f"No webhook endpoint {endpoint_id!r} in this account")


async def owned_endpoint(
    db: Database, account_id: str, endpoint_id: str, *, sandbox: bool
) -> Document:
    """The account's endpoint of that kind (test keys: sandbox ones), else 404."""
    doc = await endpoints.get_endpoint(db, account_id, endpoint_id, sandbox=sandbox)
    if doc is None:
        raise not_found(endpoint_id)
    return doc


async def checked_url(url: str, settings: CommonSettings) -> str:
    problem = await url_problem(url, settings)
    if problem is not None:
        raise ApiError(
            ErrorCode.VALIDATION_ERROR,
            "Invalid request: url",
            [{"field": "url", "message": problem}],
        )
    return url


def endpoint_limit_error(exc: endpoints.EndpointLimitReached) -> ApiError:
    return ApiError(
        ErrorCode.WEBHOOK_ENDPOINT_LIMIT,
        f"This account has {exc.limit} webhook endpoints, the most it may have: delete one first",
        {"limit": exc.limit},
    )


async def create_endpoint(
    db: Database,
    cipher: CredentialCipher,
    settings: CommonSettings,
    account_id: str,
    body: WebhookCreate,
    *,
    sandbox: bool,
) -> tuple[Document, str]:
    """A new enabled endpoint and its secret in clear (shown this once); VALIDATION_ERROR
    for a URL it may not post to, WEBHOOK_ENDPOINT_LIMIT when the account is full."""
    url = await checked_url(body.url, settings)
    try:
        doc, secret = await endpoints.create_endpoint(
            db,
            cipher,
            account_id=account_id,
            url=url,
            events=[e.value for e in body.events],
            sandbox=sandbox,
            limit=settings.webhook_max_endpoints_per_account,
        )
    except endpoints.EndpointLimitReached as exc:
        raise endpoint_limit_error(exc) from exc
    await _audit(db, "webhook.created", doc, None, doc)
    return doc, secret


async def _audit(
    db: Database, action: str, doc: Document, before: Document | None, after: Document | None
) -> None:
    """An endpoint as its view shows it (never its secrets)."""
    await record(
        db,
        account_id=doc["account_id"],
        action=action,
        resource_type="webhook",
        resource_id=doc["_id"],
        before=None if before is None else endpoint_view(before),
        after=None if after is None else endpoint_view(after),
    )


async def update_endpoint(
    db: Database,
    settings: CommonSettings,
    account_id: str,
    endpoint_id: str,
    body: WebhookUpdate,
    *,
    sandbox: bool,
) -> Document:
    """Change the url, events or enabled flag (enabling again forgets past failures)."""
    before = await owned_endpoint(db, account_id, endpoint_id, sandbox=sandbox)
    url = None if body.url is None else await checked_url(body.url, settings)
    events = None if body.events is None else [e.value for e in body.events]
    doc = await endpoints.update_endpoint(
        db,
        account_id,
        endpoint_id,
        sandbox=sandbox,
        changes={"url": url, "events": events, "enabled": body.enabled},
    )
    if doc is None:
        raise not_found(endpoint_id)
    await _audit(db, "webhook.updated", doc, before, doc)
    return doc


async def delete_endpoint(
    db: Database, account_id: str, endpoint_id: str, *, sandbox: bool
) -> None:
    """Delete the endpoint: nothing more is sent to it. NOT_FOUND when there is none."""
    before = await owned_endpoint(db, account_id, endpoint_id, sandbox=sandbox)
    if not await endpoints.delete_endpoint(db, account_id, endpoint_id, sandbox=sandbox):
        raise not_found(endpoint_id)
    await _audit(db, "webhook.deleted", before, before, None)


async def rotate_secret(
    db: Database,
    cipher: CredentialCipher,
    account_id: str,
    endpoint_id: str,
    *,
    sandbox: bool,
    overlap_seconds: float,
) -> tuple[Document, str]:
    """A new secret in clear (shown this once); the old one signs beside it for
    ``overlap_seconds``."""
    before = await owned_endpoint(db, account_id, endpoint_id, sandbox=sandbox)
    rotated = await endpoints.rotate_secret(
        db, cipher, account_id, endpoint_id, sandbox=sandbox, overlap_seconds=overlap_seconds
    )
    if rotated is None:
        raise not_found(endpoint_id)
    await _audit(db, "webhook.secret_rotated", rotated[0], before, rotated[0])
    return rotated


async def replay(db: Database, account_id: str, endpoint: Document, attempt_id: str) -> Document:
    """The attempt's event queued again for the endpoint (its outbox document)."""
    endpoint_id = endpoint["_id"]
    found = await attempts.get_attempt(db, account_id, endpoint_id, attempt_id)
    event = None if found is None else await outbox.get_event(db, account_id, found["event_id"])
    if event is None:
        raise ApiError(ErrorCode.NOT_FOUND, f"No attempt {attempt_id!r} of this endpoint")
    if not endpoint.get("enabled"):
        raise ApiError(
            ErrorCode.WEBHOOK_DISABLED,
            "This webhook endpoint is disabled: enable it (PATCH enabled=true) before replaying",
            {"endpoint_id": endpoint_id},
        )
    return await outbox.replay(db, event, endpoint_id)
