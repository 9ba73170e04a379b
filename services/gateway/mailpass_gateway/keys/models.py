"""Request and response bodies of the API key administration API."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from mailpass_common.messages.validation import header_text
from mailpass_common.tenants.api_keys import Permission
from mailpass_gateway.dates import ApiDateTime


class KeyCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"name": "billing-service", "permissions": ["mail"]}]},
    )

    name: Annotated[str, AfterValidator(header_text), Field(max_length=100)] = ""
    permissions: Annotated[list[Permission], Field(min_length=1, max_length=len(Permission))]
    # A test key (mp_test_) runs the whole pipeline but delivers only to the sandbox.
    test: bool = False


class KeyView(BaseModel):
    """A key as listed: its public id and display prefix, never the key or its hash."""

    id: str | None
    prefix: str
    name: str
    permissions: list[str]
    test: bool
    revoked: bool
    created_at: ApiDateTime
    last_used_at: ApiDateTime | None
    revoked_at: ApiDateTime | None


class CreatedKey(KeyView):
    key: str  # shown this once: only its hash is stored


class KeyResponse(BaseModel):
    success: bool = True
    data: KeyView


class CreatedKeyResponse(BaseModel):
    success: bool = True
    data: CreatedKey


class KeyPage(BaseModel):
    keys: list[KeyView] = Field(description="Keys in the order they were created")
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null at the end"
    )


class KeyListResponse(BaseModel):
    success: bool = True
    data: KeyPage
