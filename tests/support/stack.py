"""Runs the real gateway and sender in the test's event loop, over real HTTP and AMQP."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from typing import Any

import aio_pika
import httpx
import uvicorn
from fastapi import FastAPI

from mailpass_common.platform.management import EmbeddedServer


@contextlib.asynccontextmanager
async def serve_app(app: FastAPI) -> AsyncIterator[str]:
    """The app served on a port bound here first (no free port to lose to another socket
    between choosing and binding it). uvicorn's exit on a failed start-up (SystemExit,
    which asyncio lets out of the event loop and so out of every later test) is raised
    as an error of this test alone."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    port = int(listener.getsockname()[1])
    server = EmbeddedServer(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False)
    )

    async def serve() -> None:
        try:
            await server.serve(sockets=[listener])
        except SystemExit as exc:
            raise RuntimeError(f"the app did not start (uvicorn exited {exc.code})") from None

    task = asyncio.create_task(serve())
    try:
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.02)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
        listener.close()


@contextlib.asynccontextmanager
async def running_gateway(
    env: dict[str, Any], **overrides: Any
) -> AsyncIterator[httpx.AsyncClient]:
    async with running_gateway_ports(env, **overrides) as (client, _):
        yield client


@contextlib.asynccontextmanager
async def running_gateway_ports(
    env: dict[str, Any], **overrides: Any
) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    """A client of the gateway's public port, and its management port's base URL."""
    from mailpass_gateway.app import create_app
    from mailpass_gateway.settings import GatewaySettings

    app = create_app(GatewaySettings(**{**env, **overrides}))
    async with (
        serve_app(app) as base_url,
        httpx.AsyncClient(base_url=base_url, timeout=60) as client,
    ):
        yield client, f"http://127.0.0.1:{app.state.management_port}"


@contextlib.asynccontextmanager
async def running_sender(env: dict[str, Any], **overrides: Any) -> AsyncIterator[Any]:
    from mailpass_sender.app import create_sender
    from mailpass_sender.settings import SenderSettings

    sender = create_sender(SenderSettings(**{**env, **overrides}))
    await sender.start()
    try:
        yield sender
    finally:
        await sender.stop()


async def delete_topology(amqp_url: str, prefix: str) -> None:
    """Quorum queues outlive their consumers: remove what a test declared under its prefix."""
    from mailpass_common.platform.broker import Topology
    from mailpass_common.platform.jobs import MessageKind

    topology = Topology(prefix)
    names = [topology.dead_letter_queue, *(topology.work_queue(kind) for kind in MessageKind)]
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        for name in names:
            channel = await connection.channel()
            with contextlib.suppress(Exception):
                await channel.queue_delete(name)
                await channel.close()
        channel = await connection.channel()
        with contextlib.suppress(Exception):
            await channel.exchange_delete(topology.exchange)
