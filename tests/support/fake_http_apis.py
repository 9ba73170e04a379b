"""Local stand-ins for the providers' HTTP APIs, served for real by uvicorn: what they
share (:class:`FakeApi`), and SendGrid v3's (Mailgun's: ``fake_mailgun``; Postmark's and
Resend's: ``fake_postmark_resend``).

They check requests the way the providers' references describe them (auth, required fields,
documented constraints) and answer with the documented bodies, including the error shapes:
SendGrid ``{"errors": [{"message", "field", "help"}]}``. Accepted requests are recorded for
assertions; ``fail_next`` makes the next calls fail.
"""

from __future__ import annotations

import asyncio
import base64
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any, Self

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from tests.support.services import free_port

# SendGrid's Mail Send reference: headers a sender "may not override".
SENDGRID_RESERVED_HEADERS = {
    "x-sg-id",
    "x-sg-eid",
    "received",
    "dkim-signature",
    "content-type",
    "content-transfer-encoding",
    "to",
    "from",
    "subject",
    "reply-to",
    "cc",
    "bcc",
}


class _Served:
    """Runs an ASGI app under uvicorn on 127.0.0.1 in a background thread."""

    def __init__(self, app: FastAPI) -> None:
        self.port = free_port()
        self._server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        )
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError(f"fake API did not start on port {self.port}")
            time.sleep(0.02)

    def stop(self) -> None:
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(10)


@dataclass
class Failure:
    status: int
    message: str


class FakeApi:
    """Shared by both fakes: the served app, what was accepted, and failures on demand."""

    def __init__(self, api_key: str, app: FastAPI) -> None:
        self.api_key = api_key
        self.received: list[Any] = []
        self.fail_next: list[Failure] = []
        # Seconds to wait before answering, to make a client time out.
        self.stall_seconds = 0.0
        self._served = _Served(app)

    async def _stall(self) -> None:
        if self.stall_seconds:
            await asyncio.sleep(self.stall_seconds)

    def fail(self, status: int, message: str, times: int = 1) -> None:
        """Answer the next ``times`` authorized calls with ``status`` and the API's error body."""
        self.fail_next.extend(Failure(status, message) for _ in range(times))

    @property
    def base_url(self) -> str:
        return self._served.base_url

    def start(self) -> Self:
        self._served.start()
        return self

    def stop(self) -> None:
        self._served.stop()


def _sendgrid_error(status: int, message: str, field_name: str | None = None) -> JSONResponse:
    return JSONResponse(
        {"errors": [{"message": message, "field": field_name, "help": None}]}, status_code=status
    )


def _sendgrid_problems(body: Any) -> list[tuple[str, str | None]]:
    """The Mail Send rules a sender can break with this client's payloads."""
    if not isinstance(body, dict):
        return [("Bad Request", None)]
    problems: list[tuple[str, str | None]] = []
    personalizations = body.get("personalizations")
    if not isinstance(personalizations, list) or not personalizations:
        problems.append(("You must have at least one personalization.", "personalizations"))
        personalizations = []
    for i, p in enumerate(personalizations):
        if not p.get("to"):
            problems.append(("The to array is required.", f"personalizations.{i}.to"))
        seen: set[str] = set()
        for kind in ("to", "cc", "bcc"):
            for r in p.get(kind) or []:
                address = str(r.get("email", "")).lower()
                if "@" not in address:
                    problems.append(
                        ("Does not contain a valid address.", f"personalizations.{i}.{kind}")
                    )
                elif address in seen:
                    problems.append(
                        (
                            "Each email address in the personalization block should be unique "
                            "between to, cc, and bcc.",
                            f"personalizations.{i}.{kind}",
                        )
                    )
                seen.add(address)
    if not (body.get("from") or {}).get("email"):
        problems.append(("The from object must be provided for every email send.", "from"))
    if not body.get("subject") and not all(p.get("subject") for p in personalizations):
        problems.append(("The subject is required.", "subject"))
    content = body.get("content")
    if not isinstance(content, list) or not content:
        problems.append(("Unless a valid template_id is provided, content is required.", "content"))
        content = []
    types = [c.get("type") for c in content]
    if any(not c.get("value") for c in content):
        problems.append(("The content value must be a string at least one character.", "content"))
    if "text/plain" in types and types[0] != "text/plain":
        problems.append(("If present, text/plain must be first.", "content"))
    if "text/html" in types and "text/plain" in types and types.index("text/html") != 1:
        problems.append(("If present, text/html must follow text/plain.", "content"))
    for name, value in (body.get("headers") or {}).items():
        if name.lower() in SENDGRID_RESERVED_HEADERS or not isinstance(value, str):
            problems.append((f"The header {name} is reserved or not a string.", "headers"))
    categories = body.get("categories") or []
    if len(categories) > 10 or len(set(categories)) != len(categories):
        problems.append(("Categories must be unique and at most 10.", "categories"))
    if not all(isinstance(v, str) for v in (body.get("custom_args") or {}).values()):
        problems.append(("Custom args values must be strings.", "custom_args"))
    for i, attachment in enumerate(body.get("attachments") or []):
        problems += _sendgrid_attachment_problems(i, attachment)
    return problems


