"""``mailpass-scheduler flush`` runs once and exits (the CronJob); ``loop`` repeats it (dev)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime

from prometheus_client import push_to_gateway, pushadd_to_gateway

from mailpass_common.platform import db as dbmod
from mailpass_common.platform import telemetry, tracing
from mailpass_common.platform.broker import JobPublisher, Topology
from mailpass_common.platform.lifecycle import connect_rabbitmq, wait_for_mongodb
from mailpass_common.platform.management import management_server
from mailpass_common.platform.settings import load_settings
from mailpass_common.platform.telemetry import log_fields
from mailpass_scheduler.flush import FlushReport, flush
from mailpass_scheduler.metrics import (
    BACKLOG,
    BACKLOG_AGE,
    BODIES_PURGED,
    DURATION,
    FAILED_RUN_REGISTRY,
    HELD,
    LAST_SUCCESS,
    PUBLISHED,
    QUEUE_DEPTH,
    RECOVERED,
    RUN_REGISTRY,
)
from mailpass_scheduler.settings import SchedulerSettings

log = logging.getLogger("mailpass_scheduler")
PUSH_JOB = "mailpass-scheduler"
# The dev loop's bound on one run over kept connections (a run takes well under a second
# there), and on closing connections it drops.
LOOP_RUN_TIMEOUT_SECONDS = 60.0
CLOSE_TIMEOUT_SECONDS = 5.0


@dataclass(frozen=True)
class Connections:
    """What a run talks to: the loop keeps one set from run to run."""

    db: dbmod.Database
    publisher: JobPublisher


async def run_once(settings: SchedulerSettings, kept: Connections | None = None) -> FlushReport:
    """One run, one trace: its queries, and the jobs it publishes (whose deliveries
    continue the trace in the sender). On ``kept`` connections (the loop's), or on its
    own, opened and closed for the run (``flush``, the CronJob)."""
    started = time.perf_counter()
    run_span = tracing.tracer("mailpass.scheduler").start_as_current_span("mailpass.flush")
    try:
        with run_span:
            if kept is not None:
                report, dead = await _flush(kept, settings)
            else:
                async with connected(settings) as own:
                    report, dead = await _flush(own, settings)
    finally:
        DURATION.set(time.perf_counter() - started)
    record_run(report, dead)
    return report


async def _flush(on: Connections, settings: SchedulerSettings) -> tuple[FlushReport, int]:
    report = await flush(on.db, on.publisher, settings)
    return report, await on.publisher.dead_letters_waiting()


@contextlib.asynccontextmanager
async def connected(settings: SchedulerSettings) -> AsyncIterator[Connections]:
    """MongoDB and RabbitMQ, once they answer (within the start-up timeout); closed after."""
    client, db = dbmod.connect(settings)
    try:
        await wait_for_mongodb(db, settings.startup_timeout_seconds)
        connection = await connect_rabbitmq(settings.amqp_url, settings.startup_timeout_seconds)
        async with connection:
            yield Connections(db, JobPublisher(connection, Topology(settings.amqp_prefix)))
    finally:
        await client.close()


class KeptConnections:
    """The loop's connections, kept from run to run while RabbitMQ's stays up.

    A robust connection that lost its broker reconnects by itself, and a publish or a
    declaration made meanwhile waits for it, as long as that takes: a run on it could
    wait for ever and no recovery would run. So a run on kept connections is bounded
    (:data:`LOOP_RUN_TIMEOUT_SECONDS`); connections whose broker link is down before a run
    are not used; and after a run that failed or timed out they are dropped (closed
    within a few seconds, or abandoned) and the next run opens new ones.
    """

    def __init__(self, settings: SchedulerSettings) -> None:
        self._settings = settings
        self._stack: contextlib.AsyncExitStack | None = None
        self._connections: Connections | None = None

    async def get(self) -> Connections:
        if self._connections is not None and not self._broker_up():
            log.warning("RabbitMQ connection lost; the next run opens a new one")
            await self.drop()
        if self._connections is None:
            stack = contextlib.AsyncExitStack()
            try:
                self._connections = await stack.enter_async_context(connected(self._settings))
            except BaseException:
                await stack.aclose()
                raise
            self._stack = stack
        return self._connections

    def _broker_up(self) -> bool:
        assert self._connections is not None
        connection = self._connections.publisher.connection
        return not connection.is_closed and connection.connected.is_set()

    async def drop(self) -> None:
        stack, self._stack, self._connections = self._stack, None, None
        if stack is not None:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(CLOSE_TIMEOUT_SECONDS):
                    await stack.aclose()


def record_run(report: FlushReport, dead_letters: int) -> None:
    PUBLISHED.set(report.batch_published)
    HELD.set(sum(report.held_by_limits.values()))
    RECOVERED.set(report.recovered)
    BODIES_PURGED.set(report.bodies_purged)
    BACKLOG.set(report.backlog)
    oldest = report.oldest_waiting
    BACKLOG_AGE.set((datetime.now(UTC) - oldest).total_seconds() if oldest else 0)
    for queue, depth in {**report.queue_depth, "dead": dead_letters}.items():
        QUEUE_DEPTH.labels(queue).set(depth)
    LAST_SUCCESS.set_to_current_time()


async def push_metrics(settings: SchedulerSettings, *, succeeded: bool) -> None:
    """Push the run's metrics to the Pushgateway, when there is one; never fail the run.

    A success replaces the job's group (PUT); a failure adds its duration alone (POST),
    keeping the last success's timestamp there (see :mod:`mailpass_scheduler.metrics`).
    """
    if not settings.pushgateway_url:
        return
    push = push_to_gateway if succeeded else pushadd_to_gateway
    registry = RUN_REGISTRY if succeeded else FAILED_RUN_REGISTRY
    try:
        await asyncio.to_thread(push, settings.pushgateway_url, job=PUSH_JOB, registry=registry)
    except Exception as exc:
        log.error("metrics push failed", extra=log_fields(error=str(exc)))


async def _alive() -> dict[str, str]:
    return {"loop": "running"}


async def run_loop(settings: SchedulerSettings) -> None:
    """A run every ``scheduler_interval_seconds`` on connections kept from run to run
    (:class:`KeptConnections`: opening a MongoDB client and a RabbitMQ connection, and
    declaring the topology, twice a second cost more than the runs themselves)."""
    kept = KeptConnections(settings)
    async with management_server(
        _alive, settings.management_host, settings.management_port, RUN_REGISTRY
    ):
        try:
            while True:
                try:
                    async with asyncio.timeout(LOOP_RUN_TIMEOUT_SECONDS):
                        await run_once(settings, await kept.get())
                    succeeded = True
                except Exception:  # a run that timed out included
                    log.exception("flush failed")
                    succeeded = False
                    await kept.drop()  # what the failed run used is not used again
                await push_metrics(settings, succeeded=succeeded)
                await asyncio.sleep(settings.scheduler_interval_seconds)
        finally:
            await kept.drop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="mailpass-scheduler")
    parser.add_argument("command", choices=["flush", "loop"])
    args = parser.parse_args(argv)
    settings = load_settings(SchedulerSettings, "mailpass-scheduler")
    telemetry.setup("mailpass-scheduler", settings.log_level)
    if args.command == "loop":
        asyncio.run(run_loop(settings))
        return

    async def once() -> bool:
        try:
            await run_once(settings)
            succeeded = True
        except Exception:
            log.exception("flush failed")
            succeeded = False
        await push_metrics(settings, succeeded=succeeded)
        return succeeded

    if not asyncio.run(once()):
        sys.exit(1)
