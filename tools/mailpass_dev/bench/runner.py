"""The whole bench: the sink, the stack, the tenant, then every phase ``--runs`` times.

Order (``--send-only``: the last step alone; ``--batch-only``: the two batch phases): the
smtp-source reference; batch on an empty database (the tenant's messages are
removed before each run); the Celery peer (unless ``--no-celery``); batch through
MailPass SMTP; SMTP submission; the preload of older messages, then batch again on top of
them; then for each client count, an unmeasured wrk warm-up and alternating /send and
direct aiosmtplib runs. A batch run that loses messages ends its phase (the rest of the
phase would measure the leftovers): its queue is purged and its messages removed.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import aio_pika

from mailpass_common.platform.broker import Topology
from mailpass_common.platform.db import connect
from mailpass_common.platform.jobs import MessageKind
from mailpass_dev.bench import mta as mta_path
from mailpass_dev.bench import phases
from mailpass_dev.bench.machine import describe
from mailpass_dev.bench.options import BenchOptions
from mailpass_dev.bench.packages import ensure_installed
from mailpass_dev.bench.probes import PeakMemory
from mailpass_dev.bench.sink import SmtpSink
from mailpass_dev.bench.submission import run_submission
from mailpass_dev.bench.tenant import Tenant, clear_messages, create_tenant, preload
from mailpass_dev.processes import free_port
from mailpass_dev.stack import StackConfig, running_stack

Log = Callable[[str], None]
DEFAULT_SMTP_MAX_CONNECTIONS = 8


@dataclass
class BenchResult:
    options: BenchOptions
    log_dir: Path
    runs: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    machine: dict[str, Any] = field(default_factory=dict)
    concurrency: dict[str, Any] = field(default_factory=dict)
    preload: dict[str, Any] = field(default_factory=dict)
    memory_mb: dict[str, float] = field(default_factory=dict)
    failure: str | None = None

    def add(self, phase: str, run: dict[str, Any]) -> None:
        self.runs.setdefault(phase, []).append(run)


def smtp_connections_per_sender(options: BenchOptions) -> int:
    """The sender's connection cap per provider: ``--env``, the environment, or its default."""
    value = options.env.get("SMTP_MAX_CONNECTIONS") or os.environ.get("SMTP_MAX_CONNECTIONS")
    if value:
        return int(value)
    from mailpass_sender.settings import SenderSettings

    declared = SenderSettings.model_fields.get("smtp_max_connections")
    return int(declared.default) if declared is not None else DEFAULT_SMTP_MAX_CONNECTIONS


def _cpu_summary(cpu: dict[str, float]) -> str:
    return ", ".join(f"{name} {seconds:.1f}" for name, seconds in cpu.items())


async def _drain(ctx: phases.BenchContext) -> None:
    """Drop what a failed batch run left behind, so it does not leak into later runs."""
    queue = Topology(ctx.stack.config.amqp_prefix).work_queue(MessageKind.BATCH)
    connection = await aio_pika.connect(ctx.stack.env["AMQP_URL"])
    async with connection:
        channel = await connection.channel()
        with contextlib.suppress(aio_pika.exceptions.AMQPError):
            await (await channel.declare_queue(queue, passive=True)).purge()
    await clear_messages(ctx.db, ctx.tenant)
    await asyncio.sleep(phases.SETTLE_SECONDS)
    ctx.sink.take_dump()


