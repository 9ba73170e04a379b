"""The steps of accepting a message (the package docstring says in which order)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Sequence
from typing import Protocol

from mailpass_common.acceptance.refusals import Refused
from mailpass_common.messages import attachment_store as bodies
from mailpass_common.messages import service as messages
from mailpass_common.messages.models import MessageDocument
from mailpass_common.mta.domains import verified_domain
from mailpass_common.mta.provider import TYPE as MAILPASS_TYPE
from mailpass_common.platform.broker import JobPublisher
from mailpass_common.platform.db import Database, Document
from mailpass_common.platform.errors import ErrorCode
from mailpass_common.platform.jobs import MessageKind, SendJob
from mailpass_common.platform.telemetry import log_fields
from mailpass_common.providers import limits
from mailpass_common.providers.service import ProviderCache

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
        raise Refused(
            ErrorCode.NO_SMTP_PROVIDER,
            "No default SMTP provider is configured for this account: "
            "add one and set it as default",
        )
    return provider


def domain_of(address: str) -> str:
    return address.rpartition("@")[2].lower()


async def unverified_domains(
    db: Database, provider: Document, account_id: str, from_emails: Iterable[str]
) -> set[str]:
    """The From domains among ``from_emails`` this provider may not send from.

    MailPass's own delivery (the ``mailpass`` provider type) sends only from the account's
    verified sending domains: it signs with the domain's DKIM key, and mail from a domain
    it holds no verified key for would be refused by receivers, or worse, sent in the name
    of someone else's domain. Test keys are held to the same rule. Other provider types
    answer for their senders themselves. One index-served read per distinct domain.
    """
    if provider.get("type") != MAILPASS_TYPE:
        return set()
    domains = sorted({domain_of(address) for address in from_emails if address})
    found = await asyncio.gather(*(verified_domain(db, account_id, d) for d in domains))
    return {d for d, verified in zip(domains, found, strict=True) if verified is None}


def unverified_refusal(domain: str) -> Refused:
    return Refused(
        ErrorCode.DOMAIN_NOT_VERIFIED,
        f"{domain} is not a verified sending domain of this account: MailPass SMTP sends "
        "only from verified domains (POST /api/v1/domains, publish its records, then verify)",
        {"domain": domain},
    )


async def require_verified_sender(
    db: Database, provider: Document, account_id: str, from_email: str
) -> None:
    """Refuse (DOMAIN_NOT_VERIFIED) a From this provider may not send from."""
    if await unverified_domains(db, provider, account_id, [from_email]):
        raise unverified_refusal(domain_of(from_email))


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
    provider: Document,
    doc: MessageDocument,
    *,
    keyed: bool,
    chunks: Sequence[dict[str, object]] = (),
) -> bool:
    """Reserve the send, store the message's body ``chunks`` (its attachments, or the
    whole message submitted over SMTP), then insert the message; whether it was stored
    before (a request run again under its Idempotency-Key finds what its first run
    stored, and keeps no second reservation). The limit comes first: a send it refuses
    stores nothing. Raises SEND_LIMIT_EXCEEDED, or whatever a write raised."""
    reserved = await reserve_send(db, caller, provider)
    stored_before = False
    try:
        await bodies.store(db, chunks)
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
