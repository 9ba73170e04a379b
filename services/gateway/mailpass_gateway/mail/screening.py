"""``/send``'s common case, stored while its recipients are looked up on the suppression
list: the two round trips side by side, so the request waits for one of them, not both.
What the lookup finds is applied before the job is published (:func:`store_screened`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from mailpass_common.acceptance import service as acceptance
from mailpass_common.acceptance.grouped import Grouped
from mailpass_common.messages import unpublished
from mailpass_common.messages.models import MessageDocument
from mailpass_common.platform.db import Database
from mailpass_common.platform.telemetry import log_fields
from mailpass_common.providers.models import ProviderDocument
from mailpass_common.tenants.api_keys import ApiKeyRecord
from mailpass_gateway.errors import refusals_answered
from mailpass_gateway.mail import suppressed
from mailpass_gateway.mail.models import SendRequest
from mailpass_gateway.mail.provider_check import accepted_by_provider

log = logging.getLogger(__name__)


async def store_screened(
    db: Database,
    request: SendRequest,
    *,
    key: ApiKeyRecord,
    provider: ProviderDocument,
    build: Callable[[], MessageDocument],
    grouped: Grouped,
) -> tuple[MessageDocument, list[dict[str, Any]]]:
    """Store the message while its recipients are looked up on the suppression list: the
    two round trips side by side, one wait instead of two, on the API's busiest path.

    What the lookup finds is applied before the job is published, so the request ends as
    it would with the lookup first: a suppressed ``to`` withdraws the stored message (and
    its limit reservation) and is refused with RECIPIENT_SUPPRESSED, also when the
    request is refused for another reason as well (that refusal came first, and still
    does); suppressed copies are taken off the stored message before it is published; a
    lookup (or a removal of copies) that fails withdraws the message and fails the
    request, and so does a request cancelled meanwhile. Only a withdrawal that fails
    itself (the database lost in between, logged) leaves a message for the outbox
    recovery to publish. Both go out with those of the requests in flight beside it
    (``grouped``).
    """
    message_id: str | None = None
    looking = asyncio.ensure_future(
        grouped.suppressed(key.account_id, suppressed.recipients(request))
    )
    try:
        doc = build()
        message_id = doc["_id"]
        await accepted_by_provider(db, key, provider, doc["from_email"])
        with refusals_answered():
            await acceptance.accept(db, key, provider, doc, keyed=False, insert=grouped.insert)
    except Exception:
        suppressed.screen(request, await _found_anyway(looking))  # its refusal first
        raise
    except BaseException:  # cancelled while storing: the insert may have been made
        looking.cancel()
        if message_id is not None:
            with contextlib.suppress(Exception):  # (accept gave its reservation back)
                await unpublished.withdraw(db, message_id)
        raise
    try:
        screened, dropped = suppressed.screen(request, await looking)
        if dropped:
            await unpublished.drop_copies(db, doc["_id"], list(screened.cc), list(screened.bcc))
    except BaseException:
        await _withdraw(db, key, provider, doc)
        raise
    if dropped:
        doc["cc"], doc["bcc"] = list(screened.cc), list(screened.bcc)
    return doc, dropped


async def _found_anyway(looking: asyncio.Future[dict[str, str]]) -> dict[str, str]:
    """The lookup's answer, or nothing found when it failed (the request fails anyway)."""
    try:
        return await looking
    except Exception:
        return {}


async def _withdraw(
    db: Database, key: ApiKeyRecord, provider: ProviderDocument, doc: MessageDocument
) -> None:
    try:
        await acceptance.withdraw(db, key, provider, doc)
    except Exception:
        log.exception(
            "withdrawing a refused message failed; it stays queued",
            extra=log_fields(message_id=doc["_id"]),
        )
