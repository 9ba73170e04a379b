"""One scheduler run: publish due batch messages and recover messages stuck in the outbox.

Overlapping runs never publish the same message twice: a run first stamps the messages it
takes with its own run id in one conditional ``update_many`` (a message already stamped
recently by another run no longer matches), then publishes exactly the ones carrying its
id, in ``queue_id`` order, with publisher confirms.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from mailpass_common.broker import JobPublisher, SendJob
from mailpass_common.db import Database, Document, now_stamp
from mailpass_common.documents import Collections, MessageKind, MessageStatus
from mailpass_common.telemetry import log_fields
from mailpass_scheduler.settings import SchedulerSettings

log = logging.getLogger(__name__)


@dataclass
class FlushReport:
    batch_published: int = 0
    recovered: int = 0


async def _take(db: Database, selector: dict[str, Any], limit: int, run_id: str) -> list[Document]:
    """Stamp up to ``limit`` matching messages with this run's id; return the ones we got."""
    messages = db[Collections.MESSAGES]
    candidates = (
        await messages.find(selector, projection={"_id": 1})
        .sort([("queue_id", 1), ("created_at", 1)])
        .limit(limit)
        .to_list()
    )
    if not candidates:
        return []
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


async def _publish(publisher: JobPublisher, docs: list[Document]) -> None:
    for doc in docs:
        await publisher.publish(SendJob(doc["_id"], doc["account_id"]), MessageKind(doc["kind"]))


async def flush(db: Database, publisher: JobPublisher, settings: SchedulerSettings) -> FlushReport:
    run_id = secrets.token_hex(8)
    now = datetime.now(UTC)
    report = FlushReport()

    due = await _take(
        db,
        {
            "kind": MessageKind.BATCH.value,
            "status": MessageStatus.QUEUED.value,
            "published_at": None,
        },
        settings.scheduler_batch_size,
        run_id,
    )
    await _publish(publisher, due)
    report.batch_published = len(due)

    republish_before = now - timedelta(seconds=settings.scheduler_republish_after_seconds)
    stale_before = now - timedelta(seconds=settings.scheduler_stale_sending_seconds)
    stuck = await _take(
        db,
        {
            "$or": [
                {"status": MessageStatus.QUEUED.value, "published_at": {"$lt": republish_before}},
                {
                    "status": MessageStatus.SENDING.value,
                    "claimed_at": {"$lt": stale_before},
                    "published_at": {"$lt": stale_before},
                },
            ]
        },
        settings.scheduler_batch_size,
        run_id,
    )
    await _publish(publisher, stuck)
    report.recovered = len(stuck)
    log.info(
        "flush done",
        extra=log_fields(
            run_id=run_id, batch_published=report.batch_published, recovered=report.recovered
        ),
    )
    return report
