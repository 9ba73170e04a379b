"""Reading the console's forms: ``application/x-www-form-urlencoded`` bodies.

The console's forms post only text fields (no uploads), so they are parsed here with the
standard library rather than with a multipart parser the gateway would otherwise not need.
"""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass

from fastapi import Request

from mailpass_common.platform.errors import ErrorCode
from mailpass_gateway.errors import ApiError

# A form of the console is a few kilobytes (a CA certificate is the largest field).
MAX_FORM_BYTES = 256 * 1024


@dataclass(frozen=True)
class Form:
    fields: dict[str, list[str]]

    def get(self, name: str) -> str:
        """The field's value, stripped; "" when absent."""
        values = self.fields.get(name)
        return values[0].strip() if values else ""

    def getlist(self, name: str) -> list[str]:
        return [value.strip() for value in self.fields.get(name, [])]

    def has(self, name: str) -> bool:
        return name in self.fields


async def read_form(request: Request) -> Form:
    cached: Form | None = getattr(request.state, "form", None)
    if cached is not None:
        return cached
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise ApiError(ErrorCode.PAYLOAD_TOO_LARGE, f"A form is at most {MAX_FORM_BYTES} bytes")
    content_type = request.headers.get("content-type", "").split(";")[0].strip()
    if body and content_type != "application/x-www-form-urlencoded":
        raise ApiError(ErrorCode.VALIDATION_ERROR, "The console takes url-encoded forms only")
    try:
        text = body.decode()
    except UnicodeDecodeError as exc:
        raise ApiError(ErrorCode.VALIDATION_ERROR, "The form is not UTF-8") from exc
    try:
        fields = urllib.parse.parse_qs(text, keep_blank_values=True, max_num_fields=200)
    except ValueError as exc:
        raise ApiError(ErrorCode.VALIDATION_ERROR, "The form has too many fields") from exc
    form = Form(fields)
    request.state.form = form
    return form
