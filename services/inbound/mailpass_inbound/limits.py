"""Connection and rate bounds per client address, in process (each replica allows them).

An MX open to the internet meets scanners and floods: at most ``max_total`` connections
at once, ``max_per_address`` from one address, and ``per_minute`` messages per address
(a token bucket: a burst up to the minute's allowance, then the rate). The tables are
bounded: past :data:`MAX_TRACKED` addresses the buckets start over (every address gets
a full allowance again, which errs towards accepting mail, never towards memory).
"""

from __future__ import annotations

import time
from enum import StrEnum

MAX_TRACKED = 10_000


class ConnectionRefusal(StrEnum):
    TOO_MANY = "too_many_connections"
    TOO_MANY_FROM_ADDRESS = "too_many_connections_from_address"


class ConnectionLimits:
    def __init__(self, max_total: int, max_per_address: int) -> None:
        self.max_total = max_total
        self.max_per_address = max_per_address
        self.total = 0
        self._open: dict[str, int] = {}

    def open(self, address: str) -> ConnectionRefusal | None:
        """Count a new connection in, or say why it is refused (then it was not counted)."""
        if self.total >= self.max_total:
            return ConnectionRefusal.TOO_MANY
        if self._open.get(address, 0) >= self.max_per_address:
            return ConnectionRefusal.TOO_MANY_FROM_ADDRESS
        self.total += 1
        self._open[address] = self._open.get(address, 0) + 1
        return None

    def close(self, address: str) -> None:
        self.total -= 1
        left = self._open.get(address, 1) - 1
        if left > 0:
            self._open[address] = left
        else:
            self._open.pop(address, None)


class RateLimits:
    """Messages per address per minute."""

    def __init__(self, per_minute: float) -> None:
        self.rate = per_minute / 60.0
        self.burst = max(per_minute, 1.0)
        self._buckets: dict[str, tuple[float, float]] = {}

    def allow(self, address: str) -> bool:
        now = time.monotonic()
        tokens, last = self._buckets.get(address, (self.burst, now))
        tokens = min(self.burst, tokens + (now - last) * self.rate)
        if len(self._buckets) > MAX_TRACKED:
            self._buckets.clear()
        if tokens < 1:
            self._buckets[address] = (tokens, now)
            return False
        self._buckets[address] = (tokens - 1, now)
        return True
