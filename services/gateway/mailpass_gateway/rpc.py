"""Waiting for the sender's answer to one job (RPC over RabbitMQ).

Each gateway process consumes an exclusive reply queue of its own (its name and declaration
are the broker topology's: ``platform.broker``); a job published with
``reply_to`` set to it and a fresh ``correlation_id`` gets its outcome back here.
"""

from __future__ import annotations

import asyncio
import logging
import secrets

from aio_pika.abc import AbstractIncomingMessage, AbstractQueue, AbstractRobustConnection

from mailpass_common.messages.replies import SendReply
from mailpass_common.platform.broker import Topology, declare_reply_queue
from mailpass_common.platform.telemetry import log_fields

log = logging.getLogger(__name__)


class ReplyWaiter:
    def __init__(self, connection: AbstractRobustConnection, prefix: str) -> None:
        self._connection = connection
        self._queue_name = Topology(prefix).reply_queue()
        self._pending: dict[str, asyncio.Future[SendReply]] = {}
        self._queue: AbstractQueue | None = None

    @property
    def queue_name(self) -> str:
        return self._queue_name

    async def start(self) -> None:
        channel = await self._connection.channel()
        self._queue = await declare_reply_queue(channel, self._queue_name)
        await self._queue.consume(self._on_reply, no_ack=True)

    async def _on_reply(self, message: AbstractIncomingMessage) -> None:
        future = self._pending.get(message.correlation_id or "")
        if future is None or future.done():
            return  # a reply after the wait timed out: the status endpoint has it
        try:
            future.set_result(SendReply.decode(message.body))
        except (ValueError, KeyError, TypeError) as exc:
            log.error("unreadable reply", extra=log_fields(error=str(exc)))

    def expect(self) -> tuple[str, asyncio.Future[SendReply]]:
        """Register interest before publishing, so a fast reply is never missed."""
        correlation_id = secrets.token_hex(12)
        future: asyncio.Future[SendReply] = asyncio.get_running_loop().create_future()
        self._pending[correlation_id] = future
        return correlation_id, future

    async def wait(
        self, correlation_id: str, future: asyncio.Future[SendReply], timeout: float
    ) -> SendReply | None:
        try:
            return await asyncio.wait_for(future, timeout)
        except TimeoutError:
            return None
        finally:
            self._pending.pop(correlation_id, None)
