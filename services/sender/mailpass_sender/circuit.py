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
few deliveries each anyway.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from mailpass_sender.metrics import CIRCUIT_OPEN


@dataclass
class _Circuit:
    failures: int = 0
    opened_at: float | None = None


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
        return True

    def is_open(self, provider_id: str) -> bool:
        circuit = self._circuits.get(provider_id)
        return circuit is not None and circuit.opened_at is not None

    def record_success(self, provider_id: str) -> None:
        if provider_id in self._circuits:
            del self._circuits[provider_id]
            CIRCUIT_OPEN.labels(provider_id).set(0)

    def record_failure(self, provider_id: str) -> None:
        circuit = self._circuits.setdefault(provider_id, _Circuit())
        circuit.failures += 1
        if circuit.failures >= self._threshold:
            circuit.opened_at = self._clock()
            CIRCUIT_OPEN.labels(provider_id).set(1)
