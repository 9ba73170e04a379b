"""The webhooks process: the outbox relay, the delivery consumer, the management port."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from aio_pika.abc import AbstractIncomingMessage, AbstractQueue, AbstractRobustConnection

from mailpass_common.platform import db as dbmod
from mailpass_common.platform.crypto import CredentialCipher
from mailpass_common.platform.formats import UnsupportedFormat
from mailpass_common.platform.lifecycle import (
    connect_rabbitmq,
    run_until_signalled,
    wait_for_mongodb,
)
from mailpass_common.platform.management import ManagementServer
from mailpass_common.platform.telemetry import log_fields
from mailpass_common.webhooks.topology import (
    DeliveryJob,
    WebhookPublisher,
    WebhookTopology,
    declare,
)
from mailpass_webhooks import flows
from mailpass_webhooks.client import WebhookClient
from mailpass_webhooks.metrics import DELIVERIES
from mailpass_webhooks.relay import run_relay
from mailpass_webhooks.settings import WebhookSettings

log = logging.getLogger(__name__)

STOP_TIMEOUT_SECONDS = 25.0  # below Kubernetes' default 30 s grace period
# A job whose attempt could not be recorded (the database is away) goes back to the
# queue after this pause, so an outage is not a hot loop of redeliveries.
REQUEUE_PAUSE_SECONDS = 1.0


class WebhookService:
    def __init__(self, settings: WebhookSettings) -> None:
        self.settings = settings
        self._client, self.db = dbmod.connect(settings)
        self.cipher = CredentialCipher(
            settings.secret_key.get_secret_value(), settings.previous_secrets()
        )
        self.http = WebhookClient(settings.egress_policy(), settings.webhook_timeout_seconds)
        self._connection: AbstractRobustConnection | None = None
        self._queue: AbstractQueue | None = None
        self._consumer_tag: str | None = None
        self._relay: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._context: flows.DeliveryContext | None = None
        self.management = ManagementServer(
            self._readiness, settings.management_host, settings.management_port
        )

    async def _readiness(self) -> dict[str, str]:
        await dbmod.ping(self.db)
        if self._connection is None or self._connection.is_closed:
            raise RuntimeError("RabbitMQ connection is down")
        return {"mongodb": "ok", "rabbitmq": "ok"}

    async def start(self) -> None:
        settings = self.settings
        await wait_for_mongodb(self.db, settings.startup_timeout_seconds)
        await dbmod.ensure_indexes(self.db, settings)
        self._connection = connection = await connect_rabbitmq(
            settings.amqp_url, settings.startup_timeout_seconds
        )
        topology = WebhookTopology(settings.amqp_prefix)
        publishing = await connection.channel(publisher_confirms=True, on_return_raises=True)
        await declare(publishing, topology)
        publisher = WebhookPublisher(publishing, topology)
        self._context = flows.DeliveryContext(
            db=self.db,
            cipher=self.cipher,
            client=self.http,
            publisher=publisher,
            retry_delays=tuple(settings.retry_delays()),
            disable_after_seconds=settings.webhook_disable_after_seconds,
            host_rate_per_second=settings.webhook_host_rate_per_second,
        )
        consuming = await connection.channel()
        await consuming.set_qos(prefetch_count=settings.webhook_concurrency)
        self._queue = await declare(consuming, topology)
        self._consumer_tag = await self._queue.consume(self._on_message)
        self._relay = asyncio.create_task(
            run_relay(
                self.db,
                publisher,
                batch_size=settings.webhook_relay_batch_size,
                lease_seconds=settings.webhook_relay_lease_seconds,
                interval_seconds=settings.webhook_relay_interval_seconds,
            ),
            name="webhook-relay",
        )
        await self.management.start()
        log.info("webhooks started")

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        # Deliveries run concurrently, up to the prefetch: one slow endpoint never holds
        # up the others.
        task = asyncio.create_task(self._handle(message))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _handle(self, message: AbstractIncomingMessage) -> None:
        assert self._context is not None
        try:
            job = DeliveryJob.decode(message.body)
        except (ValueError, KeyError, TypeError) as exc:
            # Not a job, or a newer release's format (mid-upgrade): refused, never guessed at.
            log.error(
                "webhook job dead-lettered: %s",
                exc if isinstance(exc, UnsupportedFormat) else "not a job",
                extra=log_fields(body=message.body[:200]),
            )
            await message.reject(requeue=False)  # to the dead-letter queue
            return
        try:
            outcome = await flows.deliver(job, self._context)
        except Exception as exc:
            log.exception(
                "webhook job failed; it goes back to the queue",
                extra=log_fields(event_id=job.event_id, error=str(exc)),
            )
            await asyncio.sleep(REQUEUE_PAUSE_SECONDS)
            await message.nack(requeue=True)
            return
        DELIVERIES.labels(outcome).inc()
        await message.ack()

    async def stop(self) -> None:
        if self._queue is not None and self._consumer_tag is not None:
            with contextlib.suppress(Exception):
                await self._queue.cancel(self._consumer_tag)
        if self._relay is not None:
            self._relay.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._relay
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=STOP_TIMEOUT_SECONDS)
        await self.management.stop()
        if self._connection is not None:
            await self._connection.close()
        await self.http.close()
        await self._client.close()

    async def run(self) -> None:
        """Run until SIGTERM or SIGINT, then finish the deliveries in flight."""
        await run_until_signalled("webhooks", self.start, self.stop)


def create_webhooks(settings: WebhookSettings) -> WebhookService:
    return WebhookService(settings)
