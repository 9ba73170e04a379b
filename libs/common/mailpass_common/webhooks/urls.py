"""Where a webhook may point, checked when it is saved (REST API, CLI and console).

The URL is read by the parser that sends (httpx's, as the webhooks service's client
builds its request, ``Host`` header included), so a URL saved is one the client can
use: an odd IPv6 literal, a host the IDNA rules refuse (a soft hyphen, a joiner), an
empty or over-long DNS label is a 400 here, never an exception at delivery time.

``https`` only (``WEBHOOK_ALLOW_HTTP`` admits ``http`` for local receivers), no
credentials in the URL, and a host whose addresses the egress policy allows, judged as
for providers (``mailpass_common.platform.egress``): the same rules apply again at every
connection, where they are the guarantee (a name may resolve elsewhere tomorrow). A name
that does not resolve yet is accepted: it reaches nothing.
"""

from __future__ import annotations

import httpx

from mailpass_common.platform.egress import EgressRefused
from mailpass_common.platform.settings import CommonSettings

MAX_URL_LENGTH = 2048


async def url_problem(url: str, settings: CommonSettings) -> str | None:
    """Why ``url`` cannot be a webhook endpoint, in words for the tenant; None if it can."""
    if len(url) > MAX_URL_LENGTH:
        return f"must be at most {MAX_URL_LENGTH} characters"
    if any(ord(c) < 0x21 or ord(c) == 0x7F for c in url):
        return "must not contain spaces or control characters"
    try:
        parts = httpx.Request("POST", url).url
        host = parts.raw_host.decode("ascii")  # what the connection pool resolves
    except (httpx.InvalidURL, UnicodeError, ValueError) as exc:
        return f"is not a valid URL: {str(exc)[:200]}"
    schemes = ("https", "http") if settings.webhook_allow_http else ("https",)
    if parts.scheme not in schemes:
        return "must be an https:// URL"
    if not host:
        return "must name a host"
    if parts.userinfo:
        return "must not carry credentials: verify our signature instead"
    try:
        await settings.egress_policy().resolve(
            host, parts.port or (443 if parts.scheme == "https" else 80)
        )
    except EgressRefused as exc:
        return f"refused: {exc}"
    except (OSError, TimeoutError):
        return None
    return None
