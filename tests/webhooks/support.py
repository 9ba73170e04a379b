"""A local webhook receiver, the webhooks service in the test's loop, and their clean-up."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import aio_pika
from fastapi import FastAPI, Request, Response

from mailpass_common.webhooks.topology import WebhookTopology
from tests.support.stack import serve_app

# Settings of the webhooks service in the tests: short retries, loopback receivers over
# http (the egress rules of tests.support.egress allow 127.0.0.0/8).
FAST_RETRIES = "0.3,0.3,0.3"


@dataclass(frozen=True)
class Hook:
    path: str
    headers: dict[str, str]
    body: bytes
    received_at: float = field(default_factory=time.monotonic)


@dataclass
class Receiver:
    """Keeps every POST; answers each path with its next status from ``statuses``
    (then 200 once they run out)."""

    base_url: str = ""
    received: list[Hook] = field(default_factory=list)
    statuses: dict[str, list[int]] = field(default_factory=dict)
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    def at(self, path: str) -> list[Hook]:
        return [hook for hook in self.received if hook.path == path]

    async def wait_for(
        self, done: Callable[[], bool], timeout: float = 20.0, what: str = "hooks"
    ) -> None:
        async with asyncio.timeout(timeout):
            while not done():
                self._arrived.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._arrived.wait(), 0.2)

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/{path:path}")
        async def receive(path: str, request: Request) -> Response:
            self.received.append(Hook(f"/{path}", dict(request.headers), await request.body()))
            self._arrived.set()
            queued = self.statuses.get(f"/{path}") or []
            status = queued.pop(0) if queued else 200
            return Response("x" * 10_000 if status >= 500 else "ok", status_code=status)

        return app


@contextlib.asynccontextmanager
async def running_receiver() -> AsyncIterator[Receiver]:
    receiver = Receiver()
    async with serve_app(receiver.app()) as base_url:
        receiver.base_url = base_url
        yield receiver


@contextlib.asynccontextmanager
async def running_webhooks(env: dict[str, Any], **overrides: Any) -> AsyncIterator[Any]:
    from mailpass_webhooks.app import create_webhooks
    from mailpass_webhooks.settings import WebhookSettings

    settings = {
        "webhook_retry_schedule": FAST_RETRIES,
        "webhook_relay_interval_seconds": 0.1,
        "webhook_allow_http": True,
        **env,
        **overrides,
    }
    service = create_webhooks(WebhookSettings(**settings))
    await service.start()
    try:
        yield service
    finally:
        await service.stop()
        await delete_webhook_queues(env["amqp_url"], env["amqp_prefix"], service.settings)


async def delete_webhook_queues(amqp_url: str, prefix: str, settings: Any) -> None:
    topology = WebhookTopology(prefix)
    names = [topology.queue, topology.dead_letter_queue]
    names += [topology.delay_queue(max(1, round(s * 1000))) for s in settings.retry_delays()]
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        for name in names:
            channel = await connection.channel()
            with contextlib.suppress(Exception):
                await channel.queue_delete(name)
                await channel.close()
