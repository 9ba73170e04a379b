"""``mailpass-scheduler flush`` runs once and exits (the CronJob); ``loop`` repeats it (dev)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import time
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


async def run_once(settings: SchedulerSettings) -> FlushReport:
    """One run, one trace: its queries, and the jobs it publishes (whose deliveries
    continue the trace in the sender)."""
    started = time.perf_counter()
    client, db = dbmod.connect(settings)
    run_span = tracing.tracer("mailpass.scheduler").start_as_current_span("mailpass.flush")
    try:
        with run_span:
            await wait_for_mongodb(db, settings.startup_timeout_seconds)
            connection = await connect_rabbitmq(settings.amqp_url, settings.startup_timeout_seconds)
            async with connection:
                publisher = JobPublisher(connection, Topology(settings.amqp_prefix))
                report = await flush(db, publisher, settings)
                dead = await publisher.dead_letters_waiting()
    finally:
        await client.close()
        DURATION.set(time.perf_counter() - started)
    record_run(report, dead)
    return report


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


async def run_and_report(settings: SchedulerSettings) -> bool:
    """One run, its failure logged, its metrics pushed; whether it succeeded."""
    try:
        await run_once(settings)
        succeeded = True
    except Exception:
        log.exception("flush failed")
        succeeded = False
    await push_metrics(settings, succeeded=succeeded)
    return succeeded


async def run_loop(settings: SchedulerSettings) -> None:
    async with management_server(
        _alive, settings.management_host, settings.management_port, RUN_REGISTRY
    ):
        while True:
            await run_and_report(settings)
            await asyncio.sleep(settings.scheduler_interval_seconds)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="mailpass-scheduler")
    parser.add_argument("command", choices=["flush", "loop"])
    args = parser.parse_args(argv)
    settings = load_settings(SchedulerSettings, "mailpass-scheduler")
    telemetry.setup("mailpass-scheduler", settings.log_level)
    if args.command == "loop":
        asyncio.run(run_loop(settings))
        return

    if not asyncio.run(run_and_report(settings)):
        sys.exit(1)
