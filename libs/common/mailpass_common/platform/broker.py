"""RabbitMQ topology and publishing: one place that names every exchange and queue.

Immediate (``/mail/send``) and batch jobs travel on separate durable quorum queues, so a
batch flood never delays an immediate send. Jobs carry ids, never content: the message
document in MongoDB is the source of truth. Every publish waits for the broker's
confirm, marks the message persistent and is mandatory (an unroutable job raises).

Retries wait in delay queues, not in consumers: a deferred job is published to
``{prefix}.delay.{kind}.{ms}ms`` with a per-message expiration (the jittered delay); when
it expires, the queue dead-letters it back to its work queue through the exchange.
Per-message TTLs only expire at the head of a queue, so each nominal delay has a queue of
its own: the jitter spread within one queue (at most ±50%) is then the most a job waits
behind another. Dead-lettering is ``at-least-once`` (quorum queues keep the job until the
work queue has it), so a retry is never dropped between the two queues. A delay queue's
arguments are a function of its name alone, so changing the retry schedule only creates
new queues, never a ``PRECONDITION_FAILED``; idle ones remove themselves (``x-expires``,
renewed by the declare before every publish, longer than any TTL they hold).

Exhausted jobs, and jobs RabbitMQ gave up on (delivery limit), end in ``{prefix}.dead``,
where ``mailpass dlq list|replay`` finds them (:mod:`mailpass_common.platform.dead_letters`).
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import aio_pika
from aio_pika.abc import (
    AbstractChannel,
    AbstractExchange,
    AbstractQueue,
    AbstractRobustConnection,
)

from mailpass_common.platform.amqp_nodes import (
    NODE_CONNECT_TIMEOUT_SECONDS,
    FailoverConnection,
    connection_name,
    node_urls,
)
from mailpass_common.platform.jobs import MessageKind, SendJob
from mailpass_common.platform.tracing import inject_context

QUORUM = {"x-queue-type": "quorum"}
# A job redelivered this many times (a consumer crashing on it each time) is dead-lettered
# instead of looping forever; the message document still tells its story.
DELIVERY_LIMIT = 20
# Headers a job carries into the dead-letter queue (read by ``mailpass dlq``).
DEAD_REASON = "x-mailpass-reason"
DEAD_ERROR = "x-mailpass-error"
# Jitter is bounded so the longest TTL in a delay queue stays below its x-expires.
MAX_JITTER = 0.5


@dataclass(frozen=True)
class Topology:
    prefix: str

    @property
    def exchange(self) -> str:
        return self.prefix

    def work_queue(self, kind: MessageKind) -> str:
        return f"{self.prefix}.send.{kind.value}"

    @property
    def dead_letter_queue(self) -> str:
        return f"{self.prefix}.dead"

    def delay_queue(self, kind: MessageKind, delay_ms: int) -> str:
        return f"{self.prefix}.delay.{kind.value}.{delay_ms}ms"

    @staticmethod
    def routing_key(kind: MessageKind) -> str:
        return f"send.{kind.value}"

    def reply_queue(self) -> str:
        """A fresh name for one process's RPC reply queue (``/send`` waits on it)."""
        return f"{self.prefix}.reply.{secrets.token_hex(6)}"


async def connect(url: str) -> AbstractRobustConnection:
    """A robust connection to the node(s) ``url`` names (several: see ``amqp_nodes``): it
    reconnects, to another node when there are several, and restores channels and consumers."""
    connection = FailoverConnection(
        node_urls(url), client_properties={"connection_name": connection_name()}
    )
    await connection.connect(timeout=NODE_CONNECT_TIMEOUT_SECONDS)
    return connection


async def declare(channel: AbstractChannel, topology: Topology) -> dict[MessageKind, AbstractQueue]:
    """Declare the exchange and both work queues (idempotent: every service may call it)."""
    exchange = await channel.declare_exchange(
        topology.exchange, aio_pika.ExchangeType.DIRECT, durable=True
    )
    await declare_dead_letter_queue(channel, topology)
    queues = {}
    for kind in MessageKind:
        queue = await channel.declare_queue(
            topology.work_queue(kind),
            durable=True,
            arguments={
                **QUORUM,
                "x-delivery-limit": DELIVERY_LIMIT,
                "x-dead-letter-exchange": "",
                "x-dead-letter-routing-key": topology.dead_letter_queue,
            },
        )
        await queue.bind(exchange, routing_key=topology.routing_key(kind))
        queues[kind] = queue
    return queues


async def declare_dead_letter_queue(channel: AbstractChannel, topology: Topology) -> AbstractQueue:
    return await channel.declare_queue(
        topology.dead_letter_queue, durable=True, arguments=dict(QUORUM)
    )


async def declare_reply_queue(channel: AbstractChannel, name: str) -> AbstractQueue:
    """One process's own reply queue: exclusive, gone with its connection."""
    return await channel.declare_queue(name, exclusive=True, auto_delete=True)


