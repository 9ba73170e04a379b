"""RabbitMQ topology and publishing: one place that names every exchange and queue.

Immediate (``/mail/send``) and batch jobs travel on separate durable quorum queues, so a
batch flood never delays an immediate send. Jobs carry ids, never content: the message
document in MongoDB is the source of truth. Every publish waits for the broker's
confirm and marks the message persistent.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

import aio_pika
from aio_pika.abc import (
    AbstractChannel,
    AbstractExchange,
    AbstractQueue,
    AbstractRobustConnection,
)

from mailpass_common.documents import MessageKind
from mailpass_common.telemetry import inject_trace_headers

QUORUM = {"x-queue-type": "quorum"}
# A job redelivered this many times (a consumer crashing on it each time) is dead-lettered
# instead of looping forever; the message document still tells its story.
DELIVERY_LIMIT = 20


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

    @staticmethod
    def routing_key(kind: MessageKind) -> str:
        return f"send.{kind.value}"


async def connect(url: str) -> AbstractRobustConnection:
    return await aio_pika.connect_robust(url, client_properties={"connection_name": "mailpass"})


async def declare(channel: AbstractChannel, topology: Topology) -> dict[MessageKind, AbstractQueue]:
    """Declare the exchange and both work queues (idempotent: every service may call it)."""
    exchange = await channel.declare_exchange(
        topology.exchange, aio_pika.ExchangeType.DIRECT, durable=True
    )
    await channel.declare_queue(topology.dead_letter_queue, durable=True, arguments=dict(QUORUM))
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


@dataclass(frozen=True)
class SendJob:
    """What travels on the broker: which message to deliver, never its content."""

    message_id: str
    account_id: str

    def encode(self) -> bytes:
        return json.dumps({"message_id": self.message_id, "account_id": self.account_id}).encode()

    @classmethod
    def decode(cls, body: bytes) -> SendJob:
        data = json.loads(body)
        return cls(message_id=str(data["message_id"]), account_id=str(data["account_id"]))


class JobPublisher:
    """Publishes send jobs with publisher confirms on one channel of its own."""

    def __init__(self, connection: AbstractRobustConnection, topology: Topology) -> None:
        self._connection = connection
        self._topology = topology
        self._exchange: AbstractExchange | None = None
        self._lock = asyncio.Lock()

    async def _get_exchange(self) -> AbstractExchange:
        async with self._lock:
            if self._exchange is None:
                channel = await self._connection.channel(publisher_confirms=True)
                await declare(channel, self._topology)
                self._exchange = await channel.get_exchange(self._topology.exchange)
            return self._exchange

    async def publish(
        self,
        job: SendJob,
        kind: MessageKind,
        *,
        reply_to: str | None = None,
        correlation_id: str | None = None,
        headers: dict[str, Any] | None = None,
    ) -> None:
        exchange = await self._get_exchange()
        message = aio_pika.Message(
            body=job.encode(),
            content_type="application/json",
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            message_id=job.message_id,
            reply_to=reply_to,
            correlation_id=correlation_id,
            headers=inject_trace_headers(dict(headers or {})),
        )
        # mandatory: an unroutable job is an error, not a silent drop.
        await exchange.publish(
            message, routing_key=self._topology.routing_key(kind), mandatory=True
        )
