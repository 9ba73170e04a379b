"""``AMQP_URL`` naming several RabbitMQ nodes, and a connection that fails over between them.

The format is the one RabbitMQ's own clients and Spring/Kombu users know: one URL whose
host part lists the nodes, comma-separated, sharing the scheme, the credentials, the
virtual host and the query::

    amqp://mailpass:secret@rabbit-0:5672,rabbit-1:5672,rabbit-2/mailpass?heartbeat=30

A node without a port takes the scheme's (5672, or 5671 for ``amqps``); IPv6 addresses
are written in brackets (``[fd00::1]:5672``). One node is the ordinary URL, unchanged.

aio-pika's robust connection reconnects to the one URL it was given. A
:class:`FailoverConnection` holds the list instead: every connection attempt tries the
nodes in turn, starting where the last attempt stopped, and returns as soon as one
accepts, so a dead node costs one refused (or timed-out) attempt, not a reconnect
interval. Each process starts at a random node (clients spread over the cluster), and
when an established connection drops it starts the next attempt at the following node
(the one it was on has most likely just died). Channels, queues and consumers are then
restored by aio-pika on the survivor, as after any reconnection; the cluster's quorum
queues hold the jobs that were on the dead node.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import socket
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import aio_pika
from aio_pika.exceptions import CONNECTION_EXCEPTIONS
from yarl import URL

from mailpass_common.platform.telemetry import log_fields

log = logging.getLogger(__name__)

DEFAULT_PORTS = {"amqp": 5672, "amqps": 5671}
# One node's connection attempt (TCP, TLS and the AMQP handshake) gives up after this, so a
# node that black-holes packets does not hold up the move to the next one (the timeout
# given to ``connect``, which aio-pika applies to every attempt).
NODE_CONNECT_TIMEOUT_SECONDS = 10.0
# The hook below overrides aio-pika's private method that makes one connection attempt.
_ATTEMPT = "_RobustConnection__connect_transport"
if not hasattr(aio_pika.RobustConnection, _ATTEMPT):  # pragma: no cover - an aio-pika change
    raise ImportError(f"aio-pika's RobustConnection has no {_ATTEMPT}: review amqp_nodes.py")


def node_urls(url: str) -> list[str]:
    """One URL per node named in ``url`` (see the module docstring); ValueError when a node
    is empty or its port is not a number from 1 to 65535."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme not in DEFAULT_PORTS:
        raise ValueError("AMQP_URL must start with amqp:// or amqps://")
    authority, slash, tail = rest.partition("/")
    if "?" in authority and not slash:  # amqp://host?heartbeat=30
        authority, _, query = authority.partition("?")
        tail = f"?{query}"
    userinfo, at, hosts = authority.rpartition("@")
    prefix = f"{scheme}://{userinfo}{at}"
    nodes = [_node(host.strip(), DEFAULT_PORTS[scheme]) for host in hosts.split(",")]
    return [f"{prefix}{node}/{tail}" for node in nodes]


def _node(host: str, default_port: int) -> str:
    if not host:
        raise ValueError("AMQP_URL names an empty node (two commas, or none at all)")
    if host.startswith("["):
        name, bracket, port = host.partition("]")
        name += bracket
        if port and not port.startswith(":"):
            raise ValueError(f"AMQP_URL node {host!r}: expected [address]:port")
        port = port[1:]
    else:
        name, _, port = host.partition(":")
    if not port:
        return f"{name}:{default_port}"
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"AMQP_URL node {host!r}: the port must be a number from 1 to 65535")
    return f"{name}:{int(port)}"


def _host(url: URL) -> str:
    return f"{url.host}:{url.port}"


def connection_name() -> str:
    """``mailpass <program> <host> <pid>``: RabbitMQ shows it for each connection, so an
    operator (and ``make chaos``) can tell which process holds which connection and on which
    node it landed (the host is the pod's name in Kubernetes)."""
    program = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else "python"
    return f"mailpass {program} {socket.gethostname()} {os.getpid()}"


class FailoverConnection(aio_pika.RobustConnection):
    """A robust connection over several nodes: each attempt tries them all, in turn."""

    def __init__(self, nodes: Sequence[str], *, start: int | None = None, **kwargs: Any) -> None:
        """``start``: the index of the node tried first (None: a random one)."""
        if not nodes:
            raise ValueError("no RabbitMQ node to connect to")
        self.nodes = [URL(node) for node in nodes]
        self._next = random.randrange(len(self.nodes)) if start is None else start
        super().__init__(url=self.nodes[self._next], **kwargs)

    # aio-pika's one connection attempt (the name its private method has from outside).
    async def _RobustConnection__connect_transport(self) -> None:
        attempt = getattr(super(), _ATTEMPT)
        for tried in range(1, len(self.nodes) + 1):
            self.url = self.nodes[self._next]
            try:
                await attempt()
            except CONNECTION_EXCEPTIONS as exc:  # a timeout is an OSError: in there too
                self._move_past(self.url)
                if tried == len(self.nodes):
                    raise  # aio-pika retries the whole list after its reconnect interval
                log.warning(
                    "RabbitMQ node did not answer, trying the next",
                    extra=log_fields(node=_host(self.url), error=str(exc) or type(exc).__name__),
                )
            else:
                if len(self.nodes) > 1:
                    log.info("connected to RabbitMQ", extra=log_fields(node=_host(self.url)))
                return

    async def _on_connection_close(self, closing: asyncio.Future[Any]) -> None:
        # Called for a connection that dropped and for an attempt that failed alike.
        if not self._close_called and not self.is_closed:
            self._move_past(self.url)
        await super()._on_connection_close(closing)

    def _move_past(self, node: URL) -> None:
        """The next attempt starts after ``node`` (idempotent: both hooks may call it)."""
        self._next = (self.nodes.index(node) + 1) % len(self.nodes)
