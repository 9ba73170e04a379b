"""When a temporarily failed message is tried again, and when the sender gives up.

The schedule is exponential (``base * 2^(n-1)`` after the n-th failed attempt, capped)
with multiplicative jitter, so a burst of messages deferred together by one outage does
not come back as one burst. The waiting happens in RabbitMQ delay queues (see
:mod:`mailpass_common.platform.broker`), never in a sleeping consumer.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from mailpass_sender.settings import SenderSettings


@dataclass(frozen=True)
class RetryDelay:
    nominal_seconds: float  # names the delay queue
    seconds: float  # with jitter: the job's expiration in that queue


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int
    base_seconds: float
    max_seconds: float
    jitter: float

    @classmethod
    def from_settings(cls, settings: SenderSettings) -> RetryPolicy:
        return cls(
            max_attempts=settings.sender_max_attempts,
            base_seconds=settings.sender_retry_base_seconds,
            max_seconds=settings.sender_retry_max_seconds,
            jitter=settings.sender_retry_jitter,
        )

    def exhausted(self, attempts: int) -> bool:
        """True once ``attempts`` deliveries have been made and none may follow."""
        return attempts >= self.max_attempts

    def delay_after(self, attempts: int, rng: random.Random | None = None) -> RetryDelay:
        exponent = max(0, attempts - 1)
        # min() before the power would overflow for absurd attempt counts.
        nominal = min(self.max_seconds, self.base_seconds * 2 ** min(exponent, 60))
        spread = (rng or random).uniform(1 - self.jitter, 1 + self.jitter)
        return RetryDelay(nominal_seconds=nominal, seconds=nominal * spread)
