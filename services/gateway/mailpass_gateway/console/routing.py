"""The console's route class: failures become pages, not JSON.

The API answers refusals in the JSON envelope; a person in a browser gets a page with
the same stable code and sentence, and the same HTTP status. No live session sends the
browser to the sign-in page, remembering where it was going.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse
from fastapi.routing import APIRoute

from mailpass_common.platform.errors import ERRORS, ErrorCode
from mailpass_gateway.console.deps import SignInRequired
from mailpass_gateway.console.pages import render
from mailpass_gateway.errors import ApiError, counted, validation_details


def error_page(request: Request, error: ApiError) -> Response:
    counted(error.code)
    return render(
        request,
        "error.html",
        session=getattr(request.state, "console_session", None),
        status=ERRORS[error.code].status,
        headers=error.headers,
        error=error,
    )


def sign_in_redirect(request: Request, notice: str | None) -> Response:
    params = {}
    if request.method == "GET" and request.url.path != "/console/":
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        params["next"] = target
    if notice:
        params["notice"] = notice
    query = f"?{urllib.parse.urlencode(params)}" if params else ""
    return RedirectResponse(f"/console/sign-in{query}", status_code=303)


class ConsoleRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def console_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except SignInRequired as exc:
                return sign_in_redirect(request, exc.notice)
            except ApiError as exc:
                return error_page(request, exc)
            except RequestValidationError as exc:
                details = validation_details(exc.errors())
                fields = ", ".join(d["field"] for d in details)
                return error_page(
                    request,
                    ApiError(ErrorCode.VALIDATION_ERROR, f"Invalid request: {fields}", details),
                )

        return console_handler
