"""Waiting for the sender's answer to one job (RPC over RabbitMQ).

Each gateway process consumes an exclusive reply queue of its own; a job published with
``reply_to`` set to it and a fresh ``correlation_id`` gets its outcome back here.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from typing import Any

from aio_pika.abc import AbstractIncomingMessage, AbstractQueue, AbstractRobustConnection


class ReplyWaiter:
    def __init__(self, connection: AbstractRobustConnection, prefix: str) -> None:
        self._connection = connection
        self._queue_name = f"{prefix}.reply.{secrets.token_hex(6)}"
        self._pending: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._queue: AbstractQueue | None = None

    @property
    def queue_name(self) -> str:
        return self._queue_name

    async def start(self) -> None:
        channel = await self._connection.channel()
        self._queue = await channel.declare_queue(
            self._queue_name, exclusive=True, auto_delete=True
        )
        await self._queue.consume(self._on_reply, no_ack=True)

    async def _on_reply(self, message: AbstractIncomingMessage) -> None:
        future = self._pending.get(message.correlation_id or "")
        if future is not None and not future.done():
            future.set_result(json.loads(message.body))

    def expect(self) -> tuple[str, asyncio.Future[dict[str, Any]]]:
        """Register interest before publishing, so a fast reply is never missed."""
        correlation_id = secrets.token_hex(12)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[correlation_id] = future
        return correlation_id, future

    async def wait(
        self, correlation_id: str, future: asyncio.Future[dict[str, Any]], timeout: float
    ) -> dict[str, Any] | None:
        try:
            return await asyncio.wait_for(future, timeout)
        except TimeoutError:
            return None
        finally:
            self._pending.pop(correlation_id, None)
