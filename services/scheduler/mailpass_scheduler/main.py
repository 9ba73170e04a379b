"""``mailpass-scheduler flush`` runs once and exits (the CronJob); ``loop`` repeats it (dev)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from mailpass_common import db as dbmod
from mailpass_common import telemetry
from mailpass_common.broker import JobPublisher, Topology
from mailpass_common.lifecycle import connect_rabbitmq, wait_for_mongodb
from mailpass_common.management import management_server
from mailpass_scheduler.flush import FlushReport, flush
from mailpass_scheduler.settings import SchedulerSettings

log = logging.getLogger("mailpass_scheduler")


async def run_once(settings: SchedulerSettings) -> FlushReport:
    client, db = dbmod.connect(settings)
    try:
        await wait_for_mongodb(db, settings.startup_timeout_seconds)
        connection = await connect_rabbitmq(settings.amqp_url, settings.startup_timeout_seconds)
        async with connection:
            return await flush(
                db, JobPublisher(connection, Topology(settings.amqp_prefix)), settings
            )
    finally:
        await client.close()


async def _alive() -> dict[str, str]:
    return {"loop": "running"}


async def run_loop(settings: SchedulerSettings) -> None:
    async with management_server(_alive, settings.management_host, settings.management_port):
        while True:
            try:
                await run_once(settings)
            except Exception:
                log.exception("flush failed")
            await asyncio.sleep(settings.scheduler_interval_seconds)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="mailpass-scheduler")
    parser.add_argument("command", choices=["flush", "loop"])
    args = parser.parse_args(argv)
    settings = SchedulerSettings()
    telemetry.setup("mailpass-scheduler", settings.log_level)
    if args.command == "loop":
        asyncio.run(run_loop(settings))
        return
    try:
        asyncio.run(run_once(settings))
    except Exception:
        log.exception("flush failed")
        sys.exit(1)
