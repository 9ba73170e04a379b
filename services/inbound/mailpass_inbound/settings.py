"""``mailpass-inbound``'s settings: where it listens, for which domain, and its bounds."""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator, model_validator

from mailpass_common.platform.settings import DEVELOPMENT, CommaList, ServiceSettings

DEV_RETURN_PATH_DOMAIN = "bounces.mailpass.test"


class InboundSettings(ServiceSettings):
    management_port: int = 9105
    # The SMTP listener. The chart listens on 0.0.0.0 and a high port (the container runs
    # as uid 10001, which may not bind 25); its Service maps 25 to it.
    inbound_smtp_host: str = "127.0.0.1"
    inbound_smtp_port: int = Field(default=25, ge=0, le=65535)
    # MTA_RETURN_PATH_DOMAIN (CommonSettings): the domain of the return paths MailPass's
    # MTA signs. Only mail for those addresses is accepted: every other recipient is 550.
    # Earlier MESSAGE_ID_DOMAIN values: bounces of mail sent under them still find their
    # message (a message id names its domain, and the return path signs the whole id).
    inbound_previous_message_id_domains: CommaList = Field(default_factory=list)
    # A certificate and key (PEM files, reloaded when they change): STARTTLS is offered
    # with them, never required (senders use it opportunistically, RFC 7435).
    inbound_tls_cert_file: str = ""
    inbound_tls_key_file: str = ""
    # The name in the greeting and in EHLO's answer.
    inbound_hostname: str = ""
    # Bounds. A report with the original attached is rarely above a few hundred KiB.
    inbound_max_message_bytes: int = Field(default=2 * 1024 * 1024, ge=1024, le=50 * 1024**2)
    inbound_max_recipients: int = Field(default=20, ge=1, le=1000)
    inbound_max_connections: int = Field(default=200, ge=1, le=100_000)
    inbound_max_connections_per_address: int = Field(default=10, ge=1, le=10_000)
    # Messages per client address per minute (a token bucket: bursts up to the rate).
    inbound_messages_per_minute_per_address: float = Field(default=60.0, gt=0)
    # Idle time allowed between commands (also bounds a whole DATA transfer).
    inbound_timeout_seconds: float = Field(default=120.0, gt=0, le=600)

    @field_validator("inbound_previous_message_id_domains", mode="before")
    @classmethod
    def _domains(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @model_validator(mode="after")
    def _return_path_domain_is_set(self) -> InboundSettings:
        if not self.mta_return_path_domain and self.environment != DEVELOPMENT:
            raise ValueError(
                "MTA_RETURN_PATH_DOMAIN is not set: mailpass-inbound accepts mail for that "
                "domain's return paths only"
            )
        return self

    def return_path_domain(self) -> str:
        """``MTA_RETURN_PATH_DOMAIN``; in development, a ``.test`` one when it is unset."""
        return (self.mta_return_path_domain or DEV_RETURN_PATH_DOMAIN).strip().lower()

    def message_id_domains(self) -> list[str]:
        """The domains a message id may have, current first."""
        found = [self.message_id_domain, *self.inbound_previous_message_id_domains]
        return list(dict.fromkeys(d.strip() for d in found if d.strip()))
