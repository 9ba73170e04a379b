"""Settings shared by every service, read from the environment (pydantic-settings).

Each service subclasses :class:`CommonSettings` with its own fields, so one image runs
everywhere and a test builds a service from an explicit settings object.

Production settings fail closed: unless ``ENVIRONMENT=development`` is set explicitly,
every service and the CLI refuse to start without a ``SECRET_KEY`` of at least 32 bytes
(:func:`load_settings` says why and exits), so a deployment that sets nothing never runs
with the public development secret, under which anyone could forge tracking links and
decrypt stored provider credentials. ``SECRET_KEY_PREVIOUS`` lists keys being rotated
out: they still verify tracking links and decrypt credentials, never sign or encrypt
(``mailpass secrets rotate`` re-encrypts credentials under the current key).
"""

from __future__ import annotations

import sys
import urllib.parse
from typing import Annotated, Any, TypeVar

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from mailpass_common.platform.amqp_nodes import node_urls
from mailpass_common.platform.egress import EgressPolicy, parse_networks, parse_port_ranges
from mailpass_common.platform.nameservers import parse_nameservers

DEVELOPMENT = "development"
DEV_SECRET = "dev-only-secret-change-me"
MIN_SECRET_BYTES = 32

CommaList = Annotated[list[str], NoDecode]


def with_password(url: str, password: str) -> str:
    """``url`` with ``password`` in its user part, percent-encoded (any character may be in
    a generated password); ValueError when the URL names no user or has a password."""
    scheme, sep, rest = url.partition("://")
    userinfo, at, hostpart = rest.rpartition("@")
    if not sep or not at or not userinfo:
        raise ValueError(f"{scheme or 'the'} URL must name a user to take a separate password")
    if ":" in userinfo:
        raise ValueError(f"{scheme} URL has a password already: give it in one place")
    return f"{scheme}://{userinfo}:{urllib.parse.quote(password, safe='')}@{hostpart}"


def _split(value: Any) -> Any:
    """Comma-separated in the environment (``A,B``); a list when given in code."""
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


class CommonSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", extra="ignore", frozen=True)

    # Only "development" relaxes the secret rule; anything else, or nothing, is production.
    environment: str = Field(default="production", description="production | development")
    mongodb_url: str = "mongodb://127.0.0.1:27017/?directConnection=true"
    mongodb_database: str = "mailpass"
    # Several nodes of one cluster: `amqp://user:pass@host1:5672,host2:5672,host3/vhost` (the
    # credentials, vhost and query shared); each process starts at a random one and fails
    # over to the next when a node stops answering (mailpass_common.platform.amqp_nodes).
    amqp_url: str = "amqp://guest:guest@127.0.0.1:5672/"
    # Passwords kept apart from their URLs (e.g. from a Secret made by a database chart or
    # operator): put into the URL's user part, percent-encoded, when set (the URL must then
    # name a user and no password).
    mongodb_password: SecretStr | None = None
    amqp_password: SecretStr | None = None
    # Prefixes every exchange and queue name, so several installations (or test runs)
    # can share one RabbitMQ virtual host without seeing each other's jobs.
    amqp_prefix: str = "mailpass"
    # Signs tracking links and derives the key that encrypts provider credentials.
    secret_key: SecretStr = SecretStr(DEV_SECRET)
    # Old keys while rotating, newest first: they verify and decrypt, never sign or
    # encrypt. No length rule: moving off a weak key is what rotation is for.
    secret_key_previous: Annotated[list[SecretStr], NoDecode] = Field(default_factory=list)
    message_id_domain: str = "mailpass.local"
    log_level: str = "INFO"
    # API keys, provider documents and account settings are kept in process this long:
    # a revocation or a provider change takes effect within it (see mailpass_common.platform.cache).
    cache_ttl_seconds: float = Field(default=5.0, ge=0, le=60)
    # How long a service keeps retrying its first connection to MongoDB and RabbitMQ.
    startup_timeout_seconds: float = 60.0
    # Data retention (see mailpass_common.messages.retention): message bodies (html, text) are
    # purged this many days after the message was accepted, and the messages themselves
    # and their events deleted after the second period (TTL indexes). 0 keeps them.
    message_retention_days: float = Field(default=30.0, ge=0)
    message_metadata_retention_days: float = Field(default=90.0, ge=0)
    # The audit log's entries are deleted this long after they were written (a TTL index
    # on MongoDB; 0 keeps them for ever). A year covers most compliance reviews.
    audit_retention_days: float = Field(default=365.0, ge=0)

    # Where tenants' providers may connect (see mailpass_common.platform.egress): networks
    # allowed besides public addresses (CIDRs, e.g. an in-cluster relay), SMTP ports besides
    # 25, 465, 587 and 2525 (ports or ranges), and API hosts besides the HTTP API types'
    # official ones. The dev stack and the tests allow loopback.
    provider_allowed_networks: CommaList = Field(default_factory=list)
    provider_allowed_smtp_ports: CommaList = Field(default_factory=list)
    provider_allowed_api_hosts: CommaList = Field(default_factory=list)
    # Webhook URLs must be https unless this is set (the tests' local receivers); their
    # addresses obey the same egress policy as providers'.
    webhook_allow_http: bool = False
    # Webhook endpoints an account may have (live and sandbox together): each endpoint
    # multiplies every event into one more signed request (and its retries).
    webhook_max_endpoints_per_account: int = Field(default=20, ge=1, le=1000)
    # SES providers without their own keys may send as the platform's AWS identity
    # (IRSA, instance role): only for an installation whose tenants the operator trusts.
    ses_allow_ambient_credentials: bool = False
    # The SES endpoint of every SES provider, e.g. a local moto server; AWS's by default.
    ses_endpoint_url: str | None = None

    # MailPass's own delivery (the `mailpass` provider type, mailpass_common.mta): the name
    # it greets receiving servers with (EHLO; it should resolve to the sending address and
    # back), the domain of the signed VERP return path (its MX is mailpass-inbound), the
    # DNS servers it asks (`host[:port]`, comma-separated; empty: the system resolver), and
    # the port it delivers to, 25 as RFC 5321 says: another only with ENVIRONMENT=development
    # (the dev stack's and the tests' receiving servers).
    mta_helo_hostname: str = ""
    mta_return_path_domain: str = ""
    mta_dns_nameservers: CommaList = Field(default_factory=list)
    mta_smtp_port: int = Field(default=25, ge=1, le=65535)

    @model_validator(mode="after")
    def _passwords_into_urls(self) -> CommonSettings:
        for url_field, password_field in (
            ("mongodb_url", "mongodb_password"),
            ("amqp_url", "amqp_password"),
        ):
            password = getattr(self, password_field)
            if password is not None:
                url = with_password(getattr(self, url_field), password.get_secret_value())
                object.__setattr__(self, url_field, url)  # frozen: set once, while validating
                object.__setattr__(self, password_field, None)
        node_urls(self.amqp_url)  # a malformed node list fails at start, not at connection
        return self

    @field_validator(
        "secret_key_previous",
        "provider_allowed_networks",
        "provider_allowed_smtp_ports",
        "provider_allowed_api_hosts",
        "mta_dns_nameservers",
        mode="before",
    )
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        return _split(value)

    @field_validator("provider_allowed_networks")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        parse_networks(value)  # a ValueError names the bad entry
        return value

    @field_validator("provider_allowed_smtp_ports")
    @classmethod
    def _ports(cls, value: list[str]) -> list[str]:
        parse_port_ranges(value)
        return value

    @field_validator("mta_dns_nameservers")
    @classmethod
    def _nameservers(cls, value: list[str]) -> list[str]:
        parse_nameservers(value)  # a ValueError names the bad entry
        return value

    @model_validator(mode="after")
    def _mta_port_25_outside_development(self) -> CommonSettings:
        if self.mta_smtp_port != 25 and self.environment != DEVELOPMENT:
            raise ValueError(
                f"MTA_SMTP_PORT={self.mta_smtp_port}: receiving mail servers listen on 25; "
                f"another port only with ENVIRONMENT={DEVELOPMENT}"
            )
        return self

    @model_validator(mode="after")
    def _refuse_weak_secret_outside_development(self) -> CommonSettings:
        if self.environment == DEVELOPMENT:
            return self
        secret = self.secret_key.get_secret_value()
        advice = (
            f"set a SECRET_KEY of at least {MIN_SECRET_BYTES} bytes (e.g. `openssl rand "
            f"-base64 48`), or ENVIRONMENT={DEVELOPMENT} on a development machine"
        )
        if secret == DEV_SECRET:
            raise ValueError(f"SECRET_KEY is not set (ENVIRONMENT={self.environment}): {advice}")
        if len(secret.encode()) < MIN_SECRET_BYTES:
            raise ValueError(f"SECRET_KEY is shorter than {MIN_SECRET_BYTES} bytes: {advice}")
        return self

    def previous_secrets(self) -> tuple[str, ...]:
        return tuple(key.get_secret_value() for key in self.secret_key_previous)

    def egress_policy(self) -> EgressPolicy:
        return EgressPolicy(
            allowed_networks=parse_networks(self.provider_allowed_networks),
            extra_smtp_ports=parse_port_ranges(self.provider_allowed_smtp_ports),
            extra_api_hosts=frozenset(h.lower() for h in self.provider_allowed_api_hosts),
        )

    @model_validator(mode="after")
    def _bodies_go_before_metadata(self) -> CommonSettings:
        bodies, metadata = self.message_retention_days, self.message_metadata_retention_days
        if metadata and (not bodies or bodies > metadata):
            raise ValueError(
                "MESSAGE_RETENTION_DAYS must be set and at most MESSAGE_METADATA_RETENTION_DAYS"
            )
        return self


class ServiceSettings(CommonSettings):
    """A long-running service: it also serves the management port (see ``management``).

    Each service sets its own default port: gateway 9100, sender 9101, tracker 9102,
    the scheduler's dev loop 9103. 0 binds any free port (tests).
    """

    management_host: str = "127.0.0.1"
    management_port: int
    # Bounds of the public HTTP listener (mailpass_common.platform.http_listener): the time a
    # client has to send a request's headers, connections open per process, and how long
    # an idle kept-alive connection stays.
    http_header_timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    http_max_connections: int = Field(default=1000, ge=1)
    http_keep_alive_seconds: int = Field(default=5, ge=1, le=600)


SettingsT = TypeVar("SettingsT", bound=CommonSettings)


def load_settings(settings_class: type[SettingsT], program: str) -> SettingsT:
    """Settings from the environment, or a short explanation on stderr and exit code 2.

    Only the problems are printed, never the values read (they hold secrets and URLs
    with passwords), which pydantic's own error text would show.
    """
    try:
        return settings_class()
    except ValidationError as exc:
        for error in exc.errors(include_url=False, include_input=False):
            variable = "_".join(str(part) for part in error["loc"]).upper()
            message = str(error["msg"]).removeprefix("Value error, ")
            where = f"{variable}: " if variable else ""
            print(f"{program}: configuration refused: {where}{message}", file=sys.stderr)
        raise SystemExit(2) from None