async def declare_delay_queue(
    channel: AbstractChannel, topology: Topology, kind: MessageKind, delay_ms: int
) -> str:
    name = topology.delay_queue(kind, delay_ms)
    await channel.declare_queue(
        name,
        durable=True,
        arguments={
            **QUORUM,
            "x-dead-letter-exchange": topology.exchange,
            "x-dead-letter-routing-key": topology.routing_key(kind),
            "x-dead-letter-strategy": "at-least-once",
            # at-least-once dead-lettering requires reject-publish overflow.
            "x-overflow": "reject-publish",
            "x-expires": 2 * delay_ms + 60_000,
        },
    )
    return name


def _job_message(
    job: SendJob,
    *,
    reply_to: str | None = None,
    correlation_id: str | None = None,
    headers: dict[str, Any] | None = None,
    expiration: float | None = None,
) -> aio_pika.Message:
    return aio_pika.Message(
        body=job.encode(),
        content_type="application/json",
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        message_id=job.message_ids[0],
        reply_to=reply_to,
        correlation_id=correlation_id,
        headers=inject_context(dict(headers or {})),
        expiration=expiration,
    )


class JobPublisher:
    """Publishes send jobs with publisher confirms on one channel of its own.

    Every method returns only once the broker has confirmed the job, so a caller may ack
    the job it is handling right after (the order that makes a retry crash-safe).
    """

    def __init__(self, connection: AbstractRobustConnection, topology: Topology) -> None:
        self._connection = connection
        self._topology = topology
        self._channel: AbstractChannel | None = None
        self._exchange: AbstractExchange | None = None
        self._lock = asyncio.Lock()

    async def _get_channel(self) -> tuple[AbstractChannel, AbstractExchange]:
        async with self._lock:
            if self._channel is None or self._exchange is None:
                # on_return_raises: a mandatory publish nobody routes fails instead of
                # being confirmed and silently dropped.
                channel = await self._connection.channel(
                    publisher_confirms=True, on_return_raises=True
                )
                await declare(channel, self._topology)
                self._exchange = await channel.get_exchange(self._topology.exchange)
                self._channel = channel
            return self._channel, self._exchange

    async def publish(
        self,
        job: SendJob,
        kind: MessageKind,
        *,
        reply_to: str | None = None,
        correlation_id: str | None = None,
        headers: dict[str, Any] | None = None,
    ) -> None:
        _, exchange = await self._get_channel()
        message = _job_message(
            job, reply_to=reply_to, correlation_id=correlation_id, headers=headers
        )
        await exchange.publish(
            message, routing_key=self._topology.routing_key(kind), mandatory=True
        )

    async def publish_many(self, jobs: Sequence[SendJob], kind: MessageKind) -> None:
        """Publish jobs in order, each confirmed. A job names up to a hundred messages, so
        a chunk of a thousand messages costs ten confirms."""
        _, exchange = await self._get_channel()
        routing_key = self._topology.routing_key(kind)
        for job in jobs:
            await exchange.publish(_job_message(job), routing_key=routing_key, mandatory=True)

    async def ready_jobs(self) -> dict[MessageKind, int]:
        """Jobs waiting in each work queue, not yet handed to a sender."""
        channel, _ = await self._get_channel()
        counts = {}
        for kind in MessageKind:
            queue = await channel.declare_queue(self._topology.work_queue(kind), passive=True)
            counts[kind] = int(queue.declaration_result.message_count or 0)
        return counts

    async def dead_letters_waiting(self) -> int:
        """Jobs in the dead-letter queue (an operator's to look at)."""
        channel, _ = await self._get_channel()
        queue = await declare_dead_letter_queue(channel, self._topology)
        return int(queue.declaration_result.message_count or 0)

    async def publish_retry(
        self, job: SendJob, kind: MessageKind, *, nominal_seconds: float, delay_seconds: float
    ) -> str:
        """Park the job in the delay queue for ``nominal_seconds``; it expires after
        ``delay_seconds`` (the jittered delay) back into its work queue. Returns the queue."""
        channel, _ = await self._get_channel()
        # Declared before every publish: the declare renews the queue's x-expires lease.
        name = await declare_delay_queue(
            channel, self._topology, kind, max(1, round(nominal_seconds * 1000))
        )
        message = _job_message(job, expiration=max(0.001, delay_seconds))
        await channel.default_exchange.publish(message, routing_key=name, mandatory=True)
        return name

    async def publish_dead(self, job: SendJob, *, reason: str, error: str) -> None:
        """Put the job in the dead-letter queue for an operator to inspect and replay (its
        messages tell their kind and attempts)."""
        channel, _ = await self._get_channel()
        headers: dict[str, Any] = {DEAD_REASON: reason, DEAD_ERROR: error[:1000]}
        await channel.default_exchange.publish(
            _job_message(job, headers=headers),
            routing_key=self._topology.dead_letter_queue,
            mandatory=True,
        )