def _sendgrid_attachment_problems(i: int, attachment: Any) -> list[tuple[str, str | None]]:
    """Mail Send's ``attachments[]``: base64 content and a filename are required; the
    disposition is inline or attachment, and an inline one needs a content_id."""
    where = f"attachments.{i}"
    problems: list[tuple[str, str | None]] = []
    try:
        base64.b64decode(str(attachment.get("content") or ""), validate=True)
    except ValueError:
        problems.append(("The attachment content must be base64 encoded.", f"{where}.content"))
    if not attachment.get("content"):
        problems.append(("The attachment content is required.", f"{where}.content"))
    if not attachment.get("filename"):
        problems.append(("The attachment filename is required.", f"{where}.filename"))
    disposition = attachment.get("disposition", "attachment")
    if disposition not in ("inline", "attachment"):
        problems.append(("The disposition must be inline or attachment.", f"{where}.disposition"))
    if disposition == "inline" and not attachment.get("content_id"):
        problems.append(("An inline attachment needs a content_id.", f"{where}.content_id"))
    return problems


class FakeSendGrid(FakeApi):
    """``POST /v3/mail/send`` and ``GET /v3/scopes``; records accepted JSON bodies."""

    def __init__(self, api_key: str = "SG.test-key", scopes: tuple[str, ...] = ("mail.send",)):
        self.scopes = list(scopes)
        self.message_ids: list[str] = []
        app = FastAPI()
        app.post("/v3/mail/send")(self._send)
        app.get("/v3/scopes")(self._scopes)
        super().__init__(api_key, app)

    def _authorized(self, request: Request) -> bool:
        return request.headers.get("authorization") == f"Bearer {self.api_key}"

    def _failure(self) -> JSONResponse | None:
        if self.fail_next:
            failure = self.fail_next.pop(0)
            return _sendgrid_error(failure.status, failure.message)
        return None

    async def _send(self, request: Request) -> Response:
        await self._stall()
        if not self._authorized(request):
            return _sendgrid_error(
                401, "The provided authorization grant is invalid, expired, or revoked"
            )
        if request.headers.get("content-type", "").split(";")[0] != "application/json":
            return _sendgrid_error(415, "Content-Type should be application/json.")
        failure = self._failure()
        if failure is not None:
            return failure
        body = await request.json()
        problems = _sendgrid_problems(body)
        if problems:
            return JSONResponse(
                {"errors": [{"message": m, "field": f, "help": None} for m, f in problems]},
                status_code=400,
            )
        self.received.append(body)
        message_id = secrets.token_urlsafe(16)
        self.message_ids.append(message_id)
        return Response(status_code=202, headers={"X-Message-Id": message_id})

    async def _scopes(self, request: Request) -> Response:
        if not self._authorized(request):
            return _sendgrid_error(401, "authorization required")
        failure = self._failure()
        return failure or JSONResponse({"scopes": self.scopes})
