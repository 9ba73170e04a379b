"""Start-up helpers: wait for dependencies instead of crashing while they come up."""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

from aio_pika.abc import AbstractRobustConnection

from mailpass_common.platform import broker
from mailpass_common.platform.db import Database, ping
from mailpass_common.platform.telemetry import log_fields

T = TypeVar("T")
log = logging.getLogger(__name__)

# Allocations (net of frees) between two collections of the youngest generation; Python's
# default is 700. See :func:`settle_heap`.
YOUNG_COLLECTION_THRESHOLD = 10_000


async def retry_until(what: str, attempt: Callable[[], Awaitable[T]], timeout: float) -> T:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    delay = 0.2
    while True:
        try:
            return await attempt()
        except Exception as exc:
            if loop.time() + delay > deadline:
                raise RuntimeError(f"{what} did not answer within {timeout:.0f}s: {exc}") from exc
            log.warning("waiting for dependency", extra=log_fields(dependency=what, error=str(exc)))
            await asyncio.sleep(delay)
            delay = min(delay * 2, 3.0)


async def wait_for_mongodb(db: Database, timeout: float) -> None:
    await retry_until("MongoDB", lambda: ping(db), timeout)


async def connect_rabbitmq(url: str, timeout: float) -> AbstractRobustConnection:
    return await retry_until("RabbitMQ", lambda: broker.connect(url), timeout)


async def run_until_signalled(
    name: str, start: Callable[[], Awaitable[None]], stop: Callable[[], Awaitable[None]]
) -> None:
    """A long-running service: start it, wait for SIGTERM or SIGINT, then stop it (which
    finishes the work in flight)."""
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    await start()
    try:
        await stopping.wait()
        log.info("%s stopping", name)
    finally:
        await stop()


def settle_heap() -> None:
    """For a service's process, once it has built itself (before it serves): what it has
    loaded so far (modules, the app, its routes and models) is moved out of the cyclic
    collector's reach (``gc.freeze``), and the youngest generation is collected every
    10,000 allocations instead of 700.

    A request or a job makes thousands of short-lived objects, freed by their reference
    counts; at 700, the collector ran several times per request, each time walking the
    objects of every request in flight and promoting them, so the full collections it
    then triggered walked the whole start-up heap again. Measured on ``/send``, that was
    about 6 % of the gateway's CPU. Garbage in cycles is still collected, a little later."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_COLLECTION_THRESHOLD, middle, old)


def run_on_uvloop(main: Coroutine[Any, Any, T]) -> T:
    """Run a service's main coroutine on uvloop's event loop (libuv; its sockets, timers
    and callbacks in C), the loop uvicorn gives the gateway; on asyncio's own loop where
    uvloop is not installed (the platforms where ``uvicorn[standard]`` leaves it out)."""
    try:
        import uvloop
    except ImportError:  # not installed: asyncio's own loop
        return asyncio.run(main)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(main)
