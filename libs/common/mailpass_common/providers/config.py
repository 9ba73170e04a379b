"""What a provider of each type needs, validated the same way by the REST API and the CLI.

A provider is described by common fields (name, limits, default sender, fallback order)
and a type-specific ``config``. The config mixes plain settings (host, region) with
secrets (password, API keys): :func:`validate_config` splits them, the plain part is
stored as-is and the secret part only encrypted (``CredentialCipher``). Secrets are
write-only: :func:`public_view` shows ``has_<secret>: true`` instead of a value.
"""

from __future__ import annotations

import re
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

from mailpass_common.messages.validation import DisplayName, EmailAddress, header_text
from mailpass_common.platform.db import Document

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
HOST_PATTERN = re.compile(r"^[A-Za-z0-9_.:\[\]-]{1,253}$")
REGION_PATTERN = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")


class ProviderConfigError(ValueError):
    """Invalid provider input: one ``{"field", "message"}`` per problem."""

    def __init__(self, errors: list[dict[str, str]]) -> None:
        super().__init__("; ".join(f"{e['field']}: {e['message']}" for e in errors))
        self.errors = errors


def provider_name(value: str) -> str:
    if not NAME_PATTERN.match(value):
        raise ValueError("1-64 characters: letters, digits, '_', '.' and '-', not first")
    return value


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an http(s) URL")
    return value


def _host(value: str) -> str:
    if not HOST_PATTERN.match(value):
        raise ValueError("must be a host name or IP address")
    return value


def _region(value: str) -> str:
    if not REGION_PATTERN.match(value):
        raise ValueError("must be an AWS region such as eu-west-1")
    return value


ProviderName = Annotated[str, AfterValidator(provider_name)]
SendLimit = Annotated[int, Field(gt=0, le=1_000_000_000)]
FallbackPriority = Annotated[int, Field(ge=0, le=1_000_000)]
Secret = Annotated[str, AfterValidator(header_text), Field(min_length=1, max_length=4096)]
HttpUrl = Annotated[str, AfterValidator(_http_url), Field(max_length=2048)]
Timeout = Annotated[float, Field(gt=0, le=120)]


def _pem_certificates(value: str) -> str:
    try:
        ssl.create_default_context(cadata=value)
    except (ssl.SSLError, ValueError) as exc:
        raise ValueError(f"must be PEM certificates: {exc}") from exc
    return value


class _TypeConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    # Stored only encrypted, never shown back (the CLI reads them from the environment).
    SECRETS: ClassVar[tuple[str, ...]]
    # Long texts (the CLI reads them from a file).
    FILES: ClassVar[tuple[str, ...]] = ()


SmtpSecurity = Literal["none", "starttls", "tls"]
# The usual port of each security: plain SMTP, submission with STARTTLS, implicit TLS.
SMTP_DEFAULT_PORTS: dict[str, int] = {"none": 25, "starttls": 587, "tls": 465}


class SmtpConfig(_TypeConfig):
    SECRETS = ("password",)
    FILES = ("ca_cert",)
    host: Annotated[str, AfterValidator(_host)] = Field(description="SMTP server host name")
    port: Annotated[int, Field(ge=1, le=65535)] | None = Field(
        None, description="default: 587 with starttls, 465 with tls, 25 with none"
    )
    security: SmtpSecurity = Field(
        "starttls", description="starttls (required, not opportunistic), tls, or none"
    )
    username: DisplayName | None = Field(None, description="AUTH user name")
    password: Secret | None = Field(None, description="AUTH password")
    verify_tls: bool = Field(True, description="check the server's certificate and name")
    ca_cert: Annotated[str, AfterValidator(_pem_certificates), Field(max_length=65536)] | None = (
        Field(None, description="PEM certificates of a private CA to trust")
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


class SesConfig(_TypeConfig):
    # Keys are required unless the operator lends the platform's own AWS identity
    # (SES_ALLOW_AMBIENT_CREDENTIALS, checked in delivery.targets); the endpoint is the
    # operator's too (SES_ENDPOINT_URL): see OPERATOR_ONLY.
    SECRETS = ("access_key_id", "secret_access_key", "session_token")
    region: Annotated[str, AfterValidator(_region)] = Field(description="e.g. eu-west-1")
    configuration_set: Annotated[str, Field(min_length=1, max_length=64)] | None = Field(
        None, description="SES configuration set for event publishing"
    )
    timeout: Timeout | None = Field(None, description="request timeout in seconds")
    access_key_id: Secret | None = Field(None, description="AWS access key id")
    secret_access_key: Secret | None = Field(None, description="AWS secret access key")
    session_token: Secret | None = Field(None, description="AWS session token (temporary keys)")

    @model_validator(mode="after")
    def _paired_keys(self) -> SesConfig:
        if (self.access_key_id is None) != (self.secret_access_key is None):
            raise ValueError("access_key_id and secret_access_key go together")
        return self


class SendgridConfig(_TypeConfig):
    SECRETS = ("api_key",)
    api_key: Secret = Field(description="API key with the mail.send scope")
    base_url: HttpUrl | None = Field(
        None, description="https://api.sendgrid.com (default) or https://api.eu.sendgrid.com"
    )
    timeout: Timeout | None = Field(None, description="request timeout in seconds")


class MailgunConfig(_TypeConfig):
    SECRETS = ("api_key",)
    domain: Annotated[str, AfterValidator(_host)] = Field(description="Mailgun sending domain")
    api_key: Secret = Field(description="Mailgun API key")
    base_url: HttpUrl | None = Field(
        None, description="https://api.mailgun.net (default) or https://api.eu.mailgun.net"
    )
    timeout: Timeout | None = Field(None, description="request timeout in seconds")


class MailpassConfig(_TypeConfig):
    """MailPass SMTP: delivery by MailPass itself (``mailpass_common.mta``). Nothing to
    set per provider: the delivery settings are the operator's (``MTA_*``)."""

    SECRETS = ()


# Settings that once were per provider and now belong to the operator: refused with a
# reason when given, and dropped from stored configs when a provider is updated.
OPERATOR_ONLY: dict[str, dict[str, str]] = {
    "ses": {
        "endpoint_url": "set by the operator for every SES provider (SES_ENDPOINT_URL), "
        "never per provider: the endpoint receives the signed requests",
    },
}

CONFIG_MODELS: dict[str, type[_TypeConfig]] = {
    "smtp": SmtpConfig,
    "ses": SesConfig,
    "sendgrid": SendgridConfig,
    "mailgun": MailgunConfig,
    "mailpass": MailpassConfig,
}
PROVIDER_TYPES = tuple(CONFIG_MODELS)
ProviderType = Literal["smtp", "ses", "sendgrid", "mailgun", "mailpass"]


@dataclass(frozen=True)
class ValidatedConfig:
    config: dict[str, Any]  # stored in clear
    secrets: dict[str, Any]  # stored only encrypted


def _errors(exc: ValidationError, prefix: str) -> list[dict[str, str]]:
    found = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err.get("loc", ()))
        field = ".".join(part for part in (prefix, loc) if part) or "body"
        message = str(err.get("msg", "invalid value")).removeprefix("Value error, ")
        found.append({"field": field, "message": message})
    return found


