from __future__ import annotations

from pydantic import Field

from mailpass_common.platform.settings import ServiceSettings


class SchedulerSettings(ServiceSettings):
    # Served by ``mailpass-scheduler loop`` only; a ``flush`` run exits too soon to scrape.
    management_port: int = 9103
    # Batch messages taken, reserved and published per step: one run publishes every due
    # message that fits the limits, this many at a time.
    scheduler_chunk_size: int = Field(default=1000, ge=1, le=10_000)
    # A run stops publishing while the batch queue holds this many jobs not yet taken by
    # a sender: the rest wait in MongoDB, where they cost nothing, for the next run.
    scheduler_max_queue_depth: int = Field(default=100_000, ge=1)
    # The retention sweep (message bodies past MESSAGE_RETENTION_DAYS) runs at most this
    # often across runs and replicas; 0: every run (mailpass_common.messages.retention.sweep_due).
    scheduler_retention_sweep_seconds: float = Field(default=300.0, ge=0)
    # Recovery republishes a job that looks lost only while its work queue holds no
    # waiting jobs: a job behind a long queue is late, not lost. Then:
    # a queued message whose job was published this long ago (or whose publish failed);
    scheduler_republish_after_seconds: float = Field(default=120.0, gt=0)
    # a message in ``sending`` this long (it must exceed the sender's lease);
    scheduler_stale_sending_seconds: float = Field(default=300.0, gt=0)
    # a deferred message untouched this long (it must exceed the sender's longest retry
    # delay with jitter).
    scheduler_republish_deferred_after_seconds: float = Field(default=3 * 3600.0, gt=0)
    # A Prometheus Pushgateway (http://pushgateway:9091) each run pushes its metrics to.
    pushgateway_url: str | None = None
    # Pause between runs of ``mailpass-scheduler loop`` (the dev stand-in for the CronJob).
    scheduler_interval_seconds: float = Field(default=5.0, gt=0)
