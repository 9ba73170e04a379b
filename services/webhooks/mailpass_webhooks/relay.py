"""The outbox relay: pending webhook events become delivery jobs (``webhooks.outbox``).

Each pass claims a batch of pending events, publishes one job per (event, endpoint)
with confirms (concurrently, on one confirming channel), and marks the events
published only then. A pass that fails midway leaves its claims to run out
(``WEBHOOK_RELAY_LEASE_SECONDS``) and another pass publishes them again: duplicates,
never losses. Several replicas share the work through the claims.
"""

from __future__ import annotations

import asyncio
import logging

from mailpass_common.platform.db import Database
from mailpass_common.platform.telemetry import log_fields
from mailpass_common.webhooks import outbox
from mailpass_common.webhooks.topology import DeliveryJob, WebhookPublisher
from mailpass_webhooks.metrics import EVENTS_RELAYED

log = logging.getLogger(__name__)


async def relay_once(
    db: Database, publisher: WebhookPublisher, *, batch_size: int, lease_seconds: float
) -> int:
    claimed = await outbox.claim_pending(db, limit=batch_size, lease_seconds=lease_seconds)
    jobs = [DeliveryJob(doc["_id"], ep) for doc in claimed for ep in doc["endpoint_ids"]]
    await asyncio.gather(*(publisher.publish(job) for job in jobs))
    await outbox.mark_published(db, [doc["_id"] for doc in claimed])
    EVENTS_RELAYED.inc(len(claimed))
    return len(claimed)


async def run_relay(
    db: Database,
    publisher: WebhookPublisher,
    *,
    batch_size: int,
    lease_seconds: float,
    interval_seconds: float,
) -> None:
    while True:
        try:
            relayed = await relay_once(
                db, publisher, batch_size=batch_size, lease_seconds=lease_seconds
            )
        except Exception as exc:
            log.warning(
                "relaying webhook events failed; will retry", extra=log_fields(error=str(exc))
            )
            relayed = 0
        if relayed < batch_size:
            await asyncio.sleep(interval_seconds)
