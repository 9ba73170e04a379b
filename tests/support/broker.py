"""Jobs on the real broker: publishing as the gateway does, peeking at the dead letters,
and a reply queue standing in for the gateway's."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import aio_pika
from aio_pika.abc import AbstractIncomingMessage

from mailpass_common.messages.models import MessageDocument
from mailpass_common.messages.replies import SendReply
from mailpass_common.platform.broker import JobPublisher, Topology
from mailpass_common.platform.dead_letters import DeadLetter, read_dead_letters
from mailpass_common.platform.jobs import MessageKind, SendJob


async def publish(
    env: dict[str, Any],
    docs: Sequence[MessageDocument],
    *,
    reply_to: str | None = None,
) -> None:
    connection = await aio_pika.connect_robust(env["amqp_url"])
    async with connection:
        publisher = JobPublisher(connection, Topology(env["amqp_prefix"]))
        for doc in docs:
            await publisher.publish(
                SendJob(doc["account_id"], (doc["_id"],)),
                MessageKind(doc["kind"]),
                reply_to=reply_to,
                correlation_id=doc["_id"] if reply_to else None,
            )


async def dead_letters(env: dict[str, Any]) -> list[DeadLetter]:
    """Peek at the dead-letter queue (everything read goes back when the channel closes)."""
    connection = await aio_pika.connect(env["amqp_url"])
    async with connection:
        channel = await connection.channel()
        return await read_dead_letters(channel, Topology(env["amqp_prefix"]))


class ReplyQueue:
    """Stands in for the gateway's RPC reply queue; keeps (reply, correlation id) pairs."""

    def __init__(self, env: dict[str, Any]) -> None:
        self._url = env["amqp_url"]
        self.replies: list[tuple[SendReply, str | None]] = []
        self._arrived = asyncio.Event()

    async def __aenter__(self) -> ReplyQueue:
        self._connection = await aio_pika.connect(self._url)
        channel = await self._connection.channel()
        self._queue = await channel.declare_queue(exclusive=True, auto_delete=True)
        self.name = self._queue.name
        await self._queue.consume(self._on_reply, no_ack=True)
        return self

    async def _on_reply(self, message: AbstractIncomingMessage) -> None:
        self.replies.append((SendReply.decode(message.body), message.correlation_id))
        self._arrived.set()

    async def wait_for(self, count: int, timeout: float = 10.0) -> None:
        """Until ``count`` replies are in: the sender replies after it records the outcome,
        so a status seen in the database does not mean its reply has arrived yet."""
        async with asyncio.timeout(timeout):
            while len(self.replies) < count:
                self._arrived.clear()
                await self._arrived.wait()

    async def __aexit__(self, *exc: object) -> None:
        await self._connection.close()
