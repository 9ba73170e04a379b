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
Fallbacks are read only when the default did not deliver, and provider documents come
from a short-lived cache, so the common path costs no database round trip. Before each
fallback the claim is kept alive (:mod:`mailpass_sender.lease`): a long chain must not
outlast the lease and let a second sender deliver the message too.
"""

from __future__ import annotations

import logging
from contextlib import AbstractContextManager
from dataclasses import dataclass, field

from opentelemetry.trace import Span, SpanKind

from mailpass_common.messages.models import MessageDocument
from mailpass_common.platform import tracing
from mailpass_common.platform.db import Database
from mailpass_common.platform.telemetry import log_fields
from mailpass_common.providers import limits
from mailpass_common.providers.delivery.base import (
    Bounce,
    DeliveryResult,
    DestinationBackedOff,
    OutgoingEmail,
    PermanentDeliveryError,
    TemporaryDeliveryError,
)
from mailpass_common.providers.delivery.pool import SANDBOX_DOCUMENT, ProviderPool
from mailpass_common.providers.models import ProviderDocument
from mailpass_common.providers.service import ProviderCache, list_fallbacks
from mailpass_sender.circuit import CircuitBreakers, CircuitReporter
from mailpass_sender.lease import Lease
from mailpass_sender.metrics import DELIVERIES, DELIVERY_SECONDS, FAILOVERS

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Refusal:
    provider: str  # the provider's name, for the error message
    reply: str
    permanent: bool
    bounced: tuple[Bounce, ...] = ()  # recipients it refused for good at RCPT
    # Not attempted: the destination is backed off by MailPass for this many seconds more.
    backed_off: float | None = None


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
    # The claim ran out during the chain and another sender holds the message now.
    lease_lost: bool = False

    @property
    def permanent(self) -> bool:
        """Every provider refused for good: retrying would not help."""
        return bool(self.refusals) and all(r.permanent for r in self.refusals)

    @property
    def backed_off(self) -> float | None:
        """Seconds to wait when nothing was tried: every refusal was a destination MailPass
        itself is leaving alone for now (the soonest back-off end), else None."""
        waits = [r.backed_off for r in self.refusals if r.backed_off is not None]
        if self.accepted is None and waits and len(waits) == len(self.refusals):
            return min(waits)
        return None

    @property
    def bounced(self) -> tuple[Bounce, ...]:
        """Recipients refused for good (SMTP 5xx on RCPT about the address), by any
        provider of the chain: they go on the account's suppression list."""
        found = [b for r in self.refusals for b in r.bounced]
        if self.accepted is not None:
            found += self.accepted.result.bounced
        return tuple({b.address.lower(): b for b in found}.values())

    @property
    def error_message(self) -> str:
        if len(self.refusals) == 1:
            return self.refusals[0].reply  # the provider's own reply, as it gave it
        return "; ".join(f"{r.provider}: {r.reply}" for r in self.refusals)


async def _still_ours(attempt: Attempt, lease: Lease | None) -> bool:
    if lease is None or await lease.keep():
        return True
    attempt.lease_lost = True
    return False


