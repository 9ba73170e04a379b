"""Recording a batch of decisions while the database may be briefly away.

While MongoDB is unreachable (a failover, a restart), recording is retried with backoff
for up to ``sender_record_retry_seconds``; only then are the jobs given back to their
queues. A message the provider has accepted is so not sent a second time because of a
short outage (see :mod:`mailpass_sender.pipeline`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager

from mailpass_common.platform.telemetry import log_fields
from mailpass_sender import flows
from mailpass_sender.models import Decision, DeliveryContext, DeliveryOutcome

log = logging.getLogger(__name__)


async def record_with_retries(
    decisions: Sequence[Decision],
    ctx: DeliveryContext,
    span: Callable[[], AbstractContextManager[object]],
) -> list[DeliveryOutcome] | None:
    """The outcomes of ``decisions`` once recorded (each try inside a new ``span()``), or
    None when the database stayed unreachable past the deadline: give the jobs back."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + ctx.settings.sender_record_retry_seconds
    delay = 0.2
    while True:
        try:
            with span():
                return list(await flows.record(list(decisions), ctx))
        except Exception as exc:
            if loop.time() + delay > deadline:
                log.exception(
                    "recording failed; jobs requeued", extra=log_fields(jobs=len(decisions))
                )
                return None
            log.warning(
                "recording failed; retrying",
                extra=log_fields(messages=len(decisions), error=str(exc), retry_in=delay),
            )
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)
