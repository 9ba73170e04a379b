"""Rendering the console's pages: one Jinja2 environment, its filters, and the common context.

Autoescaping is on for every template, so anything a tenant or a recipient wrote (a
subject, a provider's reply, a user agent) is shown as text. Times are shown in UTC,
like every date of the API, and say so.
"""

from __future__ import annotations

import urllib.parse
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from mailpass_common.messages.models import stored_datetime
from mailpass_common.tenants.console_auth import ConsoleSession

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"

NOTICES = {
    "provider-added": "Provider added.",
    "provider-saved": "Provider saved.",
    "provider-deleted": "Provider deleted.",
    "provider-default": "Default provider changed: /send uses it from now on.",
    "provider-tested": "Test finished: the result is shown on the provider.",
    "key-revoked": "API key revoked: requests with it are refused from now on.",
    "suppression-added": "Address suppressed: mail to it is refused from now on.",
    "suppression-removed": "Address removed from the list: it may be sent to again.",
    "webhook-deleted": "Webhook endpoint deleted: nothing more is sent to it.",
    "webhook-replayed": "Replay queued: the event is sent again with its webhook-id.",
    "domain-added": "Domain added: publish its DKIM record, then Verify.",
    "domain-rotated": "New DKIM key made: the current one signs until the new record verifies.",
    "domain-removed": "Sending domain removed, with its DKIM keys.",
    "template-saved": "Template saved as a new version: sends use it from now on.",
    "template-deleted": "Template deleted. Messages it made keep its id and version.",
    "member-role-changed": "Role changed: it applies from the member's next page.",
    "member-removed": "Member removed: their sessions in this account have ended.",
    "invitation-revoked": "Invitation withdrawn: its link no longer works.",
    "welcome": "Welcome: you are a member of this account now.",
    "signed-out": "You are signed out.",
    "session-ended": "Your session ended. Sign in again.",
}


def utc(value: Any, seconds: bool = True) -> str:
    """``2026-11-24 14:03:05 UTC``; "" for no date."""
    when = stored_datetime(value)
    if when is None:
        return ""
    return f"{when:%Y-%m-%d %H:%M:%S} UTC" if seconds else f"{when:%Y-%m-%d %H:%M} UTC"


def iso(value: Any) -> str:
    if not isinstance(value, datetime):
        return ""
    value = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    return str(value.isoformat(timespec="seconds")).replace("+00:00", "Z")


def message_path(message_id: str) -> str:
    """A message's page: its id without the angle brackets, URL-encoded."""
    return "/console/messages/" + urllib.parse.quote(message_id.strip("<>"), safe="@")


def number(value: Any) -> str:
    return f"{int(value):,}" if isinstance(value, int | float) else str(value)


environment = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(default=True, default_for_string=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
environment.filters.update(utc=utc, iso=iso, message_path=message_path, number=number)


def render(
    request: Request,
    template: str,
    *,
    session: ConsoleSession | None,
    status: int = 200,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> HTMLResponse:
    notice = NOTICES.get(request.query_params.get("notice", ""))
    page = environment.get_template(template).render(
        request_path=request.url.path,
        base_url=str(request.base_url).rstrip("/"),
        session=session,
        notice=notice,
        **context,
    )
    return HTMLResponse(page, status_code=status, headers=headers)
