"""A local stand-in for Mailgun's HTTP API (``POST /v3/{domain}/messages.mime``), served for
real by uvicorn: checked as its reference describes (basic auth, the form's fields), answered
with its bodies, errors as ``{"message": ...}``."""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from tests.support.fake_http_apis import FakeApi


@dataclass
class MailgunSend:
    domain: str
    fields: list[tuple[str, str]]
    mime: bytes

    def values(self, name: str) -> list[str]:
        return [v for k, v in self.fields if k == name]

    @property
    def message(self) -> EmailMessage:
        msg = message_from_bytes(self.mime, policy=policy.default)
        assert isinstance(msg, EmailMessage)
        return msg


def _parse_form(content_type: str, body: bytes) -> tuple[list[tuple[str, str]], dict[str, bytes]]:
    """multipart/form-data into (text fields, file fields), with the stdlib MIME parser."""
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    form = message_from_bytes(head + body, policy=policy.HTTP)
    fields: list[tuple[str, str]] = []
    files: dict[str, bytes] = {}
    if not form.is_multipart():
        return fields, files
    for part in form.iter_parts():
        name = part.get_param("name", header="content-disposition")
        raw = part.get_payload(decode=True)
        payload = raw if isinstance(raw, bytes) else b""
        if part.get_param("filename", header="content-disposition") is not None:
            files[str(name)] = payload
        else:
            fields.append((str(name), payload.decode()))
    return fields, files


class FakeMailgun(FakeApi):
    """``POST /v3/{domain}/messages.mime`` and ``GET /v4/domains/{domain}``."""

    def __init__(self, api_key: str = "key-test", domain: str = "mg.example.test"):
        self.domain = domain
        self.state = "active"
        app = FastAPI()
        app.post("/v3/{domain}/messages.mime")(self._send_mime)
        app.get("/v4/domains/{domain}")(self._get_domain)
        super().__init__(api_key, app)

    def _auth_error(self, request: Request) -> JSONResponse | None:
        expected = "Basic " + base64.b64encode(f"api:{self.api_key}".encode()).decode()
        if request.headers.get("authorization") != expected:
            return JSONResponse({"message": "Invalid private key"}, status_code=401)
        if self.fail_next:
            failure = self.fail_next.pop(0)
            return JSONResponse({"message": failure.message}, status_code=failure.status)
        return None

    async def _send_mime(self, domain: str, request: Request) -> Response:
        await self._stall()
        error = self._auth_error(request)
        if error is not None:
            return error
        if domain != self.domain:
            return JSONResponse({"message": f"Domain not found: {domain}"}, status_code=404)
        fields, files = _parse_form(request.headers.get("content-type", ""), await request.body())
        recipients = [a.strip() for k, v in fields if k == "to" for a in v.split(",")]
        if not recipients:
            return JSONResponse({"message": "to parameter is missing"}, status_code=400)
        if any("@" not in a for a in recipients):
            return JSONResponse(
                {"message": "to parameter is not a valid address. please check documentation"},
                status_code=400,
            )
        if "message" not in files:
            missing = any(k == "message" for k, _ in fields)
            text = (
                "'message' parameter is not a file" if missing else "message parameter is missing"
            )
            return JSONResponse({"message": text}, status_code=400)
        sent = MailgunSend(domain, fields, files["message"])
        self.received.append(sent)
        # Mailgun keeps the Message-ID of a MIME upload and answers with it as the id.
        message_id = sent.message["Message-ID"] or f"<{secrets.token_hex(8)}@{domain}>"
        return JSONResponse({"id": str(message_id), "message": "Queued. Thank you."})

    async def _get_domain(self, domain: str, request: Request) -> Response:
        error = self._auth_error(request)
        if error is not None:
            return error
        if domain != self.domain:
            return JSONResponse({"message": "Domain not found"}, status_code=404)
        return JSONResponse(
            {
                "domain": {"name": domain, "state": self.state, "type": "custom"},
                "receiving_dns_records": [],
                "sending_dns_records": [],
            }
        )
