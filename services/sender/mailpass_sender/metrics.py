"""The sender's metrics: what goes out, how fast, what fails and why, what is in flight.

With ``SENDER_WORKERS`` above 1 they go through prometheus-client's multiprocess mode, so
each Gauge says how the workers' values combine: the live ones are summed over the
workers alive (``livesum``), a circuit is open if it is open in any worker (``livemax``).
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

DELIVERIES = Counter(
    "mailpass_sender_deliveries_total",
    "Delivery attempts by provider type and outcome (sent, deferred, failed).",
    ["provider_type", "outcome"],
)
DELIVERY_SECONDS = Histogram(
    "mailpass_sender_delivery_duration_seconds",
    "Time spent handing one message to its provider, by provider type.",
    ["provider_type"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
ACCEPTANCE_TO_DELIVERY = Histogram(
    "mailpass_sender_acceptance_to_delivery_seconds",
    "From the API accepting a message to its provider accepting it, by message kind.",
    ["kind"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 14400),
)
JOBS = Counter(
    "mailpass_sender_jobs_total",
    "Jobs consumed from RabbitMQ by queue and result (done, requeued, rejected).",
    ["queue", "result"],
)
RETRIES = Counter(
    "mailpass_sender_retries_total",
    "Messages parked in a delay queue after a temporary failure, by message kind.",
    ["kind"],
)
DEAD_LETTERED = Counter(
    "mailpass_sender_dead_lettered_total",
    "Messages that exhausted their attempts and went to the dead-letter queue, by kind.",
    ["kind"],
)
FAILOVERS = Counter(
    "mailpass_sender_failovers_total",
    "Messages delivered by a fallback provider instead of the default, by its type.",
    ["provider_type"],
)
CIRCUIT_OPEN = Gauge(
    "mailpass_sender_circuit_open",
    "1 while a provider's circuit breaker is open (deliveries skip it).",
    ["provider_id"],
    multiprocess_mode="livemax",
)
IN_FLIGHT = Gauge(
    "mailpass_sender_in_flight",
    "Messages taken from the queues and not finished yet (claiming, sending, recording).",
    multiprocess_mode="livesum",
)
SMTP_CONNECTIONS = Gauge(
    "mailpass_sender_smtp_connections_open",
    "SMTP connections open to providers (in use or idle in a pool).",
    multiprocess_mode="livesum",
)
MTA_SESSIONS = Gauge(
    "mailpass_mta_sessions_open",
    "SMTP sessions MailPass SMTP holds open to receiving MX hosts (in use or idle).",
    multiprocess_mode="livesum",
)
BATCH_SIZE = Histogram(
    "mailpass_sender_batch_size",
    "Messages claimed or recorded together in one database round trip, by queue.",
    ["queue"],
    buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000),
)
