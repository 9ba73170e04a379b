"""Settings shared by every service, read from the environment (pydantic-settings).

Each service subclasses :class:`CommonSettings` with its own fields, so one image runs
everywhere and a test builds a service from an explicit settings object.
"""

from __future__ import annotations

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET = "dev-only-secret-change-me"


class CommonSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", extra="ignore", frozen=True)

    environment: str = Field(default="development", description="development | production")
    mongodb_url: str = "mongodb://127.0.0.1:27017/?directConnection=true"
    mongodb_database: str = "mailpass"
    amqp_url: str = "amqp://guest:guest@127.0.0.1:5672/"
    # Prefixes every exchange and queue name, so several installations (or test runs)
    # can share one RabbitMQ virtual host without seeing each other's jobs.
    amqp_prefix: str = "mailpass"
    # Signs tracking links and derives the key that encrypts provider credentials.
    secret_key: SecretStr = SecretStr(DEV_SECRET)
    message_id_domain: str = "mailpass.local"
    log_level: str = "INFO"
    # API keys, provider documents and account settings are kept in process this long:
    # a revocation or a provider change takes effect within it (see mailpass_common.cache).
    cache_ttl_seconds: float = Field(default=5.0, ge=0, le=60)
    # How long a service keeps retrying its first connection to MongoDB and RabbitMQ.
    startup_timeout_seconds: float = 60.0

    @model_validator(mode="after")
    def _refuse_dev_secret_outside_development(self) -> CommonSettings:
        if self.environment != "development" and self.secret_key.get_secret_value() == DEV_SECRET:
            raise ValueError("SECRET_KEY must be set outside development")
        return self


class ServiceSettings(CommonSettings):
    """A long-running service: it also serves the management port (see ``management``).

    Each service sets its own default port: gateway 9100, sender 9101, tracker 9102,
    the scheduler's dev loop 9103. 0 binds any free port (tests).
    """

    management_host: str = "127.0.0.1"
    management_port: int
