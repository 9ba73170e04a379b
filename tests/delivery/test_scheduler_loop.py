"""``mailpass-scheduler loop`` keeps its MongoDB client and RabbitMQ connection from run to
run, and never waits for ever on them: a run is bounded, a connection whose broker link
is down is not used, and a failed run's connections are dropped for new ones. Against
the real broker and database; the flush itself is replaced where a test needs it to
hang or to report which connections it ran on."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest

from mailpass_common.platform.broker import JobPublisher
from mailpass_common.platform.db import Database
from mailpass_scheduler import main as scheduler
from mailpass_scheduler.flush import FlushReport
from mailpass_scheduler.settings import SchedulerSettings
from tests.support.services import free_port


class Runs:
    """The publishers the loop's runs were given, in order; ``hang`` makes the next run
    wait for ever (as one on a robust connection whose broker went away could)."""

    def __init__(self) -> None:
        self.publishers: list[JobPublisher] = []
        self.hang = False
        self.ran = asyncio.Event()

    async def flush(
        self, db: Database, publisher: JobPublisher, settings: SchedulerSettings
    ) -> FlushReport:
        self.publishers.append(publisher)
        self.ran.set()
        if self.hang:
            self.hang = False
            await asyncio.Event().wait()
        return FlushReport()

    async def next_run(self, timeout: float = 20) -> JobPublisher:
        self.ran.clear()
        await asyncio.wait_for(self.ran.wait(), timeout)
        return self.publishers[-1]


@contextlib.asynccontextmanager
async def _loop(env: dict[str, Any], runs: Runs) -> AsyncIterator[None]:
    settings = SchedulerSettings(
        **{**env, "management_port": free_port()}, scheduler_interval_seconds=0.1
    )
    task = asyncio.create_task(scheduler.run_loop(settings))
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


@pytest.fixture
def runs(monkeypatch: pytest.MonkeyPatch) -> Runs:
    runs = Runs()
    monkeypatch.setattr(scheduler, "flush", runs.flush)
    return runs


async def test_runs_share_their_connections(service_env: dict[str, Any], runs: Runs) -> None:
    async with _loop(service_env, runs):
        first = await runs.next_run()
        for _ in range(3):
            assert await runs.next_run() is first
        assert not first.connection.is_closed


async def test_a_run_that_hangs_is_bounded_and_the_next_runs_on_new_connections(
    service_env: dict[str, Any], runs: Runs, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(scheduler, "LOOP_RUN_TIMEOUT_SECONDS", 1.0)
    runs.hang = True
    async with _loop(service_env, runs):
        stuck = await runs.next_run()
        after = await runs.next_run(timeout=10)  # the bound ended the stuck run
        assert after is not stuck
        assert stuck.connection.is_closed  # dropped: closed, not kept for later
        assert await runs.next_run() is after


async def test_a_connection_that_lost_its_broker_is_not_used_again(
    service_env: dict[str, Any], runs: Runs, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Lost between two runs (closed once a run is over, as a broker gone away leaves it),
    # it is replaced before the next run starts: no run waits on it, so the next one comes
    # well within the bound on a run, which is long here.
    monkeypatch.setattr(scheduler, "LOOP_RUN_TIMEOUT_SECONDS", 60.0)
    pushed = scheduler.push_metrics
    lose = asyncio.Event()

    async def push_then_lose(settings: SchedulerSettings, *, succeeded: bool) -> None:
        await pushed(settings, succeeded=succeeded)
        if lose.is_set():
            lose.clear()
            await runs.publishers[-1].connection.close()

    monkeypatch.setattr(scheduler, "push_metrics", push_then_lose)
    async with _loop(service_env, runs):
        first = await runs.next_run()
        lose.set()
        after = await runs.next_run(timeout=15)
        assert after is not first and first.connection.is_closed
        assert not after.connection.is_closed
