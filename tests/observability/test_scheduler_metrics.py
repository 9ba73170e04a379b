"""The scheduler's run metrics: served by ``mailpass-scheduler loop`` (the dev stack) and
pushed by ``mailpass-scheduler flush`` (the CronJob) to a Pushgateway.

The Pushgateway here is a stand-in speaking its HTTP API (``PUT``/``POST
/metrics/job/<job>`` with the text exposition), which is all the scheduler uses of it.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request, Response

from mailpass_common.platform.db import Database
from mailpass_common.platform.jobs import MessageKind
from mailpass_scheduler.main import run_loop
from mailpass_scheduler.settings import SchedulerSettings
from tests.support.messages import insert_messages
from tests.support.metrics import Scrape, scrape
from tests.support.processes import BIN, process_env
from tests.support.services import free_port
from tests.support.stack import serve_app
from tests.support.tenants import add_provider, make_account, smtp_config

HOURLY_LIMIT = 2


async def _held_back_batch(db: Database, env: dict[str, Any], count: int) -> None:
    """``count`` due batch messages of a provider that may send two an hour."""
    account_id = await make_account(db)
    provider = await add_provider(
        db,
        env,
        account_id,
        name="limited",
        config=smtp_config(25),
        hourly_limit=HOURLY_LIMIT,
        default=True,
    )
    await insert_messages(db, account_id, provider["_id"], count, kind=MessageKind.BATCH)


@contextlib.asynccontextmanager
async def _loop(env: dict[str, Any], port: int) -> AsyncIterator[str]:
    settings = SchedulerSettings(
        **{**env, "management_port": port}, scheduler_interval_seconds=3600
    )
    task = asyncio.create_task(run_loop(settings))
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _next_run(management: str, after: float) -> Scrape:
    """The loop's metrics once a run that began after ``after`` has succeeded."""
    deadline = time.monotonic() + 20
    while True:
        with contextlib.suppress(Exception):  # the port opens a moment after the task starts
            found = await scrape(management)
            if found.value("mailpass_scheduler_last_success_timestamp_seconds") >= after:
                return found
        assert time.monotonic() < deadline, "no scheduler run succeeded"
        await asyncio.sleep(0.05)


async def test_loop_serves_what_each_run_did_and_the_queue_depth_it_saw(
    db: Database, service_env: dict[str, Any]
) -> None:
    await _held_back_batch(db, service_env, 5)
    port = free_port()
    began = time.time()
    async with _loop(service_env, port) as management:
        first = await _next_run(management, began)
    # A second run (the next CronJob) finds the first run's job still waiting: no sender.
    began_again = time.time()
    async with _loop(service_env, port) as management:
        second = await _next_run(management, began_again)

    assert first.value("mailpass_scheduler_run_published_messages") == HOURLY_LIMIT
    assert first.value("mailpass_scheduler_run_held_messages") == 3
    assert first.value("mailpass_scheduler_run_recovered_messages") == 0
    assert first.value("mailpass_batch_backlog_messages") == 3
    assert first.value("mailpass_queue_depth", queue="batch") == 0
    assert first.value("mailpass_queue_depth", queue="immediate") == 0
    assert first.value("mailpass_queue_depth", queue="dead") == 0
    assert 0 < first.value("mailpass_scheduler_run_duration_seconds") < 20
    assert began <= first.value("mailpass_scheduler_last_success_timestamp_seconds") <= time.time()

    assert second.value("mailpass_queue_depth", queue="batch") == 1  # one job, two messages
    assert second.value("mailpass_scheduler_run_published_messages") == 0
    assert second.value("mailpass_scheduler_run_held_messages") == 3
    assert second.value("mailpass_batch_backlog_messages") == 3
    assert second.value("mailpass_batch_backlog_oldest_age_seconds") >= first.value(
        "mailpass_batch_backlog_oldest_age_seconds"
    )
    assert second.value("mailpass_batch_backlog_oldest_age_seconds") > 0


@dataclass(frozen=True)
class Push:
    method: str
    job: str
    metrics: Scrape


@contextlib.asynccontextmanager
async def _pushgateway() -> AsyncIterator[tuple[str, list[Push]]]:
    pushes: list[Push] = []
    app = FastAPI()

    @app.api_route("/metrics/job/{job}", methods=["PUT", "POST"])
    async def push(job: str, request: Request) -> Response:
        body = (await request.body()).decode()
        pushes.append(Push(request.method, job, Scrape.parse(body)))
        return Response(status_code=200)

    async with serve_app(app) as url:
        yield url, pushes


async def _flush_process(env: dict[str, Any], **extra: Any) -> int:
    process = await asyncio.create_subprocess_exec(
        str(BIN / "mailpass-scheduler"), "flush", env=process_env(env, **extra)
    )
    return await process.wait()


async def test_a_cronjob_run_pushes_its_metrics_and_a_failed_one_keeps_the_last_success(
    db: Database, service_env: dict[str, Any]
) -> None:
    await _held_back_batch(db, service_env, 3)
    began = time.time()
    async with _pushgateway() as (url, pushes):
        succeeded = await _flush_process(service_env, pushgateway_url=url)
        # RabbitMQ unreachable: the run fails after its start-up timeout.
        failed = await _flush_process(
            service_env,
            pushgateway_url=url,
            amqp_url=f"amqp://guest:guest@127.0.0.1:{free_port()}/",
            startup_timeout_seconds=1,
        )

    assert (succeeded, failed) == (0, 1)
    assert [(p.method, p.job) for p in pushes] == [
        ("PUT", "mailpass-scheduler"),  # a success replaces the job's group
        ("POST", "mailpass-scheduler"),  # a failure adds to it, leaving the last success
    ]
    run = pushes[0].metrics
    assert run.value("mailpass_scheduler_run_published_messages") == HOURLY_LIMIT
    assert run.value("mailpass_scheduler_run_held_messages") == 1
    assert run.value("mailpass_batch_backlog_messages") == 1
    assert run.value("mailpass_queue_depth", queue="batch") == 0
    assert began <= run.value("mailpass_scheduler_last_success_timestamp_seconds") <= time.time()
    failure = pushes[1].metrics
    assert not failure.has("mailpass_scheduler_last_success_timestamp_seconds")
    assert failure.value("mailpass_scheduler_run_duration_seconds") > 0
