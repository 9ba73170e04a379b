"""One rolling upgrade under load: the previous release's stack, the load, the roll, the
drain and the tally. Everything started here is stopped in ``finally``.

The stack (gateway, two senders, the scheduler loop, the webhooks process) starts from
the previous release's console scripts on the shared RabbitMQ and a fresh nx-27017; the
tenant has a webhook endpoint for ``sent`` events (:mod:`.receiver`). While messages flow
(send-batch and /send, every request with an Idempotency-Key and retried until answered),
the services are replaced one at a time by the current release's, in ``ROLL_ORDER``: a
sender first (the current release reading the previous one's jobs and documents), the
webhooks process (each release relaying events the other's senders wrote), then the
gateway and the scheduler (the previous release's sender reading the current one's), then
the last sender. A replacement is SIGTERM (the process finishes what it holds), then the
new process on the same ports, ready before the next step. The SMTP sink defers one
transaction in ten, so retries cross releases too.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import aio_pika

from mailpass_common.platform.broker import Topology
from mailpass_common.platform.crypto import CredentialCipher
from mailpass_common.platform.db import connect
from mailpass_common.platform.dead_letters import read_dead_letters
from mailpass_common.webhooks import endpoints
from mailpass_dev.bench.tenant import create_tenant
from mailpass_dev.chaos.accounting import Tally, drain, tally
from mailpass_dev.chaos.load import LoadClient, LoadResult
from mailpass_dev.chaos.options import CHAOS_SETTINGS
from mailpass_dev.chaos.sink import SinkProcess
from mailpass_dev.processes import StackError, free_port
from mailpass_dev.stack import REPO_ROOT, Stack, StackConfig
from mailpass_dev.upgrade.evidence import NEW, OLD, Stretch, cross_checks, rejected, scrape_senders
from mailpass_dev.upgrade.options import UpgradeOptions
from mailpass_dev.upgrade.receiver import WebhookReceiver
from mailpass_dev.upgrade.release import Release, prepare

Log = Callable[[str], None]
ROLL_ORDER = ("sender-1", "webhooks-1", "gateway", "scheduler", "sender-2")
NEEDED_SCRIPTS = ("mailpass-gateway", "mailpass-sender", "mailpass-scheduler", "mailpass-webhooks")
LOAD_CHUNK_SECONDS = 2.0
WEBHOOK_WAIT_SECONDS = 120.0


@dataclass
class UpgradeResult:
    options: UpgradeOptions
    log_dir: Path
    release: dict[str, str] = field(default_factory=dict)
    steps: list[dict[str, Any]] = field(default_factory=list)
    stretches: list[Stretch] = field(default_factory=list)
    load: LoadResult = field(default_factory=LoadResult)
    tally: Tally | None = None
    dead_letters: list[dict[str, str]] = field(default_factory=list)
    still_open: int = 0
    webhooks_missing: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    failure: str | None = None

    def checks(self) -> dict[str, bool]:
        t = self.tally
        if t is None:
            return {"ran": False}
        return {
            "every service replaced": len(self.steps) == len(ROLL_ORDER),
            "nothing lost": not t.lost,
            "no message failed": t.failed == 0,
            "none delivered twice": not t.duplicates,
            "no idempotent retry made a second message": not t.idempotent_duplicates,
            "every message final after the drain": not t.not_final and self.still_open == 0,
            "no job dead-lettered or refused": not self.dead_letters
            and rejected(self.stretches) == 0,
            "every request answered": not self.load.given_up,
            "every delivered message's sent event reached the webhook endpoint": not (
                self.webhooks_missing
            ),
            **cross_checks(self.stretches),
        }

    def as_json(self) -> dict[str, Any]:
        return {
            "options": self.options.as_json(),
            "release": self.release,
            "failure": self.failure,
            "seconds": self.seconds,
            "steps": self.steps,
            "stretches": [s.as_json() for s in self.stretches],
            "load": self.load.as_json(),
            "dead_letters": self.dead_letters,
            "webhooks_missing": self.webhooks_missing,
            "figures": self.tally.as_json() if self.tally else None,
            "checks": self.checks(),
            "log_dir": str(self.log_dir),
        }


async def run_upgrade(options: UpgradeOptions, log: Log) -> UpgradeResult:
    began = time.monotonic()
    tag = secrets.token_hex(4)
    log_dir = options.report.parent / "logs" / f"{datetime.now():%Y%m%d-%H%M%S}-{tag}"
    log_dir.mkdir(parents=True, exist_ok=True)
    result = UpgradeResult(options, log_dir)
    sink = SinkProcess(free_port(), log_dir, seed=options.seed, temp_fail=0.1, perm_fail=0.0)
    stack: Stack | None = None
    try:
        log(f"preparing the previous release {options.from_ref}")
        release = await asyncio.to_thread(prepare, REPO_ROOT, options.from_ref, options.cache)
        missing = [s for s in NEEDED_SCRIPTS if s not in release.scripts]
        if missing:
            raise StackError(f"{release.short} has no {', '.join(missing)}: pick another --from")
        result.release = {"ref": release.ref, "commit": release.commit, "subject": release.subject}
        result.seconds["prepare"] = round(time.monotonic() - began, 1)
        log(f"previous release {release.short} ({release.subject[:60]}) ready; starting it")
        await asyncio.to_thread(sink.start)
        stack = Stack(
            StackConfig(
                log_dir=log_dir,
                senders=2,
                scheduler_interval_seconds=1.0,
                extra_env={
                    **CHAOS_SETTINGS,
                    "PROVIDER_ALLOWED_SMTP_PORTS": str(sink.port),
                    "WEBHOOK_ALLOW_HTTP": "true",  # the endpoint is a plain local server
                    # One endpoint takes every event: the per-host budget (20 a second)
                    # would make the run wait for it, not test anything more.
                    "WEBHOOK_HOST_RATE_PER_SECOND": "2000",
                },
                webhooks=1,
                amqp_prefix=f"mailpass-upgrade-{tag}",
                mongodb_database=f"upgrade_{tag}",
                bin_dir=release.bin_dir,
            )
        )
        await asyncio.to_thread(stack.start)
        log(f"previous release up (logs: {log_dir})")
        await _run(stack, sink, release, options, result, log)
    except Exception as exc:
        result.failure = f"{type(exc).__name__}: {exc} (logs: {log_dir})"
    finally:
        if stack is not None:
            await asyncio.to_thread(stack.stop)
            with contextlib.suppress(Exception):
                await stack.delete_topology()
        await asyncio.to_thread(sink.stop)
        result.seconds["total"] = round(time.monotonic() - began, 1)
    return result


async def _roll(
    stack: Stack, release: Release, options: UpgradeOptions, result: UpgradeResult, log: Log
) -> None:
    """Replace the services one at a time, ``hold`` seconds apart (and before the first,
    and after the last), reading the senders' counters around each step."""
    current = Path(sys.executable).parent
    versions = {name: OLD for name in stack.services}
    stretch = Stretch(dict(versions), await scrape_senders(stack))
    started = time.monotonic()
    for name in ROLL_ORDER:
        await asyncio.sleep(options.hold)
        stretch.done = await scrape_senders(stack)
        result.stretches.append(stretch)
        began = time.monotonic()
        await asyncio.to_thread(stack.replace, name, current)
        versions[name] = NEW
        took = round(time.monotonic() - began, 1)
        result.steps.append({"service": name, "at": round(began - started, 1), "seconds": took})
        log(f"{name}: {release.short} -> current in {took:.1f}s")
        stack.check_alive()
        stretch = Stretch(dict(versions), await scrape_senders(stack))
    await asyncio.sleep(options.hold)
    result.stretches.append(stretch)


