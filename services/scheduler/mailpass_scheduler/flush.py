"""One scheduler run: publish due batch messages and recover jobs that were lost.

Publishing. Every due batch message that fits its provider's hourly and daily limits is
published in one run, in chunks of ``scheduler_chunk_size``: per chunk, the run takes the
messages (stamped with its run id, so overlapping runs never publish one twice, see
:mod:`mailpass_common.messages.due`), reserves sends for what it took (``limits.reserve_up_to``),
hands back what did not fit, and publishes the rest concurrently with publisher confirms.
Taken, they hold a claim given at acceptance that their jobs carry
(:mod:`mailpass_common.messages.claims`): a sender delivers them without a claim write.
Scheduled sends: first, each run releases the scheduled messages that are due (``scheduled
→ queued``, :mod:`mailpass_common.messages.scheduled`), so the same run publishes them with the
rest, within limits.
Retention: each run also purges the bodies of final messages older than
``MESSAGE_RETENTION_DAYS`` (:mod:`mailpass_common.messages.retention`).
A message that does not fit stays ``queued`` for a later run; the counters only count
what this run publishes. The run stops early while the batch queue already holds
``scheduler_max_queue_depth`` waiting jobs: the backlog then waits in MongoDB.

Recovery. A job is lost when its publish failed (or its publisher died between the stamp
and the publish), when its sender died holding it and RabbitMQ did not hand it back, or
when its retry vanished. A job can also merely be late, waiting behind thousands of
others in a long queue; republishing those would multiply a backlog. So recovery runs
for a queue only while it holds no waiting jobs: whatever is still unclaimed then, long
after its publish, was not in the queue. Three queries, each index-served:
``queued`` published long ago, ``sending`` past the lease, ``deferred`` whose retry
never came back.

Suspended accounts. Their mail is left alone until they are unsuspended: no due batch
message of theirs is published (their providers are passed over, reserving nothing), a
due scheduled message of theirs is released to ``queued`` and waits there like any
backlog, and recovery leaves their lost jobs (held by the senders) for the runs after the
unsuspension. Which accounts are suspended is read per run, by ``_id``, for the accounts
at hand.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from mailpass_common.messages import claims, retention, scheduled
from mailpass_common.messages import due as outbox
from mailpass_common.platform.broker import JobPublisher
from mailpass_common.platform.db import Database, Document
from mailpass_common.platform.errors import ErrorCode
from mailpass_common.platform.jobs import MessageKind, SendJob
from mailpass_common.platform.telemetry import log_fields
from mailpass_common.providers import limits
from mailpass_common.providers.service import get_default_provider, provider_by_id
from mailpass_common.tenants import accounts
from mailpass_scheduler.settings import SchedulerSettings

log = logging.getLogger(__name__)

BACKLOG_COUNT_CAP = 10_000


@dataclass
class FlushReport:
    batch_published: int = 0
    recovered: int = 0
    backlog: int = 0  # due batch messages still waiting after the run (up to a cap)
    oldest_waiting: datetime | None = None
    # provider id -> due messages left queued because its limits were reached (counted
    # up to one chunk per provider)
    held_by_limits: dict[str, int] = field(default_factory=dict)
    # Jobs waiting in each work queue when the run began.
    queue_depth: dict[str, int] = field(default_factory=dict)
    stopped_by_queue_depth: bool = False
    bodies_purged: int = 0  # message bodies removed under MESSAGE_RETENTION_DAYS
    # Due batch messages whose provider was deleted: handed to the account's new default,
    # or failed (NO_SMTP_PROVIDER) when it has none.
    reassigned: int = 0
    failed_without_provider: int = 0
    scheduled_released: int = 0  # scheduled messages found due and handed to publishing
    # Providers of suspended accounts whose due messages were left queued.
    held_by_suspension: list[str] = field(default_factory=list)


def _jobs(docs: list[Document], claim: str | None = None) -> list[SendJob]:
    """One job per account and hundred messages, in queue order."""
    by_account: dict[str, list[str]] = {}
    for doc in docs:
        by_account.setdefault(doc["account_id"], []).append(doc["_id"])
    return [job for account, ids in by_account.items() for job in SendJob.of(account, ids, claim)]


async def _publish_for_provider(
    db: Database,
    publisher: JobPublisher,
    settings: SchedulerSettings,
    provider_id: str,
    budget: int,
    run_id: str,
    report: FlushReport,
) -> int:
    """Publish the provider's due messages, in queue order, within its limits and ``budget``."""
    provider = await provider_by_id(db, provider_id)
    if provider is None:
        await _rehome_orphans(db, settings, provider_id, report)
        return 0
    if await accounts.suspended_ids(db, [str(provider["account_id"])]):
        report.held_by_suspension.append(provider_id)
        return 0
    published = 0
    while published < budget:
        want = min(settings.scheduler_chunk_size, budget - published)
        room = await limits.remaining(db, provider)
        if room is not None and room < want:
            if room == 0:
                held = await outbox.due_batch(db, provider_id, settings.scheduler_chunk_size)
                if held:
                    report.held_by_limits[provider_id] = len(held)
                break
            want = room
        due = await outbox.due_batch(db, provider_id, want)
        if not due:
            break
        # Published for the first time: they hold the claim their jobs carry (a sender
        # delivers them without a claim write; the recovery's republishing gives none).
        claim = claims.accepted_token()
        taken = await outbox.take_due(db, [d["_id"] for d in due], provider_id, run_id, claim)
        # Test mail goes to the sandbox capture: it is neither counted nor held by limits.
        tests = [d for d in taken if d.get("sandbox")]
        live = [d for d in taken if not d.get("sandbox")]
        fits = await limits.reserve_up_to(db, provider, len(live)) if live else 0
        # Another run may have reserved in between: what no longer fits waits, in order.
        await outbox.release(db, [d["_id"] for d in live[fits:]], run_id)
        await publisher.publish_many(_jobs(tests + live[:fits], claim), MessageKind.BATCH)
        published += len(tests) + fits
        if len(due) < want or fits < len(live):
            break
    return published


