"""Request and response bodies of the provider administration API.

``config`` holds the type's own fields, secrets included on the way in (see
``mailpass_common.providers.config``); on the way out secrets appear only as ``has_<name>``.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, JsonValue, field_validator

from mailpass_common.messages.validation import DisplayName, EmailAddress
from mailpass_common.providers.config import (
    FallbackPriority,
    ProviderFields,
    ProviderName,
    SendLimit,
)
from mailpass_common.providers.registry import PLUGINS, PROVIDER_TYPES
from mailpass_gateway.dates import ApiDateTime

SMTP_EXAMPLE: dict[str, JsonValue] = {
    "name": "main-relay",
    "type": "smtp",
    "config": dict(PLUGINS["smtp"].example),
    "is_default": True,
    "hourly_limit": 1000,
    "daily_limit": 20000,
    "from_email": "support@yourdomain.com",
    "from_name": "Your App",
}
CONFIG_EXAMPLES: dict[str, JsonValue] = {
    type_: dict(plugin.example) for type_, plugin in PLUGINS.items() if type_ != "smtp"
}
# What each type's config takes, for the API's documentation.
CONFIG_FIELDS = "By type: " + "; ".join(
    f"{type_} {{{', '.join(plugin.config_model.model_fields)}}}"
    for type_, plugin in PLUGINS.items()
)
COMMON_FIELDS = (
    "name",
    "from_email",
    "from_name",
    "hourly_limit",
    "daily_limit",
    "fallback_priority",
)


class ProviderCreate(ProviderFields):
    """A new provider. ``config`` holds its type's fields (see ``config``'s description).
    Hosts must resolve to public addresses and SMTP ports be 25, 465, 587 or 2525 (unless
    the operator allows more); base URLs are the API's official hosts; SES needs its own
    access keys. A destination refused is a VALIDATION_ERROR naming the field."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                SMTP_EXAMPLE,
                *[
                    {"name": f"{type_}-main", "type": type_, "config": config}
                    for type_, config in CONFIG_EXAMPLES.items()
                ],
            ]
        },
    )

    type: str = Field(json_schema_extra={"enum": list(PROVIDER_TYPES)})
    config: dict[str, Any] = Field(description=CONFIG_FIELDS)
    is_default: bool = False

    @field_validator("type")
    @classmethod
    def _known_type(cls, value: str) -> str:
        if value not in PLUGINS:
            raise ValueError(f"must be one of {', '.join(PROVIDER_TYPES)}")
        return value


class ProviderUpdate(BaseModel):
    """Only the fields sent change; ``null`` clears an optional field. In ``config``, given
    keys replace the stored ones (secrets too: they can be replaced, never read back) and
    ``null`` removes one."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"hourly_limit": 500, "config": {"password": "new-s3cret"}}]
        },
    )

    name: ProviderName | None = None
    type: str | None = None
    config: dict[str, Any] | None = None
    from_email: EmailAddress | None = None
    from_name: DisplayName | None = None
    hourly_limit: SendLimit | None = None
    daily_limit: SendLimit | None = None
    fallback_priority: FallbackPriority | None = None
    is_default: bool | None = None

    @field_validator("name")
    @classmethod
    def _name_required(cls, value: str | None) -> str | None:
        if value is None:
            raise ValueError("must not be null")
        return value

    @field_validator("type")
    @classmethod
    def _type_fixed(cls, value: str | None) -> str | None:
        raise ValueError("a provider's type cannot change: create a new provider")

    @field_validator("is_default")
    @classmethod
    def _only_set_default(cls, value: bool | None) -> bool | None:
        if value is not True:
            raise ValueError("only true: make another provider the default, or delete this one")
        return value

    def common_changes(self) -> dict[str, Any]:
        return {f: getattr(self, f) for f in COMMON_FIELDS if f in self.model_fields_set}


class LastCheck(BaseModel):
    ok: bool
    error: str | None = Field(description="The provider's reply when ok is false")
    checked_at: ApiDateTime


class ProviderView(BaseModel):
    id: str
    name: str
    type: str
    is_default: bool
    config: dict[str, Any]
    from_email: str | None
    from_name: str | None
    hourly_limit: int | None
    daily_limit: int | None
    fallback_priority: int | None
    version: int
    created_at: ApiDateTime
    updated_at: ApiDateTime
    last_check: LastCheck | None = Field(
        description="The last POST /{id}/test (or the console's Send test), if any"
    )


class ProviderResponse(BaseModel):
    success: bool = True
    data: ProviderView


class ProviderPage(BaseModel):
    providers: list[ProviderView] = Field(description="Providers in the order they were created")
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null at the end"
    )


class ProviderListResponse(BaseModel):
    success: bool = True
    data: ProviderPage


class ProviderCheck(BaseModel):
    ok: bool
    error: str | None = None  # the provider's reply when ok is false


class ProviderCheckResponse(BaseModel):
    success: bool = True
    data: ProviderCheck
