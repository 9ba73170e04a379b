"""The retry schedule and the circuit breaker, on their own."""

from __future__ import annotations

import random

from mailpass_sender.circuit import CircuitBreakers
from mailpass_sender.retry import RetryPolicy


def test_backoff_is_exponential_capped_and_jittered() -> None:
    policy = RetryPolicy(max_attempts=6, base_seconds=30, max_seconds=200, jitter=0.2)
    rng = random.Random(7)
    nominal = [policy.delay_after(n, rng).nominal_seconds for n in range(1, 6)]
    assert nominal == [30, 60, 120, 200, 200]
    delays = [policy.delay_after(3, rng).seconds for _ in range(200)]
    assert all(96 <= d <= 144 for d in delays) and len(set(delays)) > 100
    assert not policy.exhausted(5) and policy.exhausted(6)


def test_a_circuit_opens_after_repeated_failures_and_lets_one_trial_through() -> None:
    now = [0.0]
    breakers = CircuitBreakers(threshold=3, open_seconds=10, clock=lambda: now[0])
    for _ in range(2):
        breakers.record_failure("p")
    assert breakers.allows("p")
    breakers.record_failure("p")
    assert not breakers.allows("p") and breakers.allows("other")
    now[0] = 10.5
    assert breakers.allows("p")  # the trial
    assert not breakers.allows("p")  # only one per period
    breakers.record_success("p")
    assert breakers.allows("p") and not breakers.is_open("p")
