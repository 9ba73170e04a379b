"""Trying a message's providers in order until one accepts it.

The order: the message's provider (the account's default when the message was accepted,
or the current default if that one is gone), then the account's fallbacks, the providers
with a numeric ``fallback_priority``, lowest first. A provider is passed over when its
circuit breaker is open, or (fallbacks only) when its hourly/daily limit is used up: the
default's send was already counted when the message was accepted or scheduled.

Every provider may refuse, temporarily or permanently, and the chain moves on either
way: a permanent refusal is often about that provider (bad credentials, a sender address
it has not verified), so another may still deliver. The message fails at once only when
every provider refused permanently; if any refusal was temporary it is retried later.
Fallbacks are read only when the default did not deliver, so the common path costs one
provider lookup.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from mailpass_common import limits
from mailpass_common.accounts import get_default_provider, get_provider
from mailpass_common.db import Database, Document
from mailpass_common.documents import Collections
from mailpass_common.telemetry import log_fields
from mailpass_sender.circuit import CircuitBreakers
from mailpass_sender.metrics import DELIVERIES, DELIVERY_SECONDS, FAILOVERS
from mailpass_sender.providers.base import (
    DeliveryResult,
    OutgoingEmail,
    PermanentDeliveryError,
    TemporaryDeliveryError,
)
from mailpass_sender.providers.registry import SANDBOX_ID, ProviderPool

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Refusal:
    provider: str  # the provider's name, for the error message
    reply: str
    permanent: bool


@dataclass(frozen=True)
class Accepted:
    provider_id: str
    provider_type: str
    result: DeliveryResult
    fallback: bool  # delivered by a fallback, not the message's own provider


@dataclass
class Attempt:
    """What one delivery attempt across the chain came to."""

    accepted: Accepted | None = None
    refusals: list[Refusal] = field(default_factory=list)

    @property
    def permanent(self) -> bool:
        """Every provider refused for good: retrying would not help."""
        return bool(self.refusals) and all(r.permanent for r in self.refusals)

    @property
    def error_message(self) -> str:
        if len(self.refusals) == 1:
            return self.refusals[0].reply  # the provider's own reply, as it gave it
        return "; ".join(f"{r.provider}: {r.reply}" for r in self.refusals)


async def _chain(db: Database, doc: Document) -> AsyncIterator[tuple[Document, bool]]:
    """(provider document, is a fallback) in the order they are tried."""
    account_id = doc["account_id"]
    primary = None
    if doc.get("provider_id"):
        primary = await get_provider(db, account_id, doc["provider_id"])
    if primary is None:
        primary = await get_default_provider(db, account_id)
    if primary is not None:
        yield primary, False
    # $type, not $ne None: the nx-27017 dev server matches missing fields with $ne None.
    fallbacks = db[Collections.PROVIDERS].find(
        {"account_id": account_id, "fallback_priority": {"$type": "number"}}
    )
    async for fallback in fallbacks.sort([("fallback_priority", 1), ("_id", 1)]):
        if primary is None or fallback["_id"] != primary["_id"]:
            yield fallback, True


class Failover:
    def __init__(self, db: Database, pool: ProviderPool, breakers: CircuitBreakers) -> None:
        self._db = db
        self._pool = pool
        self._breakers = breakers

    async def send(self, doc: Document, email: OutgoingEmail) -> Attempt:
        attempt = Attempt()
        if doc.get("sandbox"):
            # Test keys deliver to the capture server only, never to a real provider.
            await self._try(attempt, {"_id": SANDBOX_ID, "type": SANDBOX_ID}, email, False)
            return attempt
        async for provider_doc, fallback in _chain(self._db, doc):
            if await self._try(attempt, provider_doc, email, fallback):
                return attempt
        if not attempt.refusals:
            attempt.refusals.append(Refusal("none", "the account has no default provider", True))
        return attempt

    async def _try(
        self, attempt: Attempt, provider_doc: Document, email: OutgoingEmail, fallback: bool
    ) -> bool:
        provider_id = provider_doc["_id"]
        name = str(provider_doc.get("name") or provider_id)
        if not self._breakers.allows(provider_id):
            attempt.refusals.append(Refusal(name, "skipped: circuit open after failures", False))
            return False
        if fallback:
            exceeded = await limits.reserve(self._db, provider_doc)
            if exceeded is not None:
                reply = f"skipped: {exceeded.window} limit of {exceeded.limit} reached"
                attempt.refusals.append(Refusal(name, reply, False))
                return False
        try:
            provider = await self._pool.get(provider_doc)
        except (LookupError, ValueError) as exc:
            attempt.refusals.append(Refusal(name, f"provider cannot be used: {exc}", True))
            return False
        try:
            with DELIVERY_SECONDS.labels(provider.type).time():
                result = await provider.send(email)
        except PermanentDeliveryError as exc:
            DELIVERIES.labels(provider.type, "failed").inc()
            attempt.refusals.append(Refusal(name, exc.reply, True))
            return False
        except TemporaryDeliveryError as exc:
            self._record_temporary(attempt, provider_id, provider.type, name, exc.reply)
            return False
        except Exception as exc:
            # A provider bug must not strand the message: it is retried like an outage,
            # and ends in the dead-letter queue if it keeps happening.
            log.exception("provider crashed", extra=log_fields(provider_id=provider_id))
            reply = f"provider error: {type(exc).__name__}: {exc}"
            self._record_temporary(attempt, provider_id, provider.type, name, reply)
            return False
        self._breakers.record_success(provider_id)
        DELIVERIES.labels(provider.type, "sent").inc()
        if fallback:
            FAILOVERS.labels(provider.type).inc()
        attempt.accepted = Accepted(provider_id, provider.type, result, fallback)
        return True

    def _record_temporary(
        self, attempt: Attempt, provider_id: str, provider_type: str, name: str, reply: str
    ) -> None:
        self._breakers.record_failure(provider_id)
        DELIVERIES.labels(provider_type, "deferred").inc()
        attempt.refusals.append(Refusal(name, reply, False))
