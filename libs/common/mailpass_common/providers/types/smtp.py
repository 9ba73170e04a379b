"""``smtp``: any SMTP server or relay (the tenant's own, an ISP's), through a connection pool.

No event hook: an SMTP server refuses an address at RCPT, which the sender sees itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from mailpass_common.messages.validation import DisplayName
from mailpass_common.providers.delivery.options import DeliveryOptions
from mailpass_common.providers.delivery.smtp import SmtpProvider
from mailpass_common.providers.delivery.targets import address_problems, problem
from mailpass_common.providers.plugin import ConsoleForm, Problems, ProviderPlugin
from mailpass_common.providers.type_config import Host, PemCertificates, Secret, TypeConfig

SmtpSecurity = Literal["none", "starttls", "tls"]
# The usual port of each security: plain SMTP, submission with STARTTLS, implicit TLS.
SMTP_DEFAULT_PORTS: dict[str, int] = {"none": 25, "starttls": 587, "tls": 465}


class SmtpConfig(TypeConfig):
    SECRETS = ("password",)
    FILES = ("ca_cert",)
    host: Host = Field(description="SMTP server host name")
    port: Annotated[int, Field(ge=1, le=65535)] | None = Field(
        None, description="default: 587 with starttls, 465 with tls, 25 with none"
    )
    security: SmtpSecurity = Field(
        "starttls", description="starttls (required, not opportunistic), tls, or none"
    )
    username: DisplayName | None = Field(None, description="AUTH user name")
    password: Secret | None = Field(None, description="AUTH password")
    verify_tls: bool = Field(True, description="check the server's certificate and name")
    ca_cert: PemCertificates | None = Field(
        None, description="PEM certificates of a private CA to trust"
    )
    max_connections: Annotated[int, Field(ge=1, le=100)] | None = Field(
        None, description="connections kept open, also the concurrency cap (default 8)"
    )

    @model_validator(mode="after")
    def _complete(self) -> SmtpConfig:
        if self.port is None:
            self.port = SMTP_DEFAULT_PORTS[self.security]
        if self.password is not None and self.username is None:
            raise ValueError("password given without username")
        return self

    @property
    def smtp_port(self) -> int:
        return self.port or SMTP_DEFAULT_PORTS[self.security]


def build(config: SmtpConfig, options: DeliveryOptions) -> SmtpProvider:
    return SmtpProvider(
        config,
        max_connections=config.max_connections or options.smtp_max_connections,
        timeout=options.smtp_timeout_seconds,
        idle_check_seconds=options.smtp_idle_check_seconds,
        egress=options.egress,
    )


async def targets(config: SmtpConfig, options: DeliveryOptions) -> Problems:
    egress, port = options.egress, config.smtp_port
    problems: Problems = []
    if not egress.smtp_port_allowed(port):
        problems.append(problem("config.port", f"must be an SMTP port: {egress.smtp_ports_text()}"))
    return problems + await address_problems("config.host", config.host, port, egress)


def summary(config: Mapping[str, Any]) -> str:
    return f"{config.get('host')}:{config.get('port')} ({config.get('security')})"


PLUGIN = ProviderPlugin(
    type="smtp",
    config_model=SmtpConfig,
    build=build,
    targets=targets,
    example={
        "host": "smtp.yourdomain.com",
        "port": 587,
        "security": "starttls",
        "username": "mailer",
        "password": "s3cret",
    },
    form=ConsoleForm(
        name="SMTP",
        blurb="Any SMTP server or relay: your own, your ISP's, or MailPass's.",
        labels={
            "verify_tls": "Verify the server's TLS certificate",
            "ca_cert": "CA certificate (PEM)",
            "max_connections": "Connections kept open",
        },
        advanced=frozenset({"verify_tls", "ca_cert", "max_connections"}),
        summary=summary,
    ),
)
