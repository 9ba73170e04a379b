"""What every provider has whatever its type, validated the same way by the REST API, the
CLI and the console.

A provider is described by common fields (name, limits, default sender, fallback order)
and a type-specific ``config`` (its type's model: ``mailpass_common.providers.types``).
The config mixes plain settings (host, region) with secrets (password, API keys):
``registry.validate_config`` splits them, the plain part is stored as-is and the secret
part only encrypted (``CredentialCipher``). Secrets are write-only: ``registry.public_view``
shows ``has_<secret>: true`` instead of a value.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from mailpass_common.messages.validation import DisplayName, EmailAddress
from mailpass_common.providers.models import ProviderDocument

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class ProviderConfigError(ValueError):
    """Invalid provider input: one ``{"field", "message"}`` per problem."""

    def __init__(self, errors: list[dict[str, str]]) -> None:
        super().__init__("; ".join(f"{e['field']}: {e['message']}" for e in errors))
        self.errors = errors


def provider_name(value: str) -> str:
    if not NAME_PATTERN.match(value):
        raise ValueError("1-64 characters: letters, digits, '_', '.' and '-', not first")
    return value


ProviderName = Annotated[str, AfterValidator(provider_name)]
SendLimit = Annotated[int, Field(gt=0, le=1_000_000_000)]
FallbackPriority = Annotated[int, Field(ge=0, le=1_000_000)]


@dataclass(frozen=True)
class ValidatedConfig:
    config: dict[str, Any]  # stored in clear
    secrets: dict[str, Any]  # stored only encrypted


def config_errors(exc: ValidationError, prefix: str) -> list[dict[str, str]]:
    found = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err.get("loc", ()))
        field = ".".join(part for part in (prefix, loc) if part) or "body"
        message = str(err.get("msg", "invalid value")).removeprefix("Value error, ")
        found.append({"field": field, "message": message})
    return found


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
        raise ProviderConfigError(config_errors(exc, "")) from exc


def secret_fields(doc: ProviderDocument) -> list[str]:
    return sorted(doc.get("secret_fields") or [])


def last_check(doc: ProviderDocument) -> dict[str, Any] | None:
    """The provider's last check (``ok``, the provider's reply as ``error``, ``checked_at``)."""
    if doc.get("last_check_at") is None:
        return None
    ok = bool(doc.get("last_check_ok"))  # bool(): nx-27017 reads a $set boolean as 0/1
    return {
        "ok": ok,
        "error": None if ok else doc.get("last_check_error"),
        "checked_at": doc.get("last_check_at"),
    }
