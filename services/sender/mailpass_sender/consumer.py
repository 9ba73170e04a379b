"""The RabbitMQ adapter around :func:`flows.deliver`: consume, deliver, reply, ack.

A job is acked only after ``deliver`` has recorded the outcome in MongoDB and any retry
or dead-letter job it published has been confirmed; if anything fails before that, the
job is returned to its queue (the quorum queue's delivery limit dead-letters a job that
keeps failing). Replies go to the gateway waiting on ``/send``: the job it published
carries ``reply_to``; retries do not, so the gateway hears the final outcome or the
first deferral (it then answers 202 and the status endpoint tells the rest).
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage, AbstractRobustConnection
from opentelemetry import trace

from mailpass_common import broker
from mailpass_common.broker import JobPublisher, SendJob, Topology
from mailpass_common.documents import MessageKind
from mailpass_common.telemetry import extract_trace_context, log_fields, tracer
from mailpass_sender.flows import DeliveryContext, DeliveryOutcome, deliver
from mailpass_sender.metrics import JOBS
from mailpass_sender.retry import RetryDelay

log = logging.getLogger(__name__)


class BrokerJobRouter:
    """Parks deferred jobs in delay queues and exhausted ones in the dead-letter queue."""

    def __init__(self, publisher: JobPublisher) -> None:
        self._publisher = publisher

    async def retry_later(self, job: SendJob, kind: MessageKind, delay: RetryDelay) -> None:
        await self._publisher.publish_retry(
            job, kind, nominal_seconds=delay.nominal_seconds, delay_seconds=delay.seconds
        )

    async def dead_letter(
        self, job: SendJob, kind: MessageKind, *, error: str, attempts: int
    ) -> None:
        await self._publisher.publish_dead(
            job, kind, reason="exhausted", error=error, attempts=attempts
        )


class JobConsumer:
    def __init__(
        self,
        connection: AbstractRobustConnection,
        context: DeliveryContext,
        *,
        topology: Topology,
        prefetch: int,
    ) -> None:
        self._connection = connection
        self._context = context
        self._topology = topology
        self._prefetch = prefetch
        self._channel: AbstractChannel | None = None
        self._consumer_tags: list[tuple[str, str]] = []
        self._in_flight: set[asyncio.Task[None]] = set()
        self._tracer = tracer("mailpass.sender")

    async def start(self) -> None:
        self._channel = await self._connection.channel()
        await self._channel.set_qos(prefetch_count=self._prefetch)
        queues = await broker.declare(self._channel, self._topology)
        for kind in (MessageKind.IMMEDIATE, MessageKind.BATCH):
            queue = queues[kind]
            tag = await queue.consume(functools.partial(self._on_message, kind))
            self._consumer_tags.append((queue.name, tag))

    async def _on_message(self, kind: MessageKind, message: AbstractIncomingMessage) -> None:
        # Each job runs in its own task so one slow provider does not hold up the others;
        # prefetch bounds how many run at once.
        task = asyncio.create_task(self._handle(kind, message))
        self._in_flight.add(task)
        task.add_done_callback(self._in_flight.discard)

    async def _handle(self, kind: MessageKind, message: AbstractIncomingMessage) -> None:
        queue = kind.value  # a label: the prefixed queue name would vary per install
        try:
            job = SendJob.decode(message.body)
        except (ValueError, KeyError, TypeError):
            log.error("undecodable job dead-lettered", extra=log_fields(body=message.body[:200]))
            await message.reject(requeue=False)
            JOBS.labels(queue, "rejected").inc()
            return
        context = extract_trace_context(message.headers)
        with self._tracer.start_as_current_span(
            "mailpass.deliver",
            context=context,
            kind=trace.SpanKind.CONSUMER,
            attributes={"messaging.system": "rabbitmq", "mailpass.message_id": job.message_id},
        ):
            try:
                outcome = await deliver(job, kind, self._context)
                if message.reply_to:
                    await self._reply(message, outcome)
            except Exception:
                log.exception(
                    "delivery crashed; job requeued", extra=log_fields(message_id=job.message_id)
                )
                JOBS.labels(queue, "requeued").inc()
                await message.nack(requeue=True)
                return
        await message.ack()
        JOBS.labels(queue, "done" if outcome.attempted else "skipped").inc()

    async def _reply(self, message: AbstractIncomingMessage, outcome: DeliveryOutcome) -> None:
        assert self._channel is not None and message.reply_to
        body = json.dumps(
            {
                "message_id": outcome.message_id,
                "status": outcome.status.value,
                "error_message": outcome.error_message,
            }
        ).encode()
        await self._channel.default_exchange.publish(
            aio_pika.Message(
                body, content_type="application/json", correlation_id=message.correlation_id
            ),
            routing_key=message.reply_to,
        )

    async def stop(self) -> None:
        """Stop taking jobs, let the ones in flight finish, then close the channel."""
        if self._channel is not None and not self._channel.is_closed:
            for queue_name, tag in self._consumer_tags:
                queue = await self._channel.get_queue(queue_name, ensure=False)
                await queue.cancel(tag)
        if self._in_flight:
            await asyncio.wait(self._in_flight, timeout=30)
        if self._channel is not None and not self._channel.is_closed:
            await self._channel.close()
