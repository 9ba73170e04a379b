"""SMTP submission beside the API's batch path: N messages submitted to ``mailpass-smtp``
over ``sessions`` concurrent sessions (implicit TLS, AUTH PLAIN with the tenant's key,
then one transaction after another on each), the way an application's mailer sends.

Two rates: submitted (the last ``250 … queued as`` read, each answered only once stored)
and delivered (smtp-sink has them all), over the same start. Round trips are counted as
for the batch phase.
"""

from __future__ import annotations

import asyncio
import secrets
import ssl
import time
from typing import Any

import aiosmtplib

from mailpass_dev.bench.phases import SETTLE_SECONDS, BenchContext, BenchError
from mailpass_dev.bench.probes import cpu_increase, cpu_seconds, db_figures, scrape_db_counters
from mailpass_dev.bench.sink import subjects_in_dump
from mailpass_dev.bench.tenant import RECIPIENT

SESSIONS = 10
# The From of the submitted messages: a name under .test, which a development stack takes
# (the bench tenant's own bench@mailpass.local is a special-use name the API's address
# rule refuses when it is written in a message).
FROM_EMAIL = "bench@mailpass.test"


def _client_context() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False  # the stack's self-signed certificate
    context.verify_mode = ssl.CERT_NONE
    return context


async def _session(ctx: BenchContext, subjects: list[str], body: bytes) -> None:
    port = ctx.stack.submission_port
    assert port is not None, "the stack runs without mailpass-smtp"
    client = aiosmtplib.SMTP(
        hostname="127.0.0.1", port=port, use_tls=True, tls_context=_client_context(), timeout=60
    )
    async with client:
        await client.login("bench", ctx.tenant.api_key)
        for subject in subjects:
            content = (
                f"From: {FROM_EMAIL}\r\nTo: {RECIPIENT}\r\nSubject: {subject}\r\n"
                "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n"
            ).encode() + body
            _, reply = await client.sendmail(FROM_EMAIL, [RECIPIENT], content)
            if not reply.startswith("2.0.0 Ok: queued as"):
                raise BenchError(f"mailpass-smtp answered {reply!r}")


async def run_submission(ctx: BenchContext, sessions: int = SESSIONS) -> dict[str, Any]:
    n = ctx.options.messages
    prefix = f"mpsmtp-{secrets.token_hex(3)}-"
    body = ctx.body.replace("\n", "\r\n").encode()
    shares = [[f"{prefix}{i:07d}" for i in range(s, n, sessions)] for s in range(sessions)]
    ctx.sink.take_dump()
    before = await scrape_db_counters(ctx.stack)
    cpu_before = cpu_seconds(ctx.stack)
    base = ctx.sink.messages
    started = time.perf_counter()
    await asyncio.gather(*(_session(ctx, share, body) for share in shares if share))
    submitted = time.perf_counter() - started
    await ctx.sink.reached(base + n, ctx.options.batch_timeout - submitted)
    elapsed = time.perf_counter() - started
    received = ctx.sink.messages - base
    cpu = cpu_increase(cpu_before, cpu_seconds(ctx.stack))
    await asyncio.sleep(SETTLE_SECONDS)
    after = await scrape_db_counters(ctx.stack)
    subjects = subjects_in_dump(ctx.sink.take_dump(), prefix)
    unique = len(subjects)
    return {
        "messages": n,
        "sessions": sessions,
        "received": received,
        "unique": unique,
        "lost": n - unique,
        "submit_seconds": submitted,
        "submit_rate": n / submitted,
        "seconds": elapsed,
        "rate": min(received, n) / elapsed,
        "cpu_seconds_by_process": cpu,
        **db_figures(before, after, unique),
    }
