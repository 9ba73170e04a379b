"""The steps of accepting a message (the package docstring says in which order)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Protocol

from mailpass_common.acceptance.refusals import Refused
from mailpass_common.messages import attachment_store as bodies
from mailpass_common.messages import claims, unpublished
from mailpass_common.messages import service as messages
from mailpass_common.messages.models import MessageDocument
from mailpass_common.platform.broker import JobPublisher
from mailpass_common.platform.db import Database
from mailpass_common.platform.errors import ErrorCode
from mailpass_common.platform.jobs import MessageKind, SendJob
from mailpass_common.platform.telemetry import log_fields
from mailpass_common.providers import limits, registry
from mailpass_common.providers.models import ProviderDocument
from mailpass_common.providers.plugin import Acceptance, AcceptanceRefused
from mailpass_common.providers.service import ProviderCache

log = logging.getLogger(__name__)


class Caller(Protocol):
    """Who asks: an API key or a console session (both name an account and a mode)."""

    @property
    def account_id(self) -> str: ...

    @property
    def test(self) -> bool: ...


async def default_provider(providers: ProviderCache, account_id: str) -> ProviderDocument:
    provider = await providers.default(account_id)
    if provider is None:
        raise Refused(
            ErrorCode.NO_SMTP_PROVIDER,
            "No default SMTP provider is configured for this account: "
            "add one and set it as default",
        )
    return provider


async def refused_senders(
    db: Database, caller: Caller, provider: ProviderDocument, from_emails: Iterable[str]
) -> dict[str, AcceptanceRefused]:
    """The senders among ``from_emails`` the provider's type will not take (its plugin's
    check: MailPass SMTP sends only from the account's verified domains, 422
    DOMAIN_NOT_VERIFIED; most types take any). Checked once for all the senders of a
    batch."""
    senders = tuple(dict.fromkeys(address for address in from_emails if address))
    return await registry.refused_senders(
        Acceptance(db, caller.account_id, provider, senders, caller.test)
    )


async def require_accepted_sender(
    db: Database, caller: Caller, provider: ProviderDocument, from_email: str
) -> None:
    """Raise the provider type's refusal of this sender, if any."""
    refused = await refused_senders(db, caller, provider, [from_email])
    if from_email in refused:
        raise refused[from_email]


async def reserve_send(db: Database, caller: Caller, provider: ProviderDocument) -> bool:
    """Count one send against the provider's hourly and daily limits, or refuse it
    (SEND_LIMIT_EXCEEDED, with when to retry).

    Test keys deliver to the sandbox capture, never through the provider, so they do not
    use up its quota. Returns whether anything was reserved (to give it back on failure).
    """
    if caller.test or not limits.windows(provider):
        return False
    exceeded = await limits.reserve(db, provider)
    if exceeded is not None:
        raise Refused(
            ErrorCode.SEND_LIMIT_EXCEEDED,
            f"The provider's {exceeded.window} sending limit ({exceeded.limit}) is reached; "
            f"retry in {exceeded.retry_after_seconds} s",
            {
                "window": exceeded.window,
                "limit": exceeded.limit,
                "retry_after_seconds": exceeded.retry_after_seconds,
            },
            retry_after_seconds=exceeded.retry_after_seconds,
        )
    return True


async def accept(
    db: Database,
    caller: Caller,
    provider: ProviderDocument,
    doc: MessageDocument,
    *,
    keyed: bool,
    chunks: Sequence[dict[str, object]] = (),
    insert: Callable[[MessageDocument], Awaitable[None]] | None = None,
) -> bool:
    """Reserve the send, store the message's body ``chunks`` (its attachments, or the
    whole message submitted over SMTP), then insert the message; whether it was stored
    before (a request run again under its Idempotency-Key finds what its first run
    stored, and keeps no second reservation). The limit comes first: a send it refuses
    stores nothing. Raises SEND_LIMIT_EXCEEDED, or whatever a write raised.

    ``insert``: how a message not keyed is inserted, when not on its own (the gateway's
    inserts of concurrent requests, sent together: :mod:`mailpass_common.platform.coalesce`)."""
    if not keyed and doc.get("published_at") is not None:
        # Published right after this insert: stored holding the claim its job carries.
        claims.give_at_acceptance([doc])
    reserved = await reserve_send(db, caller, provider)
    stored_before = False
    try:
        await bodies.store(db, chunks)
        if keyed:
            stored_before = bool(await messages.insert_new_messages(db, [doc]))
        elif insert is not None:
            await insert(doc)
        else:
            await messages.insert_messages(db, [doc])
    except BaseException:
        if reserved:  # nothing was stored: the send it was reserved for will not happen
            await limits.give_back(db, provider)
        raise
    if stored_before and reserved:  # the first run reserved for this message already
        await limits.give_back(db, provider)
    return stored_before


async def withdraw(
    db: Database, caller: Caller, provider: ProviderDocument, doc: MessageDocument
) -> None:
    """Undo :func:`accept` for a message without body chunks whose job was never
    published: the message goes, and so does its limit reservation."""
    await unpublished.withdraw(db, doc["_id"])
    if not caller.test and limits.windows(provider):
        await limits.give_back(db, provider)


async def publish(publisher: JobPublisher, doc: MessageDocument) -> bool:
    """Publish the message's job on the immediate queue; whether the broker confirmed it.
    A failure is logged, not raised: the message is stored, and the outbox recovery
    publishes it later."""
    try:
        job = SendJob(doc["account_id"], (doc["_id"],), claims.job_claim(doc))
        await publisher.publish(job, MessageKind.IMMEDIATE)
    except Exception:
        log.exception(
            "publish failed; message stays queued", extra=log_fields(message_id=doc["_id"])
        )
        return False
    return True
