"""What the delivery flows work on: the injected context, a claimed message, the decision
an attempt comes to, and the outcome a job's reply says (``flows`` does the work)."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Protocol

from opentelemetry.context import Context

from mailpass_common.messages import service as messages
from mailpass_common.messages.models import MessageDocument, MessageStatus
from mailpass_common.platform.cache import TtlCache
from mailpass_common.platform.db import Database, Document
from mailpass_common.platform.jobs import MessageKind, SendJob
from mailpass_common.providers.delivery.base import Bounce
from mailpass_common.tenants.accounts import (
    TrackingDefaults,
    get_account,
    suspended_ids,
    tracking_defaults,
)
from mailpass_common.webhooks.endpoints import EndpointDirectory
from mailpass_sender.failover import Failover
from mailpass_sender.retry import RetryDelay, RetryPolicy
from mailpass_sender.settings import SenderSettings


class JobRouter(Protocol):
    """Where a job goes when it is not done: both return once the broker confirmed."""

    async def retry_later(self, job: SendJob, kind: MessageKind, delay: RetryDelay) -> None: ...

    async def dead_letter(self, job: SendJob, *, error: str) -> None: ...


@dataclass(frozen=True)
class DeliveryContext:
    db: Database
    settings: SenderSettings
    failover: Failover
    policy: RetryPolicy
    router: JobRouter
    accounts: TtlCache[str, TrackingDefaults]
    # Which accounts have webhook endpoints (cached): outcomes are reported to them.
    webhooks: EndpointDirectory | None = None
    # Which accounts are suspended (cached as long as the rest): their mail is held.
    suspensions: TtlCache[str, bool] = field(default_factory=lambda: TtlCache(5.0))

    async def suspended(self, account_ids: Iterable[str]) -> set[str]:
        """Which of these accounts are suspended: one read for those not cached."""
        wanted = set(account_ids)
        known = {a: self.suspensions.get(a) for a in wanted}
        unknown = [a for a, state in known.items() if state is None]
        found = await suspended_ids(self.db, unknown) if unknown else set()
        for account_id in unknown:
            self.suspensions.put(account_id, account_id in found)
        return found | {a for a, state in known.items() if state}

    @property
    def lease(self) -> timedelta:
        return timedelta(seconds=self.settings.sender_lease_seconds)

    async def tracking_defaults(self, account_id: str) -> TrackingDefaults:
        async def load() -> TrackingDefaults:
            return tracking_defaults(await get_account(self.db, account_id))

        found = await self.accounts.get_or_load(account_id, load)
        assert found is not None
        return found


@dataclass(frozen=True)
class Claimed:
    """A message this sender holds (the claim token is in the document), and its job."""

    job: SendJob
    kind: MessageKind
    message: MessageDocument
    # The trace of the job it came in: a retry or a dead letter is published in it.
    trace: Context | None = None
    # When the claim was taken (time.monotonic): where its lease starts.
    taken_at: float = field(default_factory=time.monotonic)

    @property
    def own_job(self) -> SendJob:
        """A job for this message alone: what a retry or a dead letter carries."""
        return SendJob(self.message["account_id"], (self.message["_id"],))


@dataclass(frozen=True)
class Decision:
    """What one attempt came to, before it is recorded."""

    claimed: Claimed
    outcome: messages.Outcome
    delay: RetryDelay | None = None  # deferred: when to try again
    dead_letter: bool = False  # exhausted: the job goes to the dead-letter queue first
    # Kept in the message's history once the outcome is recorded: a deferral, a skip of
    # tracking.
    events: tuple[Document, ...] = ()
    # Recipients a provider refused for good at RCPT: suppressed for the account.
    bounced: tuple[Bounce, ...] = ()

    @property
    def status(self) -> MessageStatus:
        if isinstance(self.outcome, messages.Sent):
            return MessageStatus.SENT
        if isinstance(self.outcome, messages.Failed):
            return MessageStatus.FAILED
        return MessageStatus.DEFERRED

    @property
    def error(self) -> str | None:
        return None if isinstance(self.outcome, messages.Sent) else self.outcome.error


@dataclass(frozen=True)
class DeliveryOutcome:
    """What a job's reply says."""

    message_id: str
    status: MessageStatus
    error_message: str | None = None
    # False when this job did nothing: the message was final already or leased elsewhere.
    attempted: bool = True
