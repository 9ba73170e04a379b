from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator

from mailpass_common.platform.settings import CommaList, ServiceSettings

# Standard Webhooks' schedule: after the first attempt, retries 5 s, 5 min, 30 min, 2 h,
# 5 h, 10 h and 10 h later (eight attempts over about 27.6 hours).
SPEC_RETRY_SCHEDULE = ["5", "300", "1800", "7200", "18000", "36000", "36000"]


class WebhookSettings(ServiceSettings):
    management_port: int = 9104
    # Seconds between a failed attempt and the next, one entry per retry (its length is
    # the number of retries). Shorter only in tests.
    webhook_retry_schedule: CommaList = Field(default_factory=lambda: list(SPEC_RETRY_SCHEDULE))
    # An endpoint whose attempts all failed over this long is disabled (5 days).
    webhook_disable_after_seconds: float = Field(default=5 * 86400, gt=0)
    # Time allowed for one request, connect to last byte.
    webhook_timeout_seconds: float = Field(default=15.0, gt=0, le=60)
    # Deliveries per destination host per second, across endpoints, accounts and
    # replicas (mailpass_webhooks.host_budget): the rest wait their turn.
    webhook_host_rate_per_second: int = Field(default=20, ge=1, le=10_000)
    # Deliveries in flight per process (RabbitMQ prefetch).
    webhook_concurrency: int = Field(default=32, ge=1, le=1000)
    # How often the relay looks for events to publish, and how many it takes at once.
    webhook_relay_interval_seconds: float = Field(default=0.5, gt=0)
    webhook_relay_batch_size: int = Field(default=500, ge=1, le=5000)
    # A relay's claim on events it is publishing; another relay takes them after it.
    webhook_relay_lease_seconds: float = Field(default=60.0, gt=0)

    @field_validator("webhook_retry_schedule", mode="before")
    @classmethod
    def _schedule_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator("webhook_retry_schedule")
    @classmethod
    def _schedule_seconds(cls, value: list[str]) -> list[str]:
        for item in value:
            if float(item) <= 0:
                raise ValueError(f"{item!r}: retry delays are positive seconds")
        return value

    def retry_delays(self) -> list[float]:
        return [float(v) for v in self.webhook_retry_schedule]
