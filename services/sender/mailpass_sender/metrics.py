from __future__ import annotations

from prometheus_client import Counter, Histogram

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
