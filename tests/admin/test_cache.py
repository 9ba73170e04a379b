"""The short-lived cache: entries expire, misses are not kept, and loads are shared."""

from __future__ import annotations

import asyncio

import pytest

from mailpass_common.platform.cache import TtlCache


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Loader:
    """Counts its calls; each waits for ``release`` so that callers can pile up."""

    def __init__(self, value: str | None = "v", error: Exception | None = None) -> None:
        self.calls = 0
        self.value = value
        self.error = error
        self.release = asyncio.Event()

    async def __call__(self) -> str | None:
        self.calls += 1
        await self.release.wait()
        if self.error is not None:
            raise self.error
        return self.value


async def test_an_entry_lives_for_its_ttl_and_a_miss_is_not_kept() -> None:
    clock = Clock()
    cache: TtlCache[str, str] = TtlCache(5, clock=clock)
    loader = Loader()
    loader.release.set()
    assert await cache.get_or_load("k", loader) == "v"
    clock.now = 4.9
    assert await cache.get_or_load("k", loader) == "v"
    assert loader.calls == 1
    clock.now = 5.0
    assert await cache.get_or_load("k", loader) == "v"
    assert loader.calls == 2
    missing = Loader(value=None)
    missing.release.set()
    assert await cache.get_or_load("gone", missing) is None
    assert await cache.get_or_load("gone", missing) is None
    assert missing.calls == 2


async def test_callers_arriving_during_a_load_share_it() -> None:
    cache: TtlCache[str, str] = TtlCache(5)
    loader = Loader()
    callers = [asyncio.create_task(cache.get_or_load("k", loader)) for _ in range(50)]
    await asyncio.sleep(0)
    loader.release.set()
    assert await asyncio.gather(*callers) == ["v"] * 50
    assert loader.calls == 1


async def test_a_failed_load_fails_its_waiters_and_the_next_call_tries_again() -> None:
    cache: TtlCache[str, str] = TtlCache(5)
    failing = Loader(error=RuntimeError("database down"))
    callers = [asyncio.create_task(cache.get_or_load("k", failing)) for _ in range(3)]
    await asyncio.sleep(0)
    failing.release.set()
    results = await asyncio.gather(*callers, return_exceptions=True)
    assert [str(r) for r in results] == ["database down"] * 3 and failing.calls == 1
    working = Loader()
    working.release.set()
    assert await cache.get_or_load("k", working) == "v"


async def test_a_load_overtaken_by_invalidate_is_not_kept_nor_joined() -> None:
    cache: TtlCache[str, str] = TtlCache(5)
    stale = Loader(value="old")
    first = asyncio.create_task(cache.get_or_load("k", stale))
    await asyncio.sleep(0)
    cache.invalidate("k")  # e.g. this process just changed the provider
    fresh = Loader(value="new")
    fresh.release.set()
    assert await cache.get_or_load("k", fresh) == "new"
    stale.release.set()
    assert await first == "old"  # its own caller gets what it read
    assert cache.get("k") == "new"


async def test_when_the_loading_caller_is_cancelled_a_waiter_loads_itself() -> None:
    cache: TtlCache[str, str] = TtlCache(5)
    stuck = Loader()
    first = asyncio.create_task(cache.get_or_load("k", stuck))
    await asyncio.sleep(0)
    other = Loader(value="mine")
    other.release.set()
    waiter = asyncio.create_task(cache.get_or_load("k", other))
    await asyncio.sleep(0)
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first
    assert await waiter == "mine" and other.calls == 1
