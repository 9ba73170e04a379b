"""One run of each measured phase; each returns a flat dict of its figures.

Batch: N messages posted to ``/send-batch`` (100 a request, a few requests at a time),
timed from the first request until smtp-sink has accepted N more messages. /send: wrk
for the run's duration at C connections. Direct: aiosmtplib at C connections. Every run
scrapes each service's MongoDB counters (commands, documents and index keys written)
before and after, and divides their increase by the messages the sink accepted in
between; a /send run also divides each process's CPU time by the requests wrk completed.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from mailpass_common.platform.db import Database
from mailpass_dev.bench.direct import run_direct
from mailpass_dev.bench.mta import connections_opened
from mailpass_dev.bench.options import BenchOptions
from mailpass_dev.bench.probes import (
    cpu_increase,
    cpu_ms_per_request,
    cpu_seconds,
    db_figures,
    scrape_db_counters,
)
from mailpass_dev.bench.sink import SmtpSink, run_smtp_source, subjects_in_dump
from mailpass_dev.bench.tenant import RECIPIENT, Tenant, message_body
from mailpass_dev.bench.wrk import run_wrk
from mailpass_dev.stack import Stack

# After a phase, time for in-flight outcomes to be recorded before the counters are read.
SETTLE_SECONDS = 2.0
SEND_PATH = "/api/v1/mail/send"
BATCH_PATH = "/api/v1/mail/send-batch"


class BenchError(RuntimeError):
    """The stack answered something a run cannot go on with."""


@dataclass
class BenchContext:
    options: BenchOptions
    stack: Stack
    sink: SmtpSink
    db: Database
    tenant: Tenant
    work_dir: Path
    # The MailPass SMTP tenant (the MTA path), once made.
    mta: Tenant | None = None

    @property
    def body(self) -> str:
        return message_body(self.options.message_bytes)


def run_reference(ctx: BenchContext, sessions: int) -> dict[str, Any]:
    run = run_smtp_source(
        ctx.sink,
        messages=ctx.options.messages,
        sessions=sessions,
        message_bytes=ctx.options.message_bytes,
    )
    return {
        "messages": run.messages,
        "sessions": run.sessions,
        "seconds": run.seconds,
        "rate": run.rate,
    }


def _batch_bodies(
    ctx: BenchContext, prefix: str, recipient: str, sender: str | None
) -> list[bytes]:
    n, size, body = ctx.options.messages, ctx.options.batch_size, ctx.body
    extra = {"from_email": sender} if sender else {}
    return [
        json.dumps(
            {
                "messages": [
                    {"to": recipient, "subject": f"{prefix}{i:07d}", "text": body, **extra}
                    for i in range(start, min(start + size, n))
                ]
            }
        ).encode()
        for start in range(0, n, size)
    ]


async def _post_batches(ctx: BenchContext, bodies: list[bytes], tenant: Tenant) -> None:
    gate = asyncio.Semaphore(ctx.options.batch_concurrency)
    headers = {"Authorization": f"Bearer {tenant.api_key}", "Content-Type": "application/json"}

    async def post(client: httpx.AsyncClient, body: bytes) -> None:
        async with gate:
            response = await client.post(BATCH_PATH, content=body, headers=headers)
        data = response.json().get("data") or {}
        if response.status_code != 200 or data.get("failed"):
            raise BenchError(f"send-batch answered {response.status_code}: {response.text[:500]}")

    # Spread over the gateways, one request in turn to each (a Service's round robin).
    clients = [httpx.AsyncClient(base_url=url, timeout=120) for url in ctx.stack.gateway_urls]
    try:
        await asyncio.gather(
            *(post(clients[i % len(clients)], body) for i, body in enumerate(bodies))
        )
    finally:
        await asyncio.gather(*(client.aclose() for client in clients))


async def run_batch(
    ctx: BenchContext,
    tenant: Tenant | None = None,
    recipient: str = RECIPIENT,
    sender: str | None = None,
) -> dict[str, Any]:
    """A batch run; by default the relay tenant's, else ``tenant``'s (the MTA path's)."""
    n = ctx.options.messages
    prefix = f"mpbench-{secrets.token_hex(3)}-"
    bodies = _batch_bodies(ctx, prefix, recipient, sender)
    ctx.sink.take_dump()
    before = await scrape_db_counters(ctx.stack)
    cpu_before = cpu_seconds(ctx.stack)
    base, opened_before = ctx.sink.messages, await connections_opened(ctx.stack)
    started = time.perf_counter()
    await _post_batches(ctx, bodies, tenant or ctx.tenant)
    posted = time.perf_counter() - started
    await ctx.sink.reached(base + n, ctx.options.batch_timeout - posted)
    elapsed = time.perf_counter() - started
    received = ctx.sink.messages - base
    cpu = cpu_increase(cpu_before, cpu_seconds(ctx.stack))
    await asyncio.sleep(SETTLE_SECONDS)
    after = await scrape_db_counters(ctx.stack)
    subjects = subjects_in_dump(ctx.sink.take_dump(), prefix)
    unique = len(subjects)
    opened = await connections_opened(ctx.stack) - opened_before
    return {
        "sessions_opened": opened,
        "sessions_per_1000": 1000 * opened / received if received else None,
        "messages": n,
        "received": received,
        "unique": unique,
        "duplicates": sum(count - 1 for count in subjects.values()),
        "lost": n - unique,
        "timed_out": received < n,
        "seconds": elapsed,
        "post_seconds": posted,
        "rate": min(received, n) / elapsed,
        "cpu_seconds_by_process": cpu,
        **db_figures(before, after, unique),
    }


def _send_body_file(ctx: BenchContext) -> Path:
    path = ctx.work_dir / "send-body.json"
    body = {"to": RECIPIENT, "subject": "mailpass bench /send", "text": ctx.body}
    path.write_text(json.dumps(body))
    return path


async def warm_up_send(ctx: BenchContext, clients: int) -> None:
    await asyncio.to_thread(
        run_wrk,
        url=ctx.stack.gateway_url,
        path=SEND_PATH,
        api_key=ctx.tenant.api_key,
        body_file=_send_body_file(ctx),
        script_file=ctx.work_dir / "send.lua",
        connections=clients,
        seconds=ctx.options.warmup,
    )
    await asyncio.sleep(SETTLE_SECONDS)
    ctx.sink.take_dump()


async def run_send(ctx: BenchContext, clients: int) -> dict[str, Any]:
    before = await scrape_db_counters(ctx.stack)
    cpu_before = cpu_seconds(ctx.stack)
    base = ctx.sink.messages
    result = await asyncio.to_thread(
        run_wrk,
        url=ctx.stack.gateway_url,
        path=SEND_PATH,
        api_key=ctx.tenant.api_key,
        body_file=_send_body_file(ctx),
        script_file=ctx.work_dir / "send.lua",
        connections=clients,
        seconds=ctx.options.duration,
    )
    cpu = cpu_increase(cpu_before, cpu_seconds(ctx.stack))
    await asyncio.sleep(SETTLE_SECONDS)
    after = await scrape_db_counters(ctx.stack)
    delivered = ctx.sink.messages - base
    ctx.sink.take_dump()
    return {
        "clients": clients,
        "requests": result.requests,
        "seconds": result.seconds,
        "rps": result.rps,
        "p50_ms": result.p50_ms,
        "p99_ms": result.p99_ms,
        "max_ms": result.max_ms,
        "ok_200": result.ok,
        "not_200": result.not_ok,
        "statuses": {str(code): n for code, n in sorted(result.statuses.items())},
        "errors": result.errors,
        "delivered": delivered,
        "wrk_cpu_percent": result.cpu_percent,
        "cpu_seconds_by_process": cpu,
        # Flat, so each has its median (report.medians): CPU ms per request completed.
        **{
            f"cpu_ms_per_request_{name}": ms
            for name, ms in cpu_ms_per_request(cpu, result.requests).items()
        },
        **db_figures(before, after, delivered),
    }


async def run_direct_send(ctx: BenchContext, clients: int) -> dict[str, Any]:
    run = await run_direct(
        ctx.sink.port,
        connections=clients,
        seconds=ctx.options.duration,
        size=ctx.options.message_bytes,
    )
    ctx.sink.take_dump()
    return {
        "clients": clients,
        "messages": run.messages,
        "seconds": run.seconds,
        "rate": run.rate,
        "p50_ms": run.p50_ms,
        "p99_ms": run.p99_ms,
    }
