"""The RabbitMQ side of webhooks: the delivery queue, its delay queues, and the jobs.

``{prefix}.webhooks`` holds one job per (event, endpoint, attempt number), published by
the relay with confirms. A failed attempt parks the next one in
``{prefix}.webhooks.delay.{ms}ms`` (a per-message TTL, then dead-lettered back to the
delivery queue through the default exchange), the same delay-queue pattern as the
sender's retries (:mod:`mailpass_common.platform.broker`): every job in one delay queue waits the
same time, so none waits behind a longer one, and idle ones remove themselves
(``x-expires``, renewed by the declare before each publish). No consumer sleeps. Jobs
that keep crashing a consumer (the quorum queue's delivery limit) end in
``{prefix}.webhooks.dead``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractQueue

from mailpass_common.platform.broker import DELIVERY_LIMIT, QUORUM
from mailpass_common.platform.formats import FORMAT_FIELD, format_version

# The format :meth:`DeliveryJob.encode` writes (:mod:`mailpass_common.platform.formats`).
DELIVERY_JOB_FORMAT = 1


@dataclass(frozen=True)
class WebhookTopology:
    prefix: str

    @property
    def queue(self) -> str:
        return f"{self.prefix}.webhooks"

    @property
    def dead_letter_queue(self) -> str:
        return f"{self.prefix}.webhooks.dead"

    def delay_queue(self, delay_ms: int) -> str:
        return f"{self.prefix}.webhooks.delay.{delay_ms}ms"


@dataclass(frozen=True)
class DeliveryJob:
    """Deliver ``event_id`` to ``endpoint_id``; ``attempt`` counts from 1."""

    event_id: str
    endpoint_id: str
    attempt: int = 1

    def encode(self) -> bytes:
        return json.dumps(
            {
                FORMAT_FIELD: DELIVERY_JOB_FORMAT,
                "event_id": self.event_id,
                "endpoint_id": self.endpoint_id,
                "attempt": self.attempt,
            }
        ).encode()

    @classmethod
    def decode(cls, body: bytes) -> DeliveryJob:
        data = json.loads(body)
        if not isinstance(data, dict):
            raise TypeError("a webhook job is a JSON object")
        format_version(data, DELIVERY_JOB_FORMAT, what="webhook job")
        return cls(str(data["event_id"]), str(data["endpoint_id"]), int(data["attempt"]))


async def declare(channel: AbstractChannel, topology: WebhookTopology) -> AbstractQueue:
    await channel.declare_queue(topology.dead_letter_queue, durable=True, arguments=dict(QUORUM))
    return await channel.declare_queue(
        topology.queue,
        durable=True,
        arguments={
            **QUORUM,
            "x-delivery-limit": DELIVERY_LIMIT,
            "x-dead-letter-exchange": "",
            "x-dead-letter-routing-key": topology.dead_letter_queue,
        },
    )


def _message(job: DeliveryJob, expiration: float | None = None) -> aio_pika.Message:
    return aio_pika.Message(
        body=job.encode(),
        content_type="application/json",
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        expiration=expiration,
    )


class WebhookPublisher:
    """Publishes delivery jobs on a confirming channel: each call returns once RabbitMQ
    has the job (so the caller may then mark, or ack, what it came from)."""

    def __init__(self, channel: AbstractChannel, topology: WebhookTopology) -> None:
        self._channel = channel
        self._topology = topology

    async def publish(self, job: DeliveryJob) -> None:
        await self._channel.default_exchange.publish(
            _message(job), routing_key=self._topology.queue, mandatory=True
        )

    async def publish_later(self, job: DeliveryJob, delay_seconds: float) -> None:
        delay_ms = max(1, round(delay_seconds * 1000))
        name = self._topology.delay_queue(delay_ms)
        await self._channel.declare_queue(
            name,
            durable=True,
            arguments={
                **QUORUM,
                "x-dead-letter-exchange": "",
                "x-dead-letter-routing-key": self._topology.queue,
                "x-dead-letter-strategy": "at-least-once",
                "x-overflow": "reject-publish",
                "x-expires": 2 * delay_ms + 60_000,
            },
        )
        await self._channel.default_exchange.publish(
            _message(job, expiration=delay_ms / 1000), routing_key=name, mandatory=True
        )
