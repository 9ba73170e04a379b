"""A connection over several RabbitMQ nodes reaches a live one, and moves to a survivor
when its node dies, restoring its channels and consumers there.

The nodes are TCP forwarders to the real broker (closing one cuts every connection through
it and refuses new ones, as a killed node does); ``make chaos --cluster`` kills a real node
of a three-node cluster under load.
"""

from __future__ import annotations

import asyncio
import secrets
import socket
import time
import urllib.parse

import aio_pika
import pytest
from aio_pika.abc import AbstractIncomingMessage

from mailpass_common.platform import broker
from mailpass_common.platform.amqp_nodes import FailoverConnection, node_urls
from tests.support.tcp_proxy import TcpProxy


def _dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # nothing listens once the socket is closed


def _list_url(amqp_url: str, *ports: int, query: str = "") -> str:
    """``amqp_url``'s credentials and vhost over 127.0.0.1 at ``ports``."""
    parts = urllib.parse.urlsplit(amqp_url)
    userinfo = parts.netloc.rpartition("@")[0]
    hosts = ",".join(f"127.0.0.1:{port}" for port in ports)
    return f"amqp://{userinfo}@{hosts}{parts.path or '/'}{query}"


def _target(amqp_url: str) -> tuple[str, int]:
    parts = urllib.parse.urlsplit(amqp_url)
    return parts.hostname or "127.0.0.1", parts.port or 5672


async def test_a_dead_node_first_in_the_list_is_passed_over(amqp_url: str) -> None:
    live = _target(amqp_url)[1]
    url = _list_url(amqp_url, _dead_port(), live)
    connection = FailoverConnection(node_urls(url), start=0)
    started = time.monotonic()
    await connection.connect(timeout=5)
    try:
        assert connection.url.port == live
        assert time.monotonic() - started < 3  # a refused node costs no reconnect interval
        channel = await connection.channel()
        assert not channel.is_closed
    finally:
        await connection.close()
    # Whatever node the service's own connect starts at, it lands on the live one.
    for _ in range(4):
        service_connection = await broker.connect(url)
        assert isinstance(service_connection, FailoverConnection)
        assert service_connection.url.port == live
        await service_connection.close()


async def test_no_live_node_fails_at_once() -> None:
    url = f"amqp://guest:guest@127.0.0.1:{_dead_port()},127.0.0.1:{_dead_port()}/"
    with pytest.raises(aio_pika.exceptions.AMQPConnectionError):
        await asyncio.wait_for(broker.connect(url), 10)


async def test_a_consumer_moves_to_the_survivor_when_its_node_dies(amqp_url: str) -> None:
    first, second = [await TcpProxy(*_target(amqp_url)).start() for _ in range(2)]
    url = _list_url(amqp_url, first.port, second.port, query="?reconnect_interval=0.5")
    connection = FailoverConnection(node_urls(url), start=0)
    await connection.connect(timeout=5)
    name = f"mailpass-test-failover-{secrets.token_hex(4)}"
    received: asyncio.Queue[bytes] = asyncio.Queue()

    async def on_message(message: AbstractIncomingMessage) -> None:
        await received.put(message.body)
        await message.ack()

    try:
        channel = await connection.channel(publisher_confirms=True)
        queue = await channel.declare_queue(
            name, durable=True, arguments={"x-queue-type": "quorum"}
        )
        await queue.consume(on_message)
        assert connection.url.port == first.port
        await channel.default_exchange.publish(aio_pika.Message(b"before"), routing_key=name)
        assert await asyncio.wait_for(received.get(), 10) == b"before"

        reconnected = asyncio.Event()
        connection.reconnect_callbacks.add(lambda *_: reconnected.set())
        await first.close()  # the node dies
        killed = time.monotonic()
        await asyncio.wait_for(reconnected.wait(), 15)
        assert connection.url.port == second.port
        assert time.monotonic() - killed < 5
        assert second.accepted == 1

        # The restored channel publishes, and the restored consumer receives, on the survivor
        # (``before`` again first if its ack died with the node: at least once).
        await channel.default_exchange.publish(aio_pika.Message(b"after"), routing_key=name)
        bodies = [await asyncio.wait_for(received.get(), 10)]
        while bodies[-1] == b"before":
            bodies.append(await asyncio.wait_for(received.get(), 10))
        assert bodies[-1] == b"after" and len(bodies) <= 2
    finally:
        if not connection.is_closed:
            cleanup = await connection.channel()
            await cleanup.queue_delete(name)
        await connection.close()
        await second.close()
