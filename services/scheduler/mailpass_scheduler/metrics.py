"""What each scheduler run did, as gauges of the last run (Prometheus' convention for a
batch job), and the backlog it saw.

A CronJob's process lives for seconds, too short to be scraped: with ``PUSHGATEWAY_URL``
set, each run pushes to a Pushgateway (``job="mailpass-scheduler"``). A successful run
replaces the job's group with this registry; a failed one adds only its duration
(:data:`FAILED_RUN_REGISTRY`), so the group keeps the last success's timestamp and what
that run saw, and the "not succeeding" alert measures from the last real success rather
than from the fresh process's zero. ``mailpass-scheduler loop`` (the dev stack) serves
the run registry on its management port.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Gauge

RUN_REGISTRY = CollectorRegistry()

PUBLISHED = Gauge(
    "mailpass_scheduler_run_published_messages",
    "Batch messages the last run published.",
    registry=RUN_REGISTRY,
)
HELD = Gauge(
    "mailpass_scheduler_run_held_messages",
    "Due batch messages the last run left queued because their provider's limit was reached "
    "(counted up to one chunk per provider).",
    registry=RUN_REGISTRY,
)
RECOVERED = Gauge(
    "mailpass_scheduler_run_recovered_messages",
    "Messages whose job was lost, published again by the last run.",
    registry=RUN_REGISTRY,
)
BODIES_PURGED = Gauge(
    "mailpass_scheduler_run_purged_bodies",
    "Message bodies the last run removed (older than MESSAGE_RETENTION_DAYS).",
    registry=RUN_REGISTRY,
)
DURATION = Gauge(
    "mailpass_scheduler_run_duration_seconds",
    "How long the last run took.",
    registry=RUN_REGISTRY,
)
LAST_SUCCESS = Gauge(
    "mailpass_scheduler_last_success_timestamp_seconds",
    "When a run last finished without error (Unix time).",
    registry=RUN_REGISTRY,
)
BACKLOG = Gauge(
    "mailpass_batch_backlog_messages",
    "Batch messages waiting to be published after the last run (counted up to 10,000).",
    registry=RUN_REGISTRY,
)
BACKLOG_AGE = Gauge(
    "mailpass_batch_backlog_oldest_age_seconds",
    "Age of the oldest batch message still waiting to be published (0: none waits).",
    registry=RUN_REGISTRY,
)
QUEUE_DEPTH = Gauge(
    "mailpass_queue_depth",
    "Jobs waiting in a RabbitMQ queue, not yet taken by a sender (immediate, batch, dead).",
    ["queue"],
    registry=RUN_REGISTRY,
)

# What a failed run pushes: how long it tried, nothing that would overwrite the last
# success's values.
FAILED_RUN_REGISTRY = CollectorRegistry()
FAILED_RUN_REGISTRY.register(DURATION)