async def _load(load: LoadClient, options: UpgradeOptions, rolling: asyncio.Task[None]) -> None:
    """Requests spread over chunks of ``LOAD_CHUNK_SECONDS`` until the roll is over."""
    batch = max(1, round(options.batch_rate * LOAD_CHUNK_SECONDS))
    send = max(1, round(options.send_rate * LOAD_CHUNK_SECONDS))
    while not rolling.done():
        await load.run(batch, send, LOAD_CHUNK_SECONDS, 2, 8)


async def _run(
    stack: Stack,
    sink: SinkProcess,
    release: Release,
    options: UpgradeOptions,
    result: UpgradeResult,
    log: Log,
) -> None:
    client, db = connect(stack.settings())
    try:
        tenant = await create_tenant(db, stack.settings(), sink_port=sink.port, limits=True)
        receiver = WebhookReceiver()
        await receiver.start()
        secret = stack.settings().secret_key.get_secret_value()
        await endpoints.create_endpoint(
            db,
            CredentialCipher(secret),
            account_id=tenant.account_id,
            url=receiver.url,
            events=["sent"],
            sandbox=False,
            limit=1,
        )
        load = LoadClient(stack.gateway_url, tenant.api_key, cut_every=0, seed=options.seed)
        log(
            f"load: {options.batch_rate:.0f} msg/s through send-batch, {options.send_rate:.0f} "
            f"through /send; a step every {options.hold:.0f}s"
        )
        started = time.monotonic()
        roll = asyncio.create_task(_roll(stack, release, options, result, log))
        try:
            await _load(load, options, roll)
        finally:
            await load.close()
            result.load = load.result
            await roll
        result.seconds["load"] = round(time.monotonic() - started, 1)
        log(f"load done: {len(result.load.accepted):,} accepted; draining")
        waited, result.still_open = await drain(db, tenant.account_id, options.drain_timeout)
        result.seconds["drain"] = round(waited, 1)
        result.stretches[-1].done = await scrape_senders(stack)
        result.dead_letters = await _dead_letters(stack)
        await asyncio.to_thread(sink.stop)
        accepted = sink.accepted()
        result.tally = await tally(
            db, tenant.account_id, result.load, accepted, [], seed=options.seed, perm_fail=0
        )
        delivered = {a.message_id for a in accepted} & set(result.load.accepted)
        result.webhooks_missing = await _webhooks_missing(receiver, delivered)
        result.stretches[-1].done = await scrape_senders(stack)
        await receiver.stop()
    finally:
        if os.environ.get("MONGODB_URL"):
            with contextlib.suppress(Exception):
                await client.drop_database(db.name)
        await client.close()


async def _webhooks_missing(receiver: WebhookReceiver, delivered: set[str]) -> list[str]:
    """Delivered messages whose ``sent`` event has not reached the endpoint, once it stops
    coming in (the relay polls the outbox; retries wait out their delay)."""
    deadline = time.monotonic() + WEBHOOK_WAIT_SECONDS
    for _ in range(int(WEBHOOK_WAIT_SECONDS)):
        if not delivered - receiver.sent or time.monotonic() > deadline:
            break
        await asyncio.sleep(1.0)
    return sorted(delivered - receiver.sent)


async def _dead_letters(stack: Stack) -> list[dict[str, str]]:
    connection = await aio_pika.connect(stack.env["AMQP_URL"])
    async with connection:
        channel = await connection.channel()
        found = await read_dead_letters(channel, Topology(stack.config.amqp_prefix))
    return [{"reason": d.reason, "error": d.error} for d in found]
