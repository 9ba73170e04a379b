"""Delivering one job: sign, POST, record the attempt, then retry, give up or disable.

A function of (job, injected context), free of the broker: the consumer (``app``) acks
the job only after :func:`deliver` returned, i.e. after the attempt is recorded and any
next attempt is confirmed by RabbitMQ in its delay queue. A crash in between redelivers
the job: at worst the endpoint gets the same ``webhook-id`` twice, which Standard
Webhooks' receivers are told to expect (at least once).

Tenant isolation: the endpoint is looked up by the id the job names *and* by the
event's account and kind (live or sandbox), so a job can only ever reach an endpoint of
the account, and the kind, the event belongs to.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass

from mailpass_common.platform.crypto import CredentialCipher
from mailpass_common.platform.db import Database, where
from mailpass_common.platform.telemetry import log_fields
from mailpass_common.webhooks import attempts, endpoints, outbox
from mailpass_common.webhooks.endpoints import WebhookEventType
from mailpass_common.webhooks.signing import signed_headers
from mailpass_common.webhooks.topology import DeliveryJob, WebhookPublisher
from mailpass_webhooks import host_budget
from mailpass_webhooks.client import WebhookClient
from mailpass_webhooks.metrics import DELIVERY_SECONDS, ENDPOINTS_DISABLED

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeliveryContext:
    db: Database
    cipher: CredentialCipher
    client: WebhookClient
    publisher: WebhookPublisher
    retry_delays: tuple[float, ...]
    disable_after_seconds: float
    host_rate_per_second: int


def body_of(event: dict[str, object]) -> bytes:
    return json.dumps(event["payload"], separators=(",", ":"), ensure_ascii=False).encode()


async def deliver(job: DeliveryJob, ctx: DeliveryContext) -> str:
    """Attempt the job; returns its outcome (succeeded, retrying, exhausted, disabled,
    dropped, throttled) for the metrics."""
    event = await ctx.db[outbox.COLLECTION].find_one(where(_id=job.event_id))
    if event is None:  # expired under the retention period
        return "dropped"
    endpoint = await endpoints.get_endpoint(
        ctx.db, event["account_id"], job.endpoint_id, sandbox=bool(event.get("sandbox"))
    )
    if endpoint is None or not endpoint.get("enabled"):
        return "dropped"  # deleted or disabled since: nothing more is sent to it
    wait = await host_budget.wait_seconds(
        ctx.db, host_budget.host_of(endpoint["url"]), ctx.host_rate_per_second
    )
    if wait:  # the host's budget is spent: the same attempt, later (not an attempt)
        await ctx.publisher.publish_later(job, wait)
        return "throttled"
    body = body_of(event)
    headers = signed_headers(
        endpoints.signing_secrets(endpoint, ctx.cipher), event["webhook_id"], int(time.time()), body
    )
    result = await ctx.client.post(endpoint["url"], body, headers)
    DELIVERY_SECONDS.observe(result.seconds)
    delays = ctx.retry_delays
    next_delay = None if result.succeeded or job.attempt > len(delays) else delays[job.attempt - 1]
    await attempts.record_attempt(
        ctx.db,
        endpoint=endpoint,
        event=event,
        attempt=job.attempt,
        succeeded=result.succeeded,
        status_code=result.status_code,
        response=result.response,
        error=result.error or (None if result.succeeded else f"HTTP {result.status_code}"),
        duration_ms=round(result.seconds * 1000),
        next_attempt_in_seconds=next_delay,
    )
    if result.succeeded:
        await endpoints.record_success(ctx.db, endpoint)
        return "succeeded"
    log.warning(
        "webhook attempt failed",
        extra=log_fields(
            endpoint_id=endpoint["_id"],
            webhook_id=event["webhook_id"],
            attempt=job.attempt,
            status_code=result.status_code,
            error=result.error,
            retry_in=next_delay,
        ),
    )
    if await endpoints.record_failure(
        ctx.db, endpoint, disable_after_seconds=ctx.disable_after_seconds
    ):
        await _disabled(ctx, endpoint)
        return "disabled"
    if next_delay is None:
        return "exhausted"
    await ctx.publisher.publish_later(
        DeliveryJob(job.event_id, job.endpoint_id, job.attempt + 1), next_delay
    )
    return "retrying"


async def _disabled(ctx: DeliveryContext, endpoint: dict[str, object]) -> None:
    ENDPOINTS_DISABLED.inc()
    log.warning("webhook endpoint disabled", extra=log_fields(endpoint_id=endpoint["_id"]))
    await outbox.emit(
        ctx.db,
        str(endpoint["account_id"]),
        WebhookEventType.ENDPOINT_DISABLED,
        {"endpoint_id": endpoint["_id"], "url": endpoint["url"]},
        sandbox=bool(endpoint.get("sandbox")),
        key=f"endpoint.disabled:{endpoint['_id']}:{endpoint.get('failing_since')}",
    )
