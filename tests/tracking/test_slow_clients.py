"""The real tracker process (public, internet-facing) under slow clients: connections
that trickle their headers (slow-loris) or send nothing are closed after
HTTP_HEADER_TIMEOUT_SECONDS, connections past HTTP_MAX_CONNECTIONS are closed at once,
idle kept-alive ones after HTTP_KEEP_ALIVE_SECONDS; then real requests are served.
Bounded: 40 connections, a few seconds."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx

from tests.support.processes import BIN, process_env
from tests.support.services import free_port

SLOW = 40
MAX_CONNECTIONS = 25
HEADER_TIMEOUT = 1.0


@contextlib.asynccontextmanager
async def tracker_process(env: dict[str, Any]) -> AsyncIterator[int]:
    port = free_port()
    proc = await asyncio.create_subprocess_exec(
        str(BIN / "mailpass-tracker"),
        env=process_env(
            env,
            tracker_port=port,
            management_port=free_port(),
            http_header_timeout_seconds=HEADER_TIMEOUT,
            http_max_connections=MAX_CONNECTIONS,
            http_keep_alive_seconds=1,
        ),
    )
    try:
        async with httpx.AsyncClient() as client:
            for _ in range(200):
                with contextlib.suppress(httpx.TransportError):
                    await client.get(f"http://127.0.0.1:{port}/t/o/x")
                    break
                assert proc.returncode is None, "the tracker exited"
                await asyncio.sleep(0.05)
        yield port
    finally:
        proc.terminate()
        await proc.wait()


async def _closed_after(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> float:
    """Trickle a header byte every 0.2 s until the server closes; seconds it took."""
    started = time.monotonic()
    with contextlib.suppress(ConnectionError):
        while True:
            try:
                if await asyncio.wait_for(reader.read(1024), 0.2) == b"":
                    break
            except TimeoutError:
                writer.write(b"x")
                await writer.drain()
    writer.close()
    return time.monotonic() - started


async def test_slow_loris_connections_are_closed_and_real_requests_served(
    service_env: dict[str, Any],
) -> None:
    async with tracker_process(service_env) as port:
        streams = []
        for _ in range(SLOW):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"GET /t/o/x HTTP/1.1\r\nHost: tracker\r\nX-Slow: ")
            streams.append((reader, writer))
        async with asyncio.timeout(6 * HEADER_TIMEOUT):
            closed = await asyncio.gather(*(_closed_after(r, w) for r, w in streams))
        async with httpx.AsyncClient() as client:  # their slots are free again
            served = await client.get(f"http://127.0.0.1:{port}/t/o/x")
        assert served.status_code == 404
        at_once = [t for t in closed if t < HEADER_TIMEOUT / 2]
        assert len(at_once) >= SLOW - MAX_CONNECTIONS, closed  # over the connection cap
        assert max(closed) < 3 * HEADER_TIMEOUT, closed  # the others at the header deadline

        # A kept-alive connection idle after its response is closed after the keep-alive.
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /t/o/x HTTP/1.1\r\nHost: tracker\r\n\r\n")
        started = time.monotonic()
        async with asyncio.timeout(5):
            while await reader.read(1024):
                pass
        assert time.monotonic() - started < 3
        writer.close()


def test_the_readme_states_the_listener_defaults() -> None:
    from mailpass_common.platform.settings import ServiceSettings
    from tests.support.readme import readme_text

    for name in ("http_header_timeout_seconds", "http_max_connections", "http_keep_alive_seconds"):
        default = ServiceSettings.model_fields[name].default
        assert f"`{name.upper()}` ({default:g})" in readme_text(), name
