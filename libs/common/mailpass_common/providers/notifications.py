"""What reading a provider's bounce and complaint notifications shares across types.

Only what is about the address is taken (a permanent bounce, a complaint); temporary
failures, deliveries, opens... are ignored. The message the notification names (its
Message-ID header) is kept with the entry. Timestamps older or newer than
``MAX_SKEW_SECONDS`` are refused, so a captured notification cannot be replayed later (it
would re-suppress an address the account removed meanwhile).

A notification is internet input even once its signature verifies (a provider's format
changes, a signing key leaks): every value is read as what it may be, never as what it
should be, so a field of the wrong shape is ignored, never an error of ours.
"""

from __future__ import annotations

import math
import time
from datetime import datetime
from typing import Any

import pydantic_core

from mailpass_common.providers.plugin import NotificationInvalid, SignatureInvalid
from mailpass_common.suppressions.service import Suppression, SuppressionReason

MAX_EVENTS = 1000
MAX_SKEW_SECONDS = 600


def fresh(timestamp: str, now: float | None = None) -> None:
    """Refuse a signature timestamp (seconds since the epoch) outside the allowed skew."""
    try:
        sent = float(timestamp)
    except ValueError as exc:
        raise SignatureInvalid("the timestamp is not a number") from exc
    if not math.isfinite(sent) or abs((now or time.time()) - sent) > MAX_SKEW_SECONDS:
        raise SignatureInvalid("the timestamp is too old or in the future")


def fresh_iso(timestamp: object, now: float | None = None) -> None:
    """An ISO 8601 timestamp (SNS's ``2026-01-30T12:00:00.000Z``) within the window."""
    try:
        sent = datetime.fromisoformat(str(timestamp).replace("Z", "+00:00"))
    except ValueError as exc:
        raise SignatureInvalid("the Timestamp is not an ISO 8601 date") from exc
    if sent.tzinfo is None:
        raise SignatureInvalid("the Timestamp has no time zone")
    fresh(str(sent.timestamp()), now)


def obj(value: Any) -> dict[str, Any]:
    """``value`` if it is a JSON object, else an empty one."""
    return value if isinstance(value, dict) else {}


def objects(value: Any) -> list[dict[str, Any]]:
    """The JSON objects among the first ``MAX_EVENTS`` items of ``value`` (if a list)."""
    return [v for v in value[:MAX_EVENTS] if isinstance(v, dict)] if isinstance(value, list) else []


def json_body(raw: bytes) -> Any:
    try:
        return pydantic_core.from_json(raw, allow_inf_nan=False)
    except ValueError as exc:
        raise NotificationInvalid(f"The body is not JSON: {exc}") from exc


def json_object(raw: bytes) -> dict[str, Any]:
    body = json_body(raw)
    if not isinstance(body, dict):
        raise NotificationInvalid("The body must be a JSON object")
    return body


def message_id(value: Any) -> str | None:
    """A Message-ID as the notification gives it, with angle brackets; None if unusable."""
    if not isinstance(value, str) or not value.strip() or len(value) > 512:
        return None
    value = value.strip()
    return value if value.startswith("<") else f"<{value}>"


def entry(
    account_id: str,
    source: str,
    address: Any,
    reason: SuppressionReason,
    detail: Any,
    message_id: str | None,
) -> Suppression | None:
    """A suppression, or None when the address is not one."""
    if not isinstance(address, str) or "@" not in address or len(address) > 320:
        return None
    return Suppression(account_id, address, reason, source, message_id, str(detail or ""))


def found(entries: list[Suppression | None]) -> list[Suppression]:
    return [e for e in entries if e is not None]
