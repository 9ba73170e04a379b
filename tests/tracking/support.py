"""Helpers for the tracking tests: the real tracker, and a MongoDB connection that stalls."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx

from mailpass_common.platform.db import Collections, Database
from mailpass_tracker.app import create_app
from mailpass_tracker.settings import TrackerSettings
from tests.support.stack import serve_app


@contextlib.asynccontextmanager
async def running_tracker(env: dict[str, Any], **overrides: Any) -> AsyncIterator[str]:
    """The real tracker over HTTP; leaving the block shuts it down (and drains its buffer)."""
    async with running_tracker_ports(env, **overrides) as (base_url, _):
        yield base_url


@contextlib.asynccontextmanager
async def running_tracker_ports(
    env: dict[str, Any], **overrides: Any
) -> AsyncIterator[tuple[str, str]]:
    """The tracker's public base URL and its management base URL."""
    app = create_app(TrackerSettings(**{**env, **overrides}))
    async with serve_app(app) as base_url:
        yield base_url, f"http://127.0.0.1:{app.state.management_port}"


def client_from(address: str, base_url: str) -> httpx.AsyncClient:
    """An HTTP client whose connections come from ``address`` (any of 127.0.0.0/8 on Linux).

    uvicorn, as ``serve_app`` runs it, believes X-Forwarded-For from 127.0.0.1 by default,
    before the app sees the request; connecting from other loopback addresses keeps the
    tracker's own proxy rules the only ones in play.
    """
    transport = httpx.AsyncHTTPTransport(local_address=address)
    return httpx.AsyncClient(base_url=base_url, transport=transport, timeout=10)


async def insert_sent_message(
    db: Database, message_id: str, account_id: str, *, sent_ago: timedelta = timedelta(hours=1)
) -> None:
    now = datetime.now(UTC)
    await db[Collections.MESSAGES].insert_one(
        {
            "_id": message_id,
            "account_id": account_id,
            "status": "sent",
            "created_at": now - sent_ago,
            "sent_at": now - sent_ago,
        }
    )


class StallingProxy:
    """A TCP proxy in front of MongoDB that can stop passing bytes on, as a hung database,
    or go away altogether, as a database failing over.

    While paused, connections stay open and requests are swallowed without an answer (the
    worst kind of slow: no error to react to); on resume everything held back flows on.
    While cut, every connection is closed and new ones are closed as they arrive, until
    restored.
    """

    def __init__(self, upstream_url: str) -> None:
        parts = urlsplit(upstream_url)
        self._upstream = (parts.hostname or "127.0.0.1", parts.port or 27017)
        self._flowing = asyncio.Event()
        self._flowing.set()
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()
        self._down = False
        self.port = 0

    @property
    def url(self) -> str:
        return f"mongodb://127.0.0.1:{self.port}/?directConnection=true"

    def pause(self) -> None:
        self._flowing.clear()

    def resume(self) -> None:
        self._flowing.set()

    def cut(self) -> None:
        self._down = True
        for writer in list(self._writers):
            writer.close()

    def restore(self) -> None:
        self._down = False

    async def __aenter__(self) -> StallingProxy:
        self._server = await asyncio.start_server(self._connect, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _connect(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._down:
            writer.close()
            return
        up_reader, up_writer = await asyncio.open_connection(*self._upstream)
        self._writers |= {writer, up_writer}
        for source, sink in ((reader, up_writer), (up_reader, writer)):
            task = asyncio.create_task(self._pipe(source, sink))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _pipe(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        try:
            while chunk := await source.read(65536):
                await self._flowing.wait()
                sink.write(chunk)
                await sink.drain()
        except ConnectionError:
            pass
        finally:
            sink.close()
            self._writers.discard(sink)
