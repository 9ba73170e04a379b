"""A short-lived in-process cache: seconds of staleness instead of a round trip per request.

What may be cached this way is decided once (ARCHITECTURE decision 12): API keys,
provider documents and account settings, for ``CACHE_TTL_SECONDS`` (5 by default). A
change made elsewhere (a revocation, a new default provider) takes effect within that
time; the process that made it drops its own entry at once. Misses are not cached: a key
or provider created a moment ago works on its first use.

Loads are shared: when an entry is missing or has just expired, the callers asking for
it meanwhile (a burst of requests with one API key, a batch of messages of one account)
wait for one load instead of each sending the same query. A load that fails, fails for
each of them, and the next call tries again; a load that an ``invalidate`` overtook
answers its callers but is not kept.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class TtlCache(Generic[K, V]):
    def __init__(
        self,
        ttl_seconds: float,
        *,
        max_entries: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ttl = ttl_seconds
        self._max_entries = max_entries
        self._clock = clock
        self._entries: dict[K, tuple[float, V]] = {}
        self._loading: dict[K, asyncio.Future[V | None]] = {}

    def get(self, key: K) -> V | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        expires, value = entry
        if self._clock() >= expires:
            del self._entries[key]
            return None
        return value

    def put(self, key: K, value: V) -> None:
        if self._ttl <= 0:
            return
        self._entries.pop(key, None)
        if len(self._entries) >= self._max_entries:
            # Drop the oldest entry (insertion order): bounded memory, whatever the keys.
            del self._entries[next(iter(self._entries))]
        self._entries[key] = (self._clock() + self._ttl, value)

    def invalidate(self, key: K) -> None:
        self._entries.pop(key, None)
        self._loading.pop(key, None)  # a load under way is not kept, and not joined

    def clear(self) -> None:
        self._entries.clear()
        self._loading.clear()

    async def get_or_load(self, key: K, load: Callable[[], Awaitable[V | None]]) -> V | None:
        value = self.get(key)
        if value is not None:
            return value
        pending = self._loading.get(key)
        if pending is not None:
            try:
                return await asyncio.shield(pending)
            except asyncio.CancelledError:
                if not pending.cancelled():
                    raise  # this caller was cancelled
                # The caller that was loading was cancelled: load here instead.
        return await self._load(key, load)

    async def _load(self, key: K, load: Callable[[], Awaitable[V | None]]) -> V | None:
        future: asyncio.Future[V | None] = asyncio.get_running_loop().create_future()
        self._loading[key] = future
        try:
            value = await load()
        except asyncio.CancelledError:
            future.cancel()
            raise
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: no "never retrieved" warning without waiters
            raise
        finally:
            current = self._loading.get(key) is future
            if current:
                del self._loading[key]
        if value is not None and current:
            self.put(key, value)
        future.set_result(value)
        return value
