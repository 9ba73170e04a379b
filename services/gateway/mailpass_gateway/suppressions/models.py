"""Request and response bodies of the suppression list API."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from mailpass_common.messages.validation import EmailAddress, header_text
from mailpass_gateway.dates import ApiDateTime


class SuppressionCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"address": "user@example.com", "note": "asked us"}]},
    )

    address: EmailAddress
    note: Annotated[str, AfterValidator(header_text), Field(max_length=500)] = Field(
        "", description="Why it was added, kept as the entry's detail"
    )


class SuppressionView(BaseModel):
    address: str = Field(description="Lower-cased")
    reason: Literal["bounce", "complaint", "manual", "unsubscribed"]
    source: str = Field(
        description="Who reported it: a provider type through its event hook (ses, sendgrid, "
        "...), smtp (refused at delivery), dsn or arf (a bounce or complaint report mailed "
        "back), unsubscribe (the recipient's link), api or console"
    )
    message_id: str | None = Field(description="The message that caused it, when known")
    detail: str = Field(description="The provider's reply, or the note it was added with")
    created_at: ApiDateTime


class SuppressionResponse(BaseModel):
    success: bool = True
    data: SuppressionView


class SuppressionPage(BaseModel):
    suppressions: list[SuppressionView] = Field(description="In address order")
    next_cursor: str | None = Field(description="Pass as `after` for the next page")


class SuppressionListResponse(BaseModel):
    success: bool = True
    data: SuppressionPage


class Removed(BaseModel):
    address: str
    removed: Literal[True] = True


class RemovedResponse(BaseModel):
    success: bool = True
    data: Removed
