"""Concurrent requests' single database operations, sent as one (a group commit).

Fifty ``/send`` requests in flight each insert one message and look up a few addresses:
a hundred MongoDB commands, each costing its client about a quarter of a millisecond of
CPU and a round trip, when the same work fits in two. A :class:`Coalescer` takes the
operations that arrive while one of its commands is on the wire and sends them together
as the next one as soon as it returns. Nothing waits for a timer: alone, an operation
goes out after one turn of the event loop (what came in on that turn goes with it);
under load, the batches grow with the load and the round trips per operation fall.

Each caller gets its own result or its own error: ``run`` answers a batch with one
outcome per item, in order (a result, or an exception for that item alone); an error of
the whole command is every item's. A caller cancelled before its item is sent takes the
item back, so an operation its caller gave up on is not made later behind its back (one
cancelled while its command is on the wire is what a cancelled command always was:
maybe made).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class Coalescer(Generic[T, R]):
    """Runs ``run`` over the items submitted meanwhile, at most ``max_items`` at a time."""

    def __init__(
        self,
        run: Callable[[Sequence[T]], Awaitable[Sequence[R | BaseException]]],
        *,
        max_items: int = 100,
        observe: Callable[[int], None] | None = None,
    ) -> None:
        """``observe``: told each command's number of items (a metric's hook)."""
        if max_items < 1:
            raise ValueError("max_items must be at least 1")
        self._run = run
        self._max_items = max_items
        self._observe = observe
        self._pending: list[tuple[T, asyncio.Future[R]]] = []
        self._draining: asyncio.Task[None] | None = None
        self.batches = 0  # commands sent: with ``items``, what the coalescing saved
        self.items = 0

    async def submit(self, item: T) -> R:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[R] = loop.create_future()
        self._pending.append((item, future))
        if self._draining is None or self._draining.done():
            self._draining = loop.create_task(self._drain())
        try:
            return await future
        except asyncio.CancelledError:
            for index, (_, waiting) in enumerate(self._pending):
                if waiting is future:  # not sent yet: never made
                    del self._pending[index]
                    break
            raise

    async def _drain(self) -> None:
        batch: list[tuple[T, asyncio.Future[R]]] = []
        try:
            await asyncio.sleep(0)  # what arrives on this turn of the loop goes along
            while self._pending:
                batch = self._pending[: self._max_items]
                del self._pending[: self._max_items]
                self.batches += 1
                self.items += len(batch)
                if self._observe is not None:
                    self._observe(len(batch))
                try:
                    outcomes = await self._run([item for item, _ in batch])
                    if len(outcomes) != len(batch):
                        raise RuntimeError(f"{len(outcomes)} outcomes for {len(batch)} items")
                except Exception as exc:
                    outcomes = [exc] * len(batch)
                for (_, future), outcome in zip(batch, outcomes, strict=True):
                    if future.done():
                        continue
                    if isinstance(outcome, BaseException):
                        future.set_exception(outcome)
                    else:
                        future.set_result(outcome)
                batch = []
        finally:  # stopped (the loop shutting down): nobody is left waiting forever
            for _, future in [*batch, *self._pending]:
                future.cancel()
            self._pending.clear()