NO_PROVIDER_ERROR = (
    f"{ErrorCode.NO_SMTP_PROVIDER}: the provider this message was queued for was deleted, "
    "and the account has no default provider"
)


async def _rehome_orphans(
    db: Database, settings: SchedulerSettings, provider_id: str, report: FlushReport
) -> None:
    """Waiting batch messages whose provider was deleted: to the account's current default
    (a later run publishes them within its limits), or failed with NO_SMTP_PROVIDER when
    the account has none. Never published without limits."""
    while found := await outbox.orphaned_due(db, provider_id, settings.scheduler_chunk_size):
        moved = 0
        for account_id in sorted({doc["account_id"] for doc in found}):
            ids = [doc["_id"] for doc in found if doc["account_id"] == account_id]
            default = await get_default_provider(db, account_id)
            if default is not None:
                moved += await outbox.reassign_due(db, ids, provider_id, default["_id"])
                report.reassigned += len(ids)
            else:
                moved += await outbox.fail_due(db, ids, provider_id, NO_PROVIDER_ERROR)
                report.failed_without_provider += len(ids)
        if not moved or len(found) < settings.scheduler_chunk_size:
            break
    log.warning(
        "batch messages of a deleted provider",
        extra=log_fields(
            provider_id=provider_id,
            reassigned=report.reassigned,
            failed=report.failed_without_provider,
        ),
    )


async def release_due_scheduled(
    db: Database,
    publisher: JobPublisher,
    settings: SchedulerSettings,
    run_id: str,
    report: FlushReport,
) -> None:
    """Release the scheduled messages that are due, longest due first, in chunks; at most
    ``scheduler_max_queue_depth`` a run (the rest are released by the next runs).

    Live messages wait for the provider's limits (:func:`publish_due_batches`); test
    messages only reach the sandbox capture, so they are published at once: live limits
    never count them, nor hold them while the live windows are full."""
    now = datetime.now(UTC)
    while report.scheduled_released < settings.scheduler_max_queue_depth:
        found = await scheduled.due(db, now, settings.scheduler_chunk_size)
        report.scheduled_released += await scheduled.release(db, [d["_id"] for d in found], now)
        sandbox = [d for d in found if d.get("sandbox")]
        held = await accounts.suspended_ids(db, {d["account_id"] for d in sandbox})
        tests = [d["_id"] for d in sandbox if d["account_id"] not in held]
        if tests:
            claim = claims.accepted_token()
            taken = await outbox.take(db, tests, outbox.due_selector(), run_id, claim)
            await publisher.publish_many(_jobs(taken, claim), MessageKind.BATCH)
        if len(found) < settings.scheduler_chunk_size:
            break


