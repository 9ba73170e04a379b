from __future__ import annotations

from mailpass_common.settings import ServiceSettings


class SchedulerSettings(ServiceSettings):
    # Served by ``mailpass-scheduler loop`` only; a ``flush`` run exits too soon to scrape.
    management_port: int = 9103
    # Most batch messages one run publishes (the rest wait for the next run).
    scheduler_batch_size: int = 1000
    # A queued message whose job was published this long ago without an outcome, or never
    # published at all (the gateway's publish failed), is published again.
    scheduler_republish_after_seconds: float = 300.0
    # A message in ``sending`` this long is abandoned by its sender (it must exceed the
    # sender's lease) and is published again.
    scheduler_stale_sending_seconds: float = 300.0
    # A deferred message untouched this long lost its retry job (it must exceed the
    # sender's longest retry delay with jitter) and is published again.
    scheduler_republish_deferred_after_seconds: float = 3 * 3600.0
    # Pause between runs of ``mailpass-scheduler loop`` (the dev stand-in for the CronJob).
    scheduler_interval_seconds: float = 5.0
