"""How dates are written outside the spec's endpoints (API answers, webhook payloads,
the CLI's json/yaml): RFC 3339 in UTC with ``Z``, to the millisecond
(``2026-01-30T12:00:00.000Z``), one fixed width that every JSON client parses."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any


def api_datetime(value: Any) -> str | None:
    """``value`` (a datetime, naive ones being UTC, or ISO 8601 text as nx-27017 may keep
    one) written as RFC 3339 UTC with ``Z``; None for no date."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return None
    if not isinstance(value, datetime):
        return None
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return f"{value.isoformat(timespec='milliseconds')}Z"