async def _batch_phase(
    ctx: phases.BenchContext,
    result: BenchResult,
    phase: str,
    *,
    clear: bool,
    log: Log,
    mta: Tenant | None = None,
) -> None:
    """Batch runs of the relay tenant, or (``mta``) of the MailPass SMTP tenant."""
    runs = ctx.options.runs
    for i in range(1, runs + 1):
        if clear:
            await clear_messages(ctx.db, mta or ctx.tenant)
        if mta is None:
            run = await phases.run_batch(ctx)
        else:
            run = await phases.run_batch(ctx, mta, mta_path.RECIPIENT, mta_path.SENDER)
        result.add(phase, run)
        log(
            f"{phase} {i}/{runs}: {run['received']}/{run['messages']} in {run['seconds']:.1f}s "
            f"= {run['rate']:.0f} msg/s, {run['round_trips_per_message'] or 0:.3f} round trips/msg"
            f", {run['documents_written_per_message'] or 0:.2f} documents and "
            f"{run['index_keys_per_message'] or 0:.2f} index keys written/msg"
            f", MTA sessions opened: {run['sessions_opened']}"
            f"; CPU s: {_cpu_summary(run['cpu_seconds_by_process'])}"
        )
        ctx.stack.check_alive()
        if run["lost"] > 0:
            log(f"{phase}: {run['lost']} messages not received; the phase stops here")
            await _drain(ctx)
            return


async def _celery_phase(
    ctx: phases.BenchContext, result: BenchResult, processes: int, log: Log
) -> None:
    """The Celery peer's runs, on the stack's broker and the same sink (``--no-celery``: none)."""
    # Imported here: Celery is needed only when the peer runs (a dev dependency).
    from mailpass_dev.bench.celery_peer import CeleryPeer

    options = ctx.options
    peer = CeleryPeer(
        ctx.stack.env["AMQP_URL"], ctx.sink, processes, ctx.work_dir, options.message_bytes
    )
    try:
        await asyncio.to_thread(peer.start)
        for i in range(1, options.runs + 1):
            run = await asyncio.to_thread(peer.run, options.messages, options.batch_timeout)
            result.add("celery", run)
            log(
                f"Celery peer {i}/{options.runs}: {run['received']}/{run['messages']} in "
                f"{run['seconds']:.1f}s = {run['rate']:.0f} msg/s ({processes} processes, "
                f"enqueued in {run['enqueue_seconds']:.1f}s)"
            )
    finally:
        await asyncio.to_thread(peer.stop)


async def _phases(ctx: phases.BenchContext, result: BenchResult, log: Log) -> None:
    options = ctx.options
    per_sender = smtp_connections_per_sender(options)
    sessions = options.senders * per_sender
    result.concurrency = {
        "smtp_source_sessions": sessions,
        "sender_processes": options.senders,
        "smtp_connections_per_sender": per_sender,
        "batch_requests_in_flight": options.batch_concurrency,
        "messages_per_batch_request": options.batch_size,
        "wrk_threads": 1,
    }
    if options.batch_only:
        await _batch_phase(ctx, result, "batch_empty", clear=True, log=log)
        await _batch_phase(ctx, result, "batch_mta", clear=True, log=log, mta=ctx.mta)
        return
    if options.send_only:
        await _send_phase(ctx, result, log)
        return
    for i in range(1, options.runs + 1):
        run = await asyncio.to_thread(phases.run_reference, ctx, sessions)
        result.add("reference", run)
        log(f"smtp-source {i}/{options.runs}: {run['rate']:.0f} msg/s over {sessions} sessions")
    await _batch_phase(ctx, result, "batch_empty", clear=True, log=log)
    if options.celery:
        await _celery_phase(ctx, result, sessions, log)
    if ctx.mta is not None:
        await _batch_phase(ctx, result, "batch_mta", clear=True, log=log, mta=ctx.mta)
    for i in range(1, options.runs + 1):
        await clear_messages(ctx.db, ctx.tenant)
        smtp = await run_submission(ctx)
        result.add("smtp_c10", smtp)
        log(
            f"SMTP submission x{smtp['sessions']} {i}/{options.runs}: {smtp['submit_rate']:.0f} "
            f"msg/s answered 250, {smtp['received']}/{smtp['messages']} delivered in "
            f"{smtp['seconds']:.1f}s = {smtp['rate']:.0f} msg/s, "
            f"{smtp['round_trips_per_message'] or 0:.3f} round trips/msg"
        )
        ctx.stack.check_alive()
    if options.preload > 0:
        await clear_messages(ctx.db, ctx.tenant)
        log(f"preloading {options.preload:,} older messages")
        result.preload = await preload(
            ctx.db,
            ctx.tenant,
            options.preload,
            domain=ctx.stack.settings().message_id_domain,
            body=ctx.body,
        )
        log(f"preloaded in {result.preload['seconds']:.1f}s")
        await _batch_phase(ctx, result, "batch_preloaded", clear=False, log=log)
    await _send_phase(ctx, result, log)


