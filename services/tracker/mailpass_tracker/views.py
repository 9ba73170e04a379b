"""``GET /t/o/{token}`` (open pixel) and ``GET /t/c/{token}`` (click redirect).

A handler verifies the token (HMAC, no database) and hands the hit to the event writer;
it never waits on MongoDB. A token that does not verify, or a token of the other kind
(an open token on the click route), gets 404 and nothing is recorded, so the redirect
only ever goes to a target this installation signed: no open redirect.
"""

from __future__ import annotations

import base64

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from mailpass_common.messages.models import EventType
from mailpass_common.messages.signed_links import TrackedClick, TrackedOpen, normalize_target
from mailpass_common.platform.errors import ERRORS, ErrorCode, error_body
from mailpass_tracker.clientip import TrustedProxies
from mailpass_tracker.deps import Proxies, Signer, Writer
from mailpass_tracker.ingest import TrackingHit
from mailpass_tracker.metrics import INVALID_TOKENS

# The smallest transparent GIF: 1x1, one transparent palette entry (43 bytes).
TRANSPARENT_GIF = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")

# Every open should reach us: no browser, mail client or shared proxy may serve a copy.
NO_CACHE = {
    "Cache-Control": "no-store, no-cache, must-revalidate, max-age=0, private",
    "Pragma": "no-cache",
    "Expires": "0",
}
# The tracker URL (message id included) is not the target site's business.
REDIRECT_HEADERS = {**NO_CACHE, "Referrer-Policy": "no-referrer"}


router = APIRouter(prefix="/t", include_in_schema=False)


def _reader(request: Request, proxies: TrustedProxies) -> tuple[str | None, str | None]:
    """(ip_address, user_agent) of whoever sent the request."""
    peer = request.client.host if request.client else None
    ip = proxies.client_ip(peer, request.headers.getlist("x-forwarded-for"))
    return ip, request.headers.get("user-agent")


def _not_found(kind: str) -> JSONResponse:
    INVALID_TOKENS.labels(kind).inc()
    # Uncacheable like every tracker answer: the same link may verify under another key.
    body = error_body(ErrorCode.NOT_FOUND, "This tracking link is not valid.")
    return JSONResponse(body, status_code=ERRORS[ErrorCode.NOT_FOUND].status, headers=NO_CACHE)


@router.get("/o/{token}")
async def open_pixel(
    token: str, request: Request, writer: Writer, signer: Signer, proxies: Proxies
) -> Response:
    tracked = signer.verify(token)
    if not isinstance(tracked, TrackedOpen):
        return _not_found("open")
    ip, user_agent = _reader(request, proxies)
    writer.enqueue(TrackingHit.open(tracked.message_id, ip, user_agent))
    return Response(TRANSPARENT_GIF, media_type="image/gif", headers=NO_CACHE)


@router.get("/c/{token}")
async def click_redirect(
    token: str, request: Request, writer: Writer, signer: Signer, proxies: Proxies
) -> Response:
    tracked = signer.verify(token)
    if not isinstance(tracked, TrackedClick):
        return _not_found("click")
    try:
        # Targets are signed in ASCII form; links sent before that may still carry an
        # international host or path, which a Location header cannot hold as it is.
        location = normalize_target(tracked.target)
    except ValueError:
        return _not_found("click")
    ip, user_agent = _reader(request, proxies)
    writer.enqueue(
        TrackingHit(
            tracked.message_id,
            EventType.CLICK,
            ip,
            user_agent,
            url=location,
            link_index=tracked.link_index,
        )
    )
    # The target was validated (absolute http(s), no control characters) when signed.
    return Response(status_code=302, headers={**REDIRECT_HEADERS, "Location": location})
