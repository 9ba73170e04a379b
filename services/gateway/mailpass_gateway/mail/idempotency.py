"""Running a send endpoint under an ``Idempotency-Key``
(see ``mailpass_common.messages.idempotency``).

Which outcomes are kept and replayed: those after which the message exists — 200 sent,
202 queued, a batch's 200, and 500 SEND_FAILED (the message is recorded as failed).
Refusals that happen before anything is stored (422 NO_SMTP_PROVIDER, 429
SEND_LIMIT_EXCEEDED) release the key instead, so the client's retry with the same key,
once the cause is gone, is actually tried. Any other failure (MongoDB gone mid-insert,
the broker, a bug) may have stored messages or not: the key is marked interrupted, and
the retry runs the request again under the same message ids (see
``mailpass_common.messages.idempotency``), finding what was stored instead of storing it twice.
Records are kept per key mode (``test``): a live key never replays a test key's response.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from fastapi import Response
from fastapi.responses import JSONResponse

from mailpass_common.messages import idempotency
from mailpass_common.platform.db import Database
from mailpass_common.platform.errors import ErrorCode
from mailpass_common.platform.telemetry import log_fields
from mailpass_gateway.errors import ApiError, counted
from mailpass_gateway.mail.service import MessageIds

log = logging.getLogger(__name__)

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
    domain: str,
    produce: Callable[[MessageIds], Awaitable[JSONResponse]],
) -> Response:
    if key is None:
        return await produce(MessageIds(domain))
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
            response = await produce(MessageIds(domain, claim.nonce))
        except ApiError as exc:
            if exc.code not in KEPT_ERROR_CODES:
                raise
            counted(exc.code)
            response = exc.response()
    except ApiError:
        await idempotency.release(db, claim)  # refused before anything was stored
        raise
    except BaseException:
        # Stored or not, unknown: the retry takes over with the same ids. If MongoDB is
        # what failed, this may fail too; the record is then taken over once stale.
        with contextlib.suppress(Exception):
            await idempotency.interrupt(db, claim)
        log.warning("keyed request interrupted", extra=log_fields(endpoint=endpoint))
        raise
    await idempotency.complete(db, claim, response.status_code, bytes(response.body).decode())
    return response