async def _send_phase(ctx: phases.BenchContext, result: BenchResult, log: Log) -> None:
    """For each client count: a wrk warm-up, then alternating /send and direct runs."""
    options = ctx.options
    for clients in options.clients:
        await phases.warm_up_send(ctx, clients)
        for i in range(1, options.runs + 1):
            send = await phases.run_send(ctx, clients)
            result.add(f"send_c{clients}", send)
            ctx.stack.check_alive()
            direct = await phases.run_direct_send(ctx, clients)
            result.add(f"direct_c{clients}", direct)
            log(
                f"/send x{clients} {i}/{options.runs}: {send['rps']:.0f} req/s, "
                f"p50 {send['p50_ms']:.1f} ms, p99 {send['p99_ms']:.1f} ms, "
                f"{send['not_200']} not 200 | direct: {direct['rate']:.0f} msg/s, "
                f"p50 {direct['p50_ms']:.2f} ms"
            )


async def run_bench(options: BenchOptions, log: Log) -> BenchResult:
    """Run every phase; a failure is recorded in the result (what ran is kept)."""
    installed = await asyncio.to_thread(ensure_installed, log)
    tag = secrets.token_hex(4)
    log_dir = options.out / "logs" / f"{datetime.now():%Y%m%d-%H%M%S}-{tag}"
    log_dir.mkdir(parents=True, exist_ok=True)
    result = BenchResult(options, log_dir)
    sink = SmtpSink(free_port(), log_dir)
    await asyncio.to_thread(sink.start)
    mta = mta_path.MtaPath(log_dir)
    mta_env = await asyncio.to_thread(mta.start, sink.port)
    config = StackConfig(
        log_dir=log_dir,
        senders=options.senders,
        scheduler_interval_seconds=options.scheduler_interval,
        # The bench drives one key as fast as the stack goes: the per-key request limit
        # would measure itself (`--env API_RATE_LIMIT=...` measures it on purpose).
        extra_env={"API_RATE_LIMIT": "0", **mta_env, **options.env},
        amqp_prefix=f"mailpass-bench-{tag}",
        mongodb_database=f"bench_{tag}",
        smtp_submission=True,
    )
    try:
        log(f"starting the stack (logs: {log_dir})")
        async with running_stack(config) as stack:
            memory = PeakMemory(stack)
            memory.start()
            client, db = connect(stack.settings())
            try:
                tenant = await create_tenant(
                    db, stack.settings(), sink_port=sink.port, limits=options.limits
                )
                result.machine = await describe(
                    stack.env["AMQP_URL"], db, bool(os.environ.get("MONGODB_URL"))
                )
                result.machine["installed_by_bench"] = installed
                ctx = phases.BenchContext(options, stack, sink, db, tenant, log_dir)
                ctx.mta = await mta.create_tenant(db, stack.settings())
                await _phases(ctx, result, log)
            except Exception as exc:
                result.failure = f"{type(exc).__name__}: {exc}"
            finally:
                result.memory_mb = memory.stop()
                if os.environ.get("MONGODB_URL"):
                    await client.drop_database(db.name)
                await client.close()
    except Exception as exc:
        result.failure = result.failure or f"{type(exc).__name__}: {exc}"
    finally:
        await asyncio.to_thread(sink.stop)
        await asyncio.to_thread(mta.stop)
    if result.failure:
        result.failure += f" (logs: {log_dir})"
    return result
