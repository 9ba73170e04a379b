"""Circuit breakers: stop offering messages to a provider that keeps failing.

After ``threshold`` consecutive temporary failures a provider's circuit opens: deliveries
skip it (and fail over to the account's fallbacks, or are deferred) for ``open_seconds``.
Then one delivery is let through as a trial; success closes the circuit, failure keeps
it open for another period. Permanent refusals do not count: they are about a message,
not about the provider's health.

The state lives in memory, per sender process, on purpose. It is an optimisation built
from recent observations, not a record: losing it on a restart costs at most
``threshold`` failed attempts to learn it again, and every message's fate is decided
and stored in MongoDB regardless (a skipped provider just means a deferral or another
provider). Sharing it through MongoDB would put a write on every failure and a read on
every delivery's hot path, and replicas of the sender learn the same outage within a
few deliveries each anyway. What the console shows of it is reported separately, only
when a circuit changes (:class:`CircuitReporter`, :mod:`mailpass_common.providers.circuits`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from mailpass_common.platform.db import Database
from mailpass_common.platform.telemetry import log_fields
from mailpass_common.providers import circuits
from mailpass_common.providers.models import ProviderDocument
from mailpass_sender.metrics import CIRCUIT_OPEN

log = logging.getLogger(__name__)


@dataclass
class _Circuit:
    failures: int = 0
    opened_at: float | None = None
    trial: bool = False  # a trial delivery was let through this open period


class CircuitBreakers:
    def __init__(
        self,
        threshold: int,
        open_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._threshold = threshold
        self._open_seconds = open_seconds
        self._clock = clock
        self._circuits: dict[str, _Circuit] = {}

    def allows(self, provider_id: str) -> bool:
        """May a delivery use this provider now? Lets one trial through per open period."""
        circuit = self._circuits.get(provider_id)
        if circuit is None or circuit.opened_at is None:
            return True
        now = self._clock()
        if now - circuit.opened_at < self._open_seconds:
            return False
        # Re-arm before letting the trial through, so concurrent deliveries keep skipping.
        circuit.opened_at = now
        circuit.trial = True
        return True

    def is_open(self, provider_id: str) -> bool:
        circuit = self._circuits.get(provider_id)
        return circuit is not None and circuit.opened_at is not None

    def failures(self, provider_id: str) -> int:
        circuit = self._circuits.get(provider_id)
        return circuit.failures if circuit else 0

    def record_success(self, provider_id: str) -> bool:
        """Returns whether this closed an open circuit."""
        circuit = self._circuits.pop(provider_id, None)
        if circuit is None:
            return False
        CIRCUIT_OPEN.labels(provider_id).set(0)
        return circuit.opened_at is not None

    def record_failure(self, provider_id: str) -> bool:
        """Returns whether an open period starts: the circuit opens, or a trial failed
        (not for deliveries that were already under way when it opened)."""
        circuit = self._circuits.setdefault(provider_id, _Circuit())
        circuit.failures += 1
        if circuit.failures < self._threshold:
            return False
        starts = circuit.opened_at is None or circuit.trial
        circuit.opened_at = self._clock()
        circuit.trial = False
        CIRCUIT_OPEN.labels(provider_id).set(1)
        return starts


class CircuitReporter:
    """Reports circuit changes for the console, from background tasks, in order per
    provider; a failed report is logged and dropped (the state it describes is this
    process's own and only informative)."""

    def __init__(self, db: Database, open_seconds: float, sender_id: str | None = None) -> None:
        self._db = db
        self._open = timedelta(seconds=open_seconds)
        self.sender_id = sender_id or f"{socket.gethostname()}:{os.getpid()}"
        self._last: dict[str, asyncio.Task[None]] = {}

    def opened(self, provider: ProviderDocument, failures: int) -> None:
        until = datetime.now(UTC) + self._open
        self._schedule(
            provider["_id"],
            circuits.report_open(
                self._db,
                provider_id=provider["_id"],
                account_id=provider["account_id"],
                sender_id=self.sender_id,
                failures=failures,
                until=until,
            ),
        )

    def closed(self, provider: ProviderDocument) -> None:
        self._schedule(
            provider["_id"],
            circuits.report_closed(self._db, provider_id=provider["_id"], sender_id=self.sender_id),
        )

    def _schedule(self, provider_id: str, write: Coroutine[Any, Any, None]) -> None:
        previous = self._last.get(provider_id)

        async def in_order() -> None:
            if previous is not None:
                with contextlib.suppress(Exception):
                    await previous
            try:
                await write
            except Exception as exc:
                log.warning(
                    "circuit report not written",
                    extra=log_fields(provider_id=provider_id, error=str(exc)),
                )

        task = asyncio.get_running_loop().create_task(in_order())
        self._last[provider_id] = task
        task.add_done_callback(lambda done: self._forget(provider_id, done))

    def _forget(self, provider_id: str, task: asyncio.Task[None]) -> None:
        if self._last.get(provider_id) is task:
            del self._last[provider_id]

    async def drain(self, timeout: float = 5.0) -> None:
        """Wait for the reports still being written (on shutdown)."""
        pending = list(self._last.values())
        if pending:
            await asyncio.wait(pending, timeout=timeout)
