"""Running a send endpoint under an ``Idempotency-Key`` (see ``mailpass_common.idempotency``).

Which outcomes are kept and replayed: those after which the message exists — 200 sent,
202 queued, a batch's 200, and 500 SEND_FAILED (the message is recorded as failed).
Refusals that happen before anything is stored (422 NO_SMTP_PROVIDER, 429
SEND_LIMIT_EXCEEDED, a crash) release the key instead, so the client's retry with the
same key, once the cause is gone, is actually tried. Records are kept per key mode
(``test``): a live key never replays a test key's response.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from fastapi import Response
from fastapi.responses import JSONResponse

from mailpass_common import idempotency
from mailpass_common.db import Database
from mailpass_common.errors import ApiError, ErrorCode
from mailpass_gateway.errors import counted

KEPT_ERROR_CODES = frozenset({ErrorCode.SEND_FAILED})
REPLAYED_HEADER = "Idempotent-Replayed"

_CONFLICTS = {
    "different_request": "This Idempotency-Key was used with a different request body",
    "in_progress": "A request with this Idempotency-Key is still in progress; retry later",
}


async def run_idempotent(
    db: Database,
    *,
    account_id: str,
    test: bool,
    key: str | None,
    endpoint: str,
    body: Any,
    stale_after: timedelta,
    produce: Callable[[], Awaitable[JSONResponse]],
) -> Response:
    if key is None:
        return await produce()
    claim = await idempotency.begin(
        db, account_id, key, idempotency.fingerprint(endpoint, body), stale_after, test=test
    )
    if isinstance(claim, idempotency.Replay):
        return Response(
            claim.body,
            status_code=claim.status_code,
            media_type="application/json",
            headers={REPLAYED_HEADER: "true"},
        )
    if isinstance(claim, idempotency.Conflict):
        raise ApiError(
            ErrorCode.IDEMPOTENCY_CONFLICT, _CONFLICTS[claim.reason], {"reason": claim.reason}
        )
    try:
        try:
            response = await produce()
        except ApiError as exc:
            if exc.code not in KEPT_ERROR_CODES:
                raise
            counted(exc.code)
            response = exc.response()
    except BaseException:
        await idempotency.release(db, claim)
        raise
    await idempotency.complete(db, claim, response.status_code, bytes(response.body).decode())
    return response
