"""Where a webhook may point, checked when it is saved (REST API, CLI and console).

``https`` only (``WEBHOOK_ALLOW_HTTP`` admits ``http`` for local receivers), no
credentials in the URL, and a host whose addresses the egress policy allows, judged as
for providers (``mailpass_common.platform.egress``): the same rules apply again at every
connection, where they are the guarantee (a name may resolve elsewhere tomorrow). A name
that does not resolve yet is accepted: it reaches nothing.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from mailpass_common.platform.egress import EgressRefused
from mailpass_common.platform.settings import CommonSettings

MAX_URL_LENGTH = 2048


async def url_problem(url: str, settings: CommonSettings) -> str | None:
    """Why ``url`` cannot be a webhook endpoint, in words for the tenant; None if it can."""
    if len(url) > MAX_URL_LENGTH:
        return f"must be at most {MAX_URL_LENGTH} characters"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "is not a valid URL"
    schemes = ("https", "http") if settings.webhook_allow_http else ("https",)
    if parts.scheme not in schemes:
        return "must be an https:// URL"
    if not parts.hostname:
        return "must name a host"
    if parts.username is not None or parts.password is not None:
        return "must not carry credentials: verify our signature instead"
    if any(ord(c) < 0x21 or ord(c) == 0x7F for c in url):
        return "must not contain spaces or control characters"
    try:
        await settings.egress_policy().resolve(
            parts.hostname, port or (443 if parts.scheme == "https" else 80)
        )
    except EgressRefused as exc:
        return f"refused: {exc}"
    except (OSError, TimeoutError):
        return None
    return None
