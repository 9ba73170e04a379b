"""``/t/unsubscribe/{token}``: one-click unsubscribe (RFC 8058).

- ``POST`` with the body ``List-Unsubscribe=One-Click`` (form-urlencoded or multipart,
  as RFC 8058 has mail clients send it) suppresses the recipient for the account,
  reason ``unsubscribed``, at once: the answer comes after the database has it, and an
  ``unsubscribed`` webhook event follows. No page, no cookie, no redirect.
- ``GET`` shows a page with a button that makes that same ``POST``. It changes nothing:
  link scanners and previews fetch links, and must not unsubscribe anyone.

The token is verified first (HMAC, no database); one that does not verify is 404. The
body is read up to :data:`MAX_BODY_BYTES`. Should MongoDB not answer within
``TRACKER_WRITE_TIMEOUT_SECONDS``, the answer is 503 (the mail client may retry) rather
than a success that was not recorded.
"""

from __future__ import annotations

import email.parser
import email.policy
from html import escape
from urllib.parse import parse_qs

import pymongo
from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse
from pymongo.errors import PyMongoError

from mailpass_common.unsubscribe.links import PATH
from mailpass_common.unsubscribe.record import unsubscribe
from mailpass_tracker.deps import Db, Unsubscribes
from mailpass_tracker.metrics import INVALID_TOKENS
from mailpass_tracker.settings import TrackerSettings
from mailpass_tracker.views import NO_CACHE

MAX_BODY_BYTES = 4096
SOURCE = "unsubscribe"
PAGE_HEADERS = {
    **NO_CACHE,
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}
_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{title}</title>
<style>body{{font:16px/1.5 system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem}}
button{{font:inherit;padding:.5rem 1rem;cursor:pointer}}</style></head>
<body><h1>{title}</h1>{body}</body></html>"""

router = APIRouter(prefix=PATH.rstrip("/"), include_in_schema=False)


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(
        _PAGE.format(title=escape(title), body=body), status_code=status, headers=PAGE_HEADERS
    )


def _not_found() -> HTMLResponse:
    INVALID_TOKENS.labels("unsubscribe").inc()
    return _page("Link not valid", "<p>This unsubscribe link is not valid.</p>", 404)


async def _bounded_body(request: Request) -> bytes | None:
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            return None
    return body


def _one_click(content_type: str, body: bytes) -> bool:
    """Whether the body is RFC 8058's ``List-Unsubscribe=One-Click``."""
    kind = content_type.split(";", 1)[0].strip().lower()
    if kind == "multipart/form-data":
        head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
        if not message.is_multipart():
            return False
        for part in message.iter_parts():
            if part.get_param("name", header="content-disposition") == "List-Unsubscribe":
                payload = part.get_payload(decode=True)
                return isinstance(payload, bytes) and payload.strip() == b"One-Click"
        return False
    try:
        fields = parse_qs(body.decode("ascii"), strict_parsing=False)
    except UnicodeDecodeError:
        return False
    return fields.get("List-Unsubscribe") == ["One-Click"]


@router.get("/{token}")
async def unsubscribe_page(token: str, signer: Unsubscribes) -> Response:
    link = signer.verify(token)
    if link is None:
        return _not_found()
    body = (
        f"<p>Stop emails to <strong>{escape(link.recipient)}</strong> from this sender?</p>"
        '<form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click">'
        '<button type="submit">Unsubscribe</button></form>'
    )
    return _page("Unsubscribe", body)


@router.post("/{token}")
async def unsubscribe_one_click(
    token: str, request: Request, signer: Unsubscribes, db: Db
) -> Response:
    link = signer.verify(token)
    if link is None:
        return _not_found()
    body = await _bounded_body(request)
    if body is None:
        return _page("Request too large", "<p>The request is too large.</p>", 413)
    if not _one_click(request.headers.get("content-type", ""), body):
        return _page(
            "Not unsubscribed",
            "<p>An unsubscribe request carries <code>List-Unsubscribe=One-Click</code>.</p>",
            400,
        )
    settings: TrackerSettings = request.app.state.settings
    try:
        with pymongo.timeout(settings.tracker_write_timeout_seconds):
            await unsubscribe(db, link, source=SOURCE)
    except PyMongoError:
        return _page("Try again", "<p>This could not be recorded now; try again.</p>", 503)
    return _page(
        "Unsubscribed",
        f"<p><strong>{escape(link.recipient)}</strong> will get no more emails "
        "from this sender.</p>",
    )
