"""Messages per client address per minute, in process (each replica allows the rate).

Connections (all clients, and per address) are bounded by the shared SMTP server
(:class:`mailpass_common.smtp_server.ConnectionLimits`); this bounds what one address
may send over them: ``per_minute`` messages (a token bucket: a burst up to the minute's
allowance, then the rate), answered ``450 4.7.1`` past it. The table is bounded: past
:data:`MAX_TRACKED` addresses it starts over (every address gets a full allowance again,
which errs towards accepting mail, never towards memory).
"""

from __future__ import annotations

import time

MAX_TRACKED = 10_000


class RateLimits:
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
