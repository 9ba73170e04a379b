"""``make bench BENCH_ARGS="--senders 1,2,4 [--gateways N]"``: the batch phase with several
sender processes (and gateways) sharing the broker and the database, as replicas would.

For each sender count a stack of its own is started (N senders, ``--gateways`` gateways
taking the batch requests in turn), then ``--runs`` batch runs of ``--messages`` messages
into smtp-sink, each counted as the whole bench counts it (lost, duplicates, round trips,
CPU by process). Each sender's own counter of delivered messages
(``mailpass_sender_deliveries_total{outcome="sent"}``), read before and after a run, gives
the spread: how the broker shared the jobs among the replicas.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from mailpass_common.platform.db import connect
from mailpass_dev.bench import phases
from mailpass_dev.bench.options import BenchOptions
from mailpass_dev.bench.packages import ensure_installed
from mailpass_dev.bench.sink import SmtpSink
from mailpass_dev.bench.stats import median
from mailpass_dev.bench.tenant import clear_messages, create_tenant
from mailpass_dev.processes import free_port
from mailpass_dev.stack import Stack, StackConfig, running_stack

Log = Callable[[str], None]


def sent_count(exposition: str) -> int:
    return sum(
        int(sample.value)
        for family in text_string_to_metric_families(exposition)
        for sample in family.samples
        if sample.name == "mailpass_sender_deliveries_total"
        and sample.labels.get("outcome") == "sent"
    )


async def sent_by_sender(stack: Stack) -> dict[str, int]:
    senders = [s for s in stack.managed() if s.name.startswith("sender-")]
    async with httpx.AsyncClient(timeout=10) as client:
        pages = await asyncio.gather(
            *(client.get(f"http://127.0.0.1:{s.management_port}/metrics") for s in senders)
        )
    return {s.name: sent_count(page.text) for s, page in zip(senders, pages, strict=True)}


def summarize(senders: int, gateways: int, runs: list[dict[str, Any]]) -> dict[str, Any]:
    """One row: medians over the runs, and the spread of the median run."""
    rate = median([r["rate"] for r in runs])
    spread = sorted(runs, key=lambda r: r["rate"])[len(runs) // 2]["sent_by_sender"]
    counts = list(spread.values())
    cpu: dict[str, float] = {}
    for run in runs:
        for name, seconds in run["cpu_seconds_by_process"].items():
            group = name.split("-")[0] if name.startswith(("sender-", "gateway")) else name
            cpu[group] = cpu.get(group, 0.0) + seconds / len(runs)
    return {
        "senders": senders,
        "gateways": gateways,
        "rate": rate,
        "rate_per_sender": rate / senders if rate is not None else None,
        "sent_by_sender": spread,
        "spread_max_over_min": max(counts) / min(counts) if counts and min(counts) else None,
        "lost": sum(r["lost"] for r in runs),
        "duplicates": sum(r["duplicates"] for r in runs),
        "round_trips_per_message": median(
            [r["round_trips_per_message"] for r in runs if r["round_trips_per_message"]]
        ),
        "cpu_seconds_per_run": {k: round(v, 1) for k, v in sorted(cpu.items())},
    }


def render(rows: list[dict[str, Any]], messages: int, runs: int) -> str:
    header = (
        "senders",
        "gateways",
        "msg/s",
        "msg/s per sender",
        "messages per sender",
        "max/min",
        "lost",
        "dup",
        "CPU s per run (by process)",
    )
    lines = [header]
    for r in rows:
        cpu = ", ".join(f"{k} {v:.1f}" for k, v in r["cpu_seconds_per_run"].items())
        spread = r["spread_max_over_min"]
        lines.append(
            (
                str(r["senders"]),
                str(r["gateways"]),
                f"{r['rate']:,.0f}" if r["rate"] is not None else "-",
                f"{r['rate_per_sender']:,.0f}" if r["rate_per_sender"] is not None else "-",
                " / ".join(str(n) for n in r["sent_by_sender"].values()),
                f"{spread:.2f}" if spread is not None else "-",
                str(r["lost"]),
                str(r["duplicates"]),
                cpu,
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    out = [f"scale-out: batch of {messages:,} messages, median of {runs} run(s)"]
    for n, line in enumerate(lines):
        out.append(" | ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)))
        if n == 0:
            out.append("-+-".join("-" * w for w in widths))
    return "\n".join(out)


async def _one_count(
    options: BenchOptions, senders: int, sink: SmtpSink, log: Log, log_dir: Path
) -> list[dict[str, Any]]:
    tag = secrets.token_hex(4)
    config = StackConfig(
        log_dir=log_dir / f"senders-{senders}",
        senders=senders,
        gateways=options.gateways,
        scheduler_interval_seconds=options.scheduler_interval,
        extra_env={"API_RATE_LIMIT": "0", **options.env},
        amqp_prefix=f"mailpass-bench-{tag}",
        mongodb_database=f"bench_{tag}",
    )
    runs = []
    async with running_stack(config) as stack:
        client, db = connect(stack.settings())
        try:
            tenant = await create_tenant(
                db, stack.settings(), sink_port=sink.port, limits=options.limits
            )
            ctx = phases.BenchContext(options, stack, sink, db, tenant, config.log_dir)
            for i in range(1, options.runs + 1):
                await clear_messages(db, tenant)
                before = await sent_by_sender(stack)
                run = await phases.run_batch(ctx)
                after = await sent_by_sender(stack)
                run["sent_by_sender"] = {k: after[k] - before.get(k, 0) for k in sorted(after)}
                runs.append(run)
                log(
                    f"{senders} sender(s), {options.gateways} gateway(s), run {i}/{options.runs}: "
                    f"{run['received']}/{run['messages']} in {run['seconds']:.1f}s = "
                    f"{run['rate']:.0f} msg/s; by sender {run['sent_by_sender']}"
                )
                stack.check_alive()
        finally:
            if os.environ.get("MONGODB_URL"):
                await client.drop_database(db.name)
            await client.close()
    return runs


async def run_scale_out(options: BenchOptions, log: Log) -> dict[str, Any]:
    """Every sender count in turn; the document ``bench-scaleout.json`` holds."""
    log_dir = options.out / "logs" / f"{datetime.now():%Y%m%d-%H%M%S}-scaleout"
    log_dir.mkdir(parents=True, exist_ok=True)
    await asyncio.to_thread(ensure_installed, log)
    sink = SmtpSink(free_port(), log_dir)
    await asyncio.to_thread(sink.start)
    rows: list[dict[str, Any]] = []
    runs: dict[int, list[dict[str, Any]]] = {}
    failure = None
    try:
        for senders in options.scale_out:
            runs[senders] = await _one_count(options, senders, sink, log, log_dir)
            rows.append(summarize(senders, options.gateways, runs[senders]))
    except Exception as exc:
        failure = f"{type(exc).__name__}: {exc} (logs: {log_dir})"
    finally:
        await asyncio.to_thread(sink.stop)
    return {"rows": rows, "runs": runs, "failure": failure, "log_dir": str(log_dir)}
