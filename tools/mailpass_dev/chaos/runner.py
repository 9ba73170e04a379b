"""One chaos run: a broker node of its own, the sink, the stack, the load and the faults,
then the drain and the tally. Everything started here is stopped in ``finally``."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from mailpass_common.platform.db import connect
from mailpass_dev.bench.tenant import create_tenant
from mailpass_dev.chaos.accounting import Tally, drain, tally
from mailpass_dev.chaos.broker import OwnBroker, ensure_installed
from mailpass_dev.chaos.cluster import ClusterBroker, replicated
from mailpass_dev.chaos.faults import Fault, Faults
from mailpass_dev.chaos.load import LoadClient, LoadResult
from mailpass_dev.chaos.options import ChaosOptions
from mailpass_dev.chaos.sink import SinkProcess
from mailpass_dev.processes import free_port
from mailpass_dev.stack import Stack, StackConfig

Log = Callable[[str], None]


@dataclass
class ChaosResult:
    options: ChaosOptions
    log_dir: Path
    load: LoadResult = field(default_factory=LoadResult)
    faults: list[Fault] = field(default_factory=list)
    tally: Tally | None = None
    sink_replies: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    still_open: int = 0
    failure: str | None = None

    def checks(self) -> dict[str, bool]:
        t = self.tally
        if t is None:
            return {"ran": False}
        refused = sum(n for r, n in t.failed_by_reason.items() if r.startswith("550"))
        accounted = t.delivered + t.failed - len(t.delivered_and_failed) + len(t.lost)
        return {
            "nothing lost": not t.lost,
            "no idempotent retry made a second message": not t.idempotent_duplicates,
            "every duplicate explained by a kill, within what killed senders held": (
                t.unexplained_duplicates == 0 and len(t.duplicates) <= t.duplicate_bound
            ),
            "every message final after the drain": not t.not_final and self.still_open == 0,
            "every refused recipient failed with its 550, and only those": (
                refused == t.expected_550
            ),
            "delivered + failed + lost = accepted": accounted == t.accepted,
            "every request answered": not self.load.given_up,
        } | (self._cluster_checks() if self.options.cluster else {})

    def _cluster_checks(self) -> dict[str, bool]:
        kills = [f for f in self.faults if f.kind == "broker_node_kill" and f.error is None]
        detail = kills[0].detail if kills else {}
        return {
            "a node was killed under load and came back": bool(kills),
            "every queue replicated on the three nodes, all online after the kill": (
                replicated(detail)
            ),
            "every client of the killed node reconnected to a survivor": (
                detail.get("connections_on_it", 0) > 0
                and detail.get("reconnected_seconds") is not None
            ),
        }

    def as_json(self) -> dict[str, Any]:
        return {
            "options": self.options.as_json(),
            "settings": self.options.stack_env(0) | {"PROVIDER_ALLOWED_SMTP_PORTS": "<sink>"},
            "failure": self.failure,
            "seconds": self.seconds,
            "load": self.load.as_json(),
            "faults": [f.as_json() for f in self.faults],
            "sink_replies": self.sink_replies,
            "figures": self.tally.as_json() if self.tally else None,
            "checks": self.checks(),
            "log_dir": str(self.log_dir),
        }


async def run_chaos(options: ChaosOptions, log: Log) -> ChaosResult:
    began = time.monotonic()
    tag = secrets.token_hex(4)
    log_dir = options.report.parent / "logs" / f"{datetime.now():%Y%m%d-%H%M%S}-{tag}"
    log_dir.mkdir(parents=True, exist_ok=True)
    result = ChaosResult(options, log_dir)
    await asyncio.to_thread(ensure_installed)
    broker = ClusterBroker() if options.cluster else OwnBroker()
    sink = SinkProcess(
        free_port(),
        log_dir,
        seed=options.seed,
        temp_fail=options.temp_fail,
        perm_fail=options.perm_fail,
    )
    stack: Stack | None = None
    try:
        what = "cluster" if options.cluster else "node"
        log(f"starting a RabbitMQ {what} of its own ({broker.node}), the sink, the stack")
        await asyncio.to_thread(broker.start)
        await asyncio.to_thread(sink.start)
        stack = Stack(
            StackConfig(
                log_dir=log_dir,
                senders=options.senders,
                scheduler_interval_seconds=options.scheduler_interval,
                extra_env=options.stack_env(sink.port),
                amqp_prefix=f"mailpass-chaos-{tag}",
                mongodb_database=f"chaos_{tag}",
                amqp_url=broker.url,
            )
        )
        await asyncio.to_thread(stack.start)
        result.seconds["start"] = round(time.monotonic() - began, 1)
        log(f"stack up in {result.seconds['start']:.0f}s (logs: {log_dir})")
        await _run(stack, broker, sink, options, result, log)
    except Exception as exc:
        result.failure = f"{type(exc).__name__}: {exc} (logs: {log_dir})"
    finally:
        await asyncio.to_thread(_stop_all, stack, sink, broker)
        result.sink_replies = sink.replies
        result.seconds["total"] = round(time.monotonic() - began, 1)
    return result


async def _run(
    stack: Stack,
    broker: OwnBroker | ClusterBroker,
    sink: SinkProcess,
    options: ChaosOptions,
    result: ChaosResult,
    log: Log,
) -> None:
    client, db = connect(stack.settings())
    try:
        tenant = await create_tenant(db, stack.settings(), sink_port=sink.port, limits=True)
        started = time.monotonic()
        faults = Faults(stack, broker, db, tenant.account_id, started)
        result.faults = faults.events
        stop = asyncio.Event()
        chaos = asyncio.create_task(
            faults.run(
                stop,
                duration=options.duration,
                kill_every=options.kill_every,
                kills=options.kills,
                broker_restarts=options.broker_restarts,
                mongo_restarts=options.mongo_restarts,
            )
        )
        load = LoadClient(
            stack.gateway_url, tenant.api_key, cut_every=options.cut_every, seed=options.seed
        )
        log(f"load: {options.batch:,} through send-batch, {options.send:,} through /send")
        try:
            result.load = await load.run(
                options.batch,
                options.send,
                options.duration,
                options.batch_concurrency,
                options.send_concurrency,
            )
        finally:
            await load.close()
            stop.set()
            await chaos
        loaded = time.monotonic()
        result.seconds["load"] = round(loaded - started, 1)
        log(
            f"load done in {result.seconds['load']:.0f}s: {len(result.load.accepted):,} accepted,"
            f" {sum(f.kind == 'sender_kill' for f in faults.events)} sender kills; draining"
        )
        waited, result.still_open = await drain(db, tenant.account_id, options.drain_timeout)
        result.seconds["drain"] = round(waited, 1)
        log(f"drained in {waited:.1f}s ({result.still_open} messages not final)")
        await asyncio.to_thread(sink.stop)
        result.tally = await tally(
            db,
            tenant.account_id,
            result.load,
            sink.accepted(),
            faults.events,
            seed=options.seed,
            perm_fail=options.perm_fail,
        )
    finally:
        if os.environ.get("MONGODB_URL"):
            with contextlib.suppress(Exception):
                await client.drop_database(db.name)
        await client.close()


def _stop_all(stack: Stack | None, sink: SinkProcess, broker: OwnBroker | ClusterBroker) -> None:
    try:
        if stack is not None:
            stack.stop()
    finally:
        try:
            sink.stop()
        finally:
            broker.close()
