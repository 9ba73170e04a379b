"""Local stand-ins for Postmark's and Resend's email APIs, served for real by uvicorn.

They check requests as the references describe them and answer with the documented bodies:

- Postmark: ``X-Postmark-Server-Token``; ``POST /email`` needs ``From``, ``To``,
  ``Subject`` and a ``HtmlBody`` or ``TextBody``, answers ``{"To", "SubmittedAt",
  "MessageID", "ErrorCode": 0, "Message": "OK"}``; errors are ``{"ErrorCode", "Message"}``
  (401 for a bad token, 422 for a bad request); ``GET /server`` answers the server.
- Resend: ``Authorization: Bearer``; ``POST /emails`` needs ``from``, ``to`` (a list),
  ``subject`` and ``html`` or ``text``, answers ``{"id"}``; errors are
  ``{"statusCode", "name", "message"}`` (403 ``invalid_api_key``, 422
  ``validation_error``); ``GET /domains`` answers a full-access key and refuses a
  sending-only key with 401 ``restricted_api_key``.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from tests.support.fake_http_apis import FakeApi


def _postmark_error(status: int, code: int, message: str) -> JSONResponse:
    return JSONResponse({"ErrorCode": code, "Message": message}, status_code=status)


class FakePostmark(FakeApi):
    def __init__(self, api_key: str = "pm-server-token") -> None:
        self.message_ids: list[str] = []
        app = FastAPI()
        app.post("/email")(self._send)
        app.get("/server")(self._server)
        super().__init__(api_key, app)

    def _authorized(self, request: Request) -> bool:
        return request.headers.get("x-postmark-server-token") == self.api_key

    def _failure(self) -> JSONResponse | None:
        if self.fail_next:
            failure = self.fail_next.pop(0)
            return _postmark_error(failure.status, 406, failure.message)
        return None

    async def _send(self, request: Request) -> Response:
        await self._stall()
        if not self._authorized(request):
            return _postmark_error(401, 10, "Request does not contain a valid Server token.")
        failure = self._failure()
        if failure is not None:
            return failure
        body: Any = await request.json()
        missing = [f for f in ("From", "To", "Subject") if not body.get(f)]
        if missing or not (body.get("HtmlBody") or body.get("TextBody")):
            return _postmark_error(422, 300, f"Invalid email request: {missing or 'no body'}")
        self.received.append(body)
        message_id = str(uuid.uuid4())
        self.message_ids.append(message_id)
        return JSONResponse(
            {
                "To": body["To"],
                "SubmittedAt": "2026-12-06T20:00:00.0000000-05:00",
                "MessageID": message_id,
                "ErrorCode": 0,
                "Message": "OK",
            }
        )

    async def _server(self, request: Request) -> Response:
        if not self._authorized(request):
            return _postmark_error(401, 10, "Request does not contain a valid Server token.")
        return self._failure() or JSONResponse({"ID": 1, "Name": "Staging", "Color": "red"})


def _resend_error(status: int, name: str, message: str) -> JSONResponse:
    return JSONResponse(
        {"statusCode": status, "name": name, "message": message}, status_code=status
    )


class FakeResend(FakeApi):
    def __init__(self, api_key: str = "re_full_key", sending_key: str = "re_sending_key") -> None:
        self.sending_key = sending_key
        self.ids: list[str] = []
        app = FastAPI()
        app.post("/emails")(self._send)
        app.get("/domains")(self._domains)
        super().__init__(api_key, app)

    def _key(self, request: Request) -> str | None:
        given = request.headers.get("authorization", "").removeprefix("Bearer ")
        return given if given in (self.api_key, self.sending_key) else None

    async def _send(self, request: Request) -> Response:
        await self._stall()
        if self._key(request) is None:
            return _resend_error(403, "invalid_api_key", "API key is invalid")
        if self.fail_next:
            failure = self.fail_next.pop(0)
            return _resend_error(failure.status, "application_error", failure.message)
        body: Any = await request.json()
        missing = [f for f in ("from", "to", "subject") if not body.get(f)]
        if missing or not isinstance(body.get("to"), list):
            return _resend_error(422, "validation_error", f"Missing `{missing}` field.")
        if not (body.get("html") or body.get("text")):
            return _resend_error(422, "validation_error", "Missing `html` or `text` field.")
        self.received.append(body)
        self.ids.append(str(uuid.uuid4()))
        return JSONResponse({"id": self.ids[-1]})

    async def _domains(self, request: Request) -> Response:
        key = self._key(request)
        if key is None:
            return _resend_error(403, "invalid_api_key", "API key is invalid")
        if key == self.sending_key:
            return _resend_error(
                401, "restricted_api_key", "This API key is restricted to only send emails"
            )
        return JSONResponse({"data": [{"id": "d1", "name": "acme.test", "status": "verified"}]})
