from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

DELIVERIES = Counter(
    "mailpass_sender_deliveries_total",
    "Delivery attempts by provider type and outcome (sent, deferred, failed).",
    ["provider_type", "outcome"],
)
DELIVERY_SECONDS = Histogram(
    "mailpass_sender_delivery_seconds",
    "Time spent handing one message to its provider.",
    ["provider_type"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
JOBS = Counter(
    "mailpass_sender_jobs_total",
    "Jobs consumed from RabbitMQ by queue and result (done, skipped, requeued).",
    ["queue", "result"],
)
RETRIES = Counter(
    "mailpass_sender_retries_total",
    "Jobs parked in a delay queue after a temporary failure, by message kind.",
    ["kind"],
)
DEAD_LETTERED = Counter(
    "mailpass_sender_dead_lettered_total",
    "Jobs that exhausted their attempts and went to the dead-letter queue.",
    ["kind"],
)
FAILOVERS = Counter(
    "mailpass_sender_failovers_total",
    "Messages delivered by a fallback provider instead of the default.",
    ["provider_type"],
)
CIRCUIT_OPEN = Gauge(
    "mailpass_sender_circuit_open",
    "1 while a provider's circuit breaker is open (deliveries skip it).",
    ["provider_id"],
)
BATCH_SIZE = Histogram(
    "mailpass_sender_batch_size",
    "Jobs claimed or recorded together in one database round trip, by queue.",
    ["queue"],
    buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000),
)
