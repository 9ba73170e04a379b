"""The ``/send`` answer is built as a plain dict (no model per request): it must be what
its documented model, ``SendResponse``, says, field for field."""

from __future__ import annotations

from typing import Any

import pytest

from mailpass_gateway.mail.responses import SendResponse, send_body

DROPPED = [{"address": "cc@example.com", "field": "cc", "reason": "bounce"}]


@pytest.mark.parametrize(
    ("status", "suppressed", "scheduled_at"),
    [
        ("sent", [], None),
        ("queued", DROPPED, None),
        ("scheduled", DROPPED, "2026-12-31T23:59:00"),
    ],
)
def test_the_send_body_is_the_documented_models_dump(
    status: Any, suppressed: list[dict[str, Any]], scheduled_at: str | None
) -> None:
    body = send_body(
        "<m1@mailpass>", status, "to@example.com", "from@example.com", suppressed, scheduled_at
    )
    model = SendResponse.model_validate(body)
    assert model.model_dump(by_alias=True, exclude_none=True) == body
    assert list(body["data"]) == list(model.data.model_dump(by_alias=True, exclude_none=True))
    assert ("suppressed" in body["data"]) is bool(suppressed)