def validate_config(
    type_: str, values: Mapping[str, Any], *, prefix: str = "config"
) -> ValidatedConfig:
    """Check a complete config of ``type_`` and split it into plain settings and secrets."""
    model = CONFIG_MODELS.get(type_)
    if model is None:
        raise ProviderConfigError(
            [{"field": "type", "message": f"must be one of {', '.join(PROVIDER_TYPES)}"}]
        )
    operator_only = [
        {"field": f"{prefix}.{name}", "message": reason}
        for name, reason in OPERATOR_ONLY.get(type_, {}).items()
        if name in values
    ]
    if operator_only:
        raise ProviderConfigError(operator_only)
    try:
        checked = model.model_validate(dict(values))
    except ValidationError as exc:
        raise ProviderConfigError(_errors(exc, prefix)) from exc
    data = checked.model_dump(exclude_none=True)
    secrets = {k: data.pop(k) for k in model.SECRETS if k in data}
    return ValidatedConfig(config=data, secrets=secrets)


def merge_config(
    type_: str, config: Mapping[str, Any], secrets: Mapping[str, Any], changes: Mapping[str, Any]
) -> ValidatedConfig:
    """The config after a partial update: given keys replace, ``None`` removes a key."""
    retired = OPERATOR_ONLY.get(type_, {})
    merged = {k: v for k, v in {**config, **secrets}.items() if k not in retired}
    for key, value in changes.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return validate_config(type_, merged)


class ProviderFields(BaseModel):
    """The type-independent fields of a provider, with the mail API's address rules."""

    model_config = ConfigDict(extra="forbid")

    name: ProviderName = Field(description="unique in the account")
    # Required: the Mail Send API's from_email is optional ("default: SMTP provider
    # setting"), so a provider without one would make such requests fail.
    from_email: EmailAddress = Field(description="sender of messages that name none")
    from_name: DisplayName | None = Field(None, description="sender name of those messages")
    hourly_limit: SendLimit | None = Field(None, description="sends per UTC hour")
    daily_limit: SendLimit | None = Field(None, description="sends per UTC day")
    fallback_priority: FallbackPriority | None = Field(
        None, description="a fallback of the account's default, tried lowest first"
    )


def validate_fields(values: Mapping[str, Any]) -> ProviderFields:
    try:
        return ProviderFields.model_validate(dict(values))
    except ValidationError as exc:
        raise ProviderConfigError(_errors(exc, "")) from exc


def secret_fields(doc: Document) -> list[str]:
    return sorted(doc.get("secret_fields") or [])


def public_view(doc: Document) -> dict[str, Any]:
    """A provider document as the API and CLI show it: never a secret, only ``has_*``."""
    config = dict(doc.get("config") or {})
    model = CONFIG_MODELS.get(doc["type"])
    present = set(secret_fields(doc))
    for name in model.SECRETS if model else ():
        config[f"has_{name}"] = name in present
    return {
        "id": doc["_id"],
        "name": doc["name"],
        "type": doc["type"],
        # bool(): nx-27017 returns a boolean written by $set as 0/1.
        "is_default": bool(doc.get("is_default")),
        "config": config,
        "from_email": doc.get("from_email"),
        "from_name": doc.get("from_name"),
        "hourly_limit": doc.get("hourly_limit"),
        "daily_limit": doc.get("daily_limit"),
        "fallback_priority": doc.get("fallback_priority"),
        "version": int(doc.get("version") or 1),
        "created_at": doc.get("created_at"),
        "updated_at": doc.get("updated_at") or doc.get("created_at"),
        "last_check": last_check(doc),
    }


def last_check(doc: Document) -> dict[str, Any] | None:
    """The provider's last check (``ok``, the provider's reply as ``error``, ``checked_at``)."""
    if doc.get("last_check_at") is None:
        return None
    ok = bool(doc.get("last_check_ok"))  # bool(): nx-27017 reads a $set boolean as 0/1
    return {
        "ok": ok,
        "error": None if ok else doc.get("last_check_error"),
        "checked_at": doc.get("last_check_at"),
    }
