"""What the webhook routes share: views of documents, lookups, the URL check."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from mailpass_common.platform.db import Database, Document
from mailpass_common.platform.errors import ErrorCode
from mailpass_common.platform.settings import CommonSettings
from mailpass_common.tenants.api_keys import ApiKeyRecord
from mailpass_common.webhooks import attempts, endpoints, outbox
from mailpass_common.webhooks.urls import url_problem
from mailpass_gateway.errors import ApiError


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


async def owned_endpoint(db: Database, key: ApiKeyRecord, endpoint_id: str) -> Document:
    """The key's account's endpoint of its kind (test keys: sandbox ones), else 404."""
    doc = await endpoints.get_endpoint(db, key.account_id, endpoint_id, sandbox=key.test)
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
