"""Accepting a message: the steps every way in shares (the Mail Send API's ``/send``,
a resend, SMTP submission), so a message is stored and delivered the same way whichever
way it came.

1. :func:`default_provider`: the account's default provider, or NO_SMTP_PROVIDER.
2. the caller's own checks (the request's fields, or the SMTP transaction), suppressions,
   the message document and its stored bodies (:mod:`mailpass_common.bodies`, written
   before the message so a sender never finds a message without its bytes);
3. :func:`accept`: count it against the provider's hourly and daily limits
   (SEND_LIMIT_EXCEEDED), then insert the document, the outbox; a failed insert gives the
   reservation back. Once it returns the message exists: that is when the API answers
   200/202 and SMTP answers 250;
4. :func:`publish`: the job for the sender. A publish that fails leaves the message
   ``queued``, and the scheduler's recovery publishes it (the document is the outbox).
"""

from __future__ import annotations

import logging
from typing import Protocol

from mailpass_common import limits, messages
from mailpass_common.broker import JobPublisher
from mailpass_common.db import Database, Document
from mailpass_common.documents import MessageDocument, MessageKind
from mailpass_common.errors import ApiError, ErrorCode
from mailpass_common.jobs import SendJob
from mailpass_common.providers import ProviderCache
from mailpass_common.telemetry import log_fields

log = logging.getLogger(__name__)


class Caller(Protocol):
    """Who asks: an API key or a console session (both name an account and a mode)."""

    @property
    def account_id(self) -> str: ...

    @property
    def test(self) -> bool: ...


async def default_provider(providers: ProviderCache, account_id: str) -> Document:
    provider = await providers.default(account_id)
    if provider is None:
        raise ApiError(
            ErrorCode.NO_SMTP_PROVIDER,
            "No default SMTP provider is configured for this account: "
            "add one and set it as default",
        )
    return provider


async def reserve_send(db: Database, caller: Caller, provider: Document) -> bool:
    """Count one send against the provider's hourly and daily limits, or refuse it
    (SEND_LIMIT_EXCEEDED, with when to retry).

    Test keys deliver to the sandbox capture, never through the provider, so they do not
    use up its quota. Returns whether anything was reserved (to give it back on failure).
    """
    if caller.test or not limits.windows(provider):
        return False
    exceeded = await limits.reserve(db, provider)
    if exceeded is not None:
        raise ApiError(
            ErrorCode.SEND_LIMIT_EXCEEDED,
            f"The provider's {exceeded.window} sending limit ({exceeded.limit}) is reached; "
            f"retry in {exceeded.retry_after_seconds} s",
            {
                "window": exceeded.window,
                "limit": exceeded.limit,
                "retry_after_seconds": exceeded.retry_after_seconds,
            },
            headers={"Retry-After": str(exceeded.retry_after_seconds)},
        )
    return True


async def accept(
    db: Database, caller: Caller, provider: Document, doc: MessageDocument, *, keyed: bool
) -> bool:
    """Reserve the send and insert the message; whether it was stored before (a request
    run again under its Idempotency-Key finds what its first run stored, and reserves
    nothing again). Raises SEND_LIMIT_EXCEEDED, or whatever the insert raised."""
    reserved = await reserve_send(db, caller, provider)
    stored_before = False
    try:
        if keyed:
            stored_before = bool(await messages.insert_new_messages(db, [doc]))
        else:
            await messages.insert_messages(db, [doc])
    except BaseException:
        if reserved:  # nothing was stored: the send it was reserved for will not happen
            await limits.give_back(db, provider)
        raise
    if stored_before and reserved:  # the first run reserved for this message already
        await limits.give_back(db, provider)
    return stored_before


async def publish(publisher: JobPublisher, doc: MessageDocument) -> bool:
    """Publish the message's job on the immediate queue; whether the broker confirmed it.
    A failure is logged, not raised: the message is stored, and the outbox recovery
    publishes it later."""
    try:
        await publisher.publish(SendJob(doc["account_id"], (doc["_id"],)), MessageKind.IMMEDIATE)
    except Exception:
        log.exception(
            "publish failed; message stays queued", extra=log_fields(message_id=doc["_id"])
        )
        return False
    return True