async def publish_due_batches(
    db: Database,
    publisher: JobPublisher,
    settings: SchedulerSettings,
    run_id: str,
    report: FlushReport,
) -> None:
    waiting = report.queue_depth.get(MessageKind.BATCH.value, 0)
    budget = settings.scheduler_max_queue_depth - waiting
    if budget <= 0:
        report.stopped_by_queue_depth = True
        return
    for provider_id in await outbox.due_provider_ids(db):
        published = await _publish_for_provider(
            db, publisher, settings, provider_id, budget, run_id, report
        )
        report.batch_published += published
        budget -= published
        if budget <= 0:
            report.stopped_by_queue_depth = True
            break


async def recover_lost(
    db: Database,
    publisher: JobPublisher,
    settings: SchedulerSettings,
    run_id: str,
    report: FlushReport,
) -> None:
    now = datetime.now(UTC)
    cutoffs = [
        (outbox.QUEUED_LONG_AGO, settings.scheduler_republish_after_seconds),
        (outbox.LEASE_RAN_OUT, settings.scheduler_stale_sending_seconds),
        (outbox.RETRY_NEVER_CAME, settings.scheduler_republish_deferred_after_seconds),
    ]
    suspended: set[str] = set()  # accounts met in this run that are suspended: left alone
    for kind in MessageKind:
        if report.queue_depth.get(kind.value, 0) > 0:
            continue  # jobs still wait in this queue: unclaimed messages may be among them
        for way, after_seconds in cutoffs:
            before = now - timedelta(seconds=after_seconds)
            while True:
                found = await outbox.stuck(
                    db, way, kind, before, settings.scheduler_chunk_size, suspended
                )
                suspended |= await accounts.suspended_ids(db, {d["account_id"] for d in found})
                lost = await outbox.take(
                    db,
                    [d["_id"] for d in found if d["account_id"] not in suspended],
                    way.selector(kind, before),
                    run_id,
                )
                await publisher.publish_many(_jobs(lost), kind)
                report.recovered += len(lost)
                if len(found) < settings.scheduler_chunk_size:
                    break


async def flush(db: Database, publisher: JobPublisher, settings: SchedulerSettings) -> FlushReport:
    run_id = secrets.token_hex(8)
    report = FlushReport()
    depths = await publisher.ready_jobs()
    report.queue_depth = {kind.value: count for kind, count in depths.items()}
    await release_due_scheduled(db, publisher, settings, run_id, report)
    await publish_due_batches(db, publisher, settings, run_id, report)
    await recover_lost(db, publisher, settings, run_id, report)
    before = retention.bodies_expire_before(settings.message_retention_days)
    if before is not None and await retention.sweep_due(
        db, settings.scheduler_retention_sweep_seconds
    ):
        report.bodies_purged = await retention.purge_bodies(
            db, before, settings.scheduler_chunk_size
        )
    report.backlog = await outbox.count_due(db, BACKLOG_COUNT_CAP)
    report.oldest_waiting = await outbox.oldest_due(db) if report.backlog else None
    log.info(
        "flush done",
        extra=log_fields(
            run_id=run_id,
            batch_published=report.batch_published,
            recovered=report.recovered,
            held_by_limits=report.held_by_limits,
            queue_depth=report.queue_depth,
            stopped_by_queue_depth=report.stopped_by_queue_depth,
            bodies_purged=report.bodies_purged,
            scheduled_released=report.scheduled_released,
            held_by_suspension=report.held_by_suspension,
        ),
    )
    return report
