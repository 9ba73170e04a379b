"""Removing what a harness declared on RabbitMQ under its own ``AMQP_PREFIX``."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import subprocess
import urllib.parse

import aio_pika

from mailpass_common.platform.amqp_nodes import node_urls
from mailpass_common.platform.broker import Topology, connect
from mailpass_common.platform.jobs import MessageKind


def _listed_queues(amqp_url: str, prefix: str) -> list[str]:
    """Queues named ``<prefix>.*`` on a local broker (delay queues are named at run time)."""
    host = urllib.parse.urlparse(node_urls(amqp_url)[0]).hostname or "127.0.0.1"
    ctl = shutil.which("rabbitmqctl")
    if ctl is None or host not in ("127.0.0.1", "localhost", "::1"):
        return []
    try:
        result = subprocess.run(
            [ctl, "list_queues", "--quiet", "--no-table-headers", "name"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return []
    names = (line.strip() for line in result.stdout.splitlines())
    return [n for n in names if n.startswith(f"{prefix}.")]


async def delete_prefixed_topology(amqp_url: str, prefix: str) -> list[str]:
    """Delete the work, dead-letter and delay queues and the exchange under ``prefix``."""
    topology = Topology(prefix)
    names = {topology.dead_letter_queue, *(topology.work_queue(kind) for kind in MessageKind)}
    names.update(await asyncio.to_thread(_listed_queues, amqp_url, prefix))
    deleted: list[str] = []
    connection = await connect(amqp_url)  # AMQP_URL may name several nodes
    async with connection:
        for name in sorted(names):
            # A failed operation closes its channel: one channel per deletion.
            channel = await connection.channel()
            with contextlib.suppress(aio_pika.exceptions.AMQPError):
                await channel.queue_delete(name)
                deleted.append(name)
                await channel.close()
        channel = await connection.channel()
        with contextlib.suppress(aio_pika.exceptions.AMQPError):
            await channel.exchange_delete(topology.exchange)
    return deleted
