"""One scheduler run: publish due batch messages and recover messages stuck in the outbox.

Overlapping runs never publish the same message twice: a run first stamps the messages it
takes with its own run id in one conditional ``update_many`` (a message another run has
stamped no longer matches), then publishes exactly the ones carrying its id, in
``queue_id`` order, with publisher confirms.

Send limits: due batch messages are taken per provider, as many as its hourly and daily
windows have room for (``limits.remaining``); the run then reserves sends for what it
actually took (``limits.reserve_up_to``) and hands back, unstamped, what did not fit. A
message that does not fit stays ``queued`` for a later run; nothing is dropped, and the
counters only ever count messages this run publishes.

Recovery re-publishes what a lost job would otherwise strand: ``queued`` messages whose
publish is old (a gateway publish that failed), ``sending`` messages past the lease
(their sender died), and ``deferred`` messages whose retry never came back.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from mailpass_common import limits
from mailpass_common.broker import JobPublisher, SendJob
from mailpass_common.db import Database, Document, now_stamp
from mailpass_common.documents import Collections, MessageKind, MessageStatus
from mailpass_common.telemetry import log_fields
from mailpass_scheduler.settings import SchedulerSettings

log = logging.getLogger(__name__)

DUE_BATCH: dict[str, Any] = {
    "kind": MessageKind.BATCH.value,
    "status": MessageStatus.QUEUED.value,
    "published_at": None,
}
_IN_QUEUE_ORDER = [("queue_id", 1), ("_id", 1)]


@dataclass
class FlushReport:
    batch_published: int = 0
    recovered: int = 0
    # provider id -> due messages left queued because its limits were reached
    held_by_limits: dict[str, int] = field(default_factory=dict)


async def _stamp(
    db: Database, selector: dict[str, Any], candidates: list[Document], run_id: str
) -> list[Document]:
    """Stamp the candidates still matching ``selector`` with this run's id; return ours."""
    if not candidates:
        return []
    messages = db[Collections.MESSAGES]
    ids = [c["_id"] for c in candidates]
    await messages.update_many(
        {"_id": {"$in": ids}, **selector},
        {"$set": {"publish_run": run_id}, **now_stamp("published_at")},
    )
    taken = await messages.find(
        {"_id": {"$in": ids}, "publish_run": run_id},
        projection={"_id": 1, "account_id": 1, "kind": 1, "queue_id": 1},
    ).to_list()
    return sorted(taken, key=lambda d: (d.get("queue_id") or 0, d["_id"]))


async def _unstamp(db: Database, docs: list[Document], run_id: str) -> None:
    """Hand messages this run took but will not publish back to later runs."""
    if docs:
        await db[Collections.MESSAGES].update_many(
            {"_id": {"$in": [d["_id"] for d in docs]}, "publish_run": run_id},
            {"$set": {"publish_run": None, "published_at": None}},
        )


async def _publish(publisher: JobPublisher, docs: list[Document]) -> None:
    for doc in docs:
        await publisher.publish(SendJob(doc["_id"], doc["account_id"]), MessageKind(doc["kind"]))


async def _publish_due_for(
    db: Database,
    publisher: JobPublisher,
    provider_id: str | None,
    budget: int,
    run_id: str,
    report: FlushReport,
) -> int:
    selector = {**DUE_BATCH, "provider_id": provider_id}
    provider = None
    if provider_id is not None:
        provider = await db[Collections.PROVIDERS].find_one({"_id": provider_id})
    room = await limits.remaining(db, provider) if provider is not None else None
    # Read up to the budget (not count_documents: nx-27017's aggregation $match does not
    # match nulls), so the log can say how many the limits held back.
    due = (
        await db[Collections.MESSAGES]
        .find(selector, projection={"_id": 1})
        .sort(_IN_QUEUE_ORDER)
        .limit(budget)
        .to_list()
    )
    want = len(due) if room is None else min(len(due), room)
    if want < len(due) and provider_id is not None:
        report.held_by_limits[provider_id] = len(due) - want
    if want == 0:
        return 0
    taken = await _stamp(db, selector, due[:want], run_id)
    fits = len(taken)
    if provider is not None and taken:
        fits = await limits.reserve_up_to(db, provider, len(taken))
    # Another run may have reserved in between: what no longer fits waits, in order.
    await _unstamp(db, taken[fits:], run_id)
    await _publish(publisher, taken[:fits])
    return fits


async def publish_due_batches(
    db: Database, publisher: JobPublisher, settings: SchedulerSettings, run_id: str
) -> FlushReport:
    report = FlushReport()
    budget = settings.scheduler_batch_size
    provider_ids = await db[Collections.MESSAGES].distinct("provider_id", DUE_BATCH)
    for provider_id in sorted(provider_ids, key=str):
        if budget <= 0:
            break
        published = await _publish_due_for(db, publisher, provider_id, budget, run_id, report)
        report.batch_published += published
        budget -= published
    return report


async def recover_stuck(
    db: Database, publisher: JobPublisher, settings: SchedulerSettings, run_id: str
) -> int:
    now = datetime.now(UTC)
    republish_before = now - timedelta(seconds=settings.scheduler_republish_after_seconds)
    stale_before = now - timedelta(seconds=settings.scheduler_stale_sending_seconds)
    lost_before = now - timedelta(seconds=settings.scheduler_republish_deferred_after_seconds)
    selector: dict[str, Any] = {
        "$or": [
            {"status": MessageStatus.QUEUED.value, "published_at": {"$lt": republish_before}},
            {
                "status": MessageStatus.SENDING.value,
                "claimed_at": {"$lt": stale_before},
                "published_at": {"$lt": stale_before},
            },
            {
                "status": MessageStatus.DEFERRED.value,
                "updated_at": {"$lt": lost_before},
                "published_at": {"$lt": lost_before},
            },
        ]
    }
    candidates = (
        await db[Collections.MESSAGES]
        .find(selector, projection={"_id": 1})
        .sort(_IN_QUEUE_ORDER)
        .limit(settings.scheduler_batch_size)
        .to_list()
    )
    stuck = await _stamp(db, selector, candidates, run_id)
    await _publish(publisher, stuck)
    return len(stuck)


async def flush(db: Database, publisher: JobPublisher, settings: SchedulerSettings) -> FlushReport:
    run_id = secrets.token_hex(8)
    report = await publish_due_batches(db, publisher, settings, run_id)
    report.recovered = await recover_stuck(db, publisher, settings, run_id)
    log.info(
        "flush done",
        extra=log_fields(
            run_id=run_id,
            batch_published=report.batch_published,
            recovered=report.recovered,
            held_by_limits=report.held_by_limits,
        ),
    )
    return report