class Failover:
    def __init__(
        self,
        db: Database,
        pool: ProviderPool,
        breakers: CircuitBreakers,
        providers: ProviderCache,
        reporter: CircuitReporter | None = None,
    ) -> None:
        self._db = db
        self._pool = pool
        self._breakers = breakers
        self._providers = providers
        self._reporter = reporter
        self._tracer = tracing.tracer("mailpass.sender")

    async def send(
        self, doc: MessageDocument, email: OutgoingEmail, mime: bytes, lease: Lease | None = None
    ) -> Attempt:
        """Offer the message to its providers in order. With ``lease``, the claim is kept
        (renewed when old) before each provider, and the chain stops if it was lost."""
        attempt = Attempt()
        if doc.get("sandbox"):
            # Test keys deliver to the capture server only, never to a real provider.
            await self._try(attempt, SANDBOX_DOCUMENT, email, mime, False)
            return attempt
        account_id = doc["account_id"]
        primary = await self._providers.get(account_id, doc["provider_id"])
        if primary is None:
            primary = await self._providers.default(account_id)
        if primary is not None:
            if not await _still_ours(attempt, lease):
                return attempt
            if await self._try(attempt, primary, email, mime, False):
                return attempt
        for fallback in await list_fallbacks(self._db, account_id):
            if primary is not None and fallback["_id"] == primary["_id"]:
                continue
            if not await _still_ours(attempt, lease):
                return attempt
            if await self._try(attempt, fallback, email, mime, True):
                return attempt
        if not attempt.refusals:
            attempt.refusals.append(Refusal("none", "the account has no default provider", True))
        return attempt

    async def _try(
        self,
        attempt: Attempt,
        provider_doc: ProviderDocument,
        email: OutgoingEmail,
        mime: bytes,
        fallback: bool,
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
            accepted = await self._deliver(attempt, provider_doc, name, email, mime, fallback)
            if not accepted:
                # Reserved for a send that did not go out: the fallback's quota gets it back
                # (one more round trip, on this failure path only).
                await limits.give_back(self._db, provider_doc)
            return accepted
        return await self._deliver(attempt, provider_doc, name, email, mime, fallback)

    async def _deliver(
        self,
        attempt: Attempt,
        provider_doc: ProviderDocument,
        name: str,
        email: OutgoingEmail,
        mime: bytes,
        fallback: bool,
    ) -> bool:
        provider_id = provider_doc["_id"]
        try:
            provider = await self._pool.get(provider_doc)
        except (LookupError, ValueError) as exc:
            attempt.refusals.append(Refusal(name, f"provider cannot be used: {exc}", True))
            return False
        try:
            with (
                self._provider_span(provider.type, fallback),
                DELIVERY_SECONDS.labels(provider.type).time(),
            ):
                result = await provider.send(email, mime)
        except PermanentDeliveryError as exc:
            DELIVERIES.labels(provider.type, "failed").inc()
            attempt.refusals.append(Refusal(name, exc.reply, True, exc.bounced))
            return False
        except TemporaryDeliveryError as exc:
            if exc.destination is not None:  # one recipient domain's trouble, not the provider's
                DELIVERIES.labels(provider.type, "deferred").inc()
                waits = exc.retry_after if isinstance(exc, DestinationBackedOff) else None
                attempt.refusals.append(Refusal(name, exc.reply, False, exc.bounced, waits))
                return False
            self._record_temporary(attempt, provider_doc, provider.type, name, exc.reply)
            return False
        except Exception as exc:
            # A provider bug must not strand the message: it is retried like an outage,
            # and ends in the dead-letter queue if it keeps happening.
            log.exception("provider crashed", extra=log_fields(provider_id=provider_id))
            reply = f"provider error: {type(exc).__name__}: {exc}"
            self._record_temporary(attempt, provider_doc, provider.type, name, reply)
            return False
        if self._breakers.record_success(provider_id) and self._reporter is not None:
            self._reporter.closed(provider_doc)
        DELIVERIES.labels(provider.type, "sent").inc()
        if fallback:
            FAILOVERS.labels(provider.type).inc()
        attempt.accepted = Accepted(provider_id, provider.type, result, fallback)
        return True

    def _provider_span(self, provider_type: str, fallback: bool) -> AbstractContextManager[Span]:
        """The provider call: SMTP's whole session, or the parent of the HTTP client's span.
        A refusal ends it as an error carrying the provider's reply."""
        return self._tracer.start_as_current_span(
            f"{provider_type} send",
            kind=SpanKind.CLIENT,
            attributes={"mailpass.provider_type": provider_type, "mailpass.fallback": fallback},
        )

    def _record_temporary(
        self,
        attempt: Attempt,
        provider_doc: ProviderDocument,
        provider_type: str,
        name: str,
        reply: str,
    ) -> None:
        provider_id = provider_doc["_id"]
        if self._breakers.record_failure(provider_id) and self._reporter is not None:
            self._reporter.opened(provider_doc, self._breakers.failures(provider_id))
        DELIVERIES.labels(provider_type, "deferred").inc()
        attempt.refusals.append(Refusal(name, reply, False))
