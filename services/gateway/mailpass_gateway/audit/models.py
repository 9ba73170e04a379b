"""Query parameters and responses of ``GET /api/v1/audit-events``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from mailpass_common.audit.query import MAX_PAGE


def _utc(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


class AuditQuery(BaseModel):
    """Filters of the log; each narrows it, and all apply together."""

    model_config = ConfigDict(extra="forbid")

    actor_type: Literal["key", "user", "admin", "system"] | None = Field(
        None, description="Only changes by this kind of actor"
    )
    actor_id: Annotated[str, Field(min_length=1, max_length=200)] | None = Field(
        None, description="Only changes by this actor (an API key's id, a user's id)"
    )
    resource_type: Annotated[str, Field(min_length=1, max_length=50)] | None = Field(
        None, description="Only changes of this kind of resource (provider, domain, key, …)"
    )
    resource_id: Annotated[str, Field(min_length=1, max_length=300)] | None = Field(
        None, description="Only changes of this resource"
    )
    action: Annotated[str, Field(min_length=1, max_length=100)] | None = Field(
        None, description="Only this action (e.g. `provider.updated`)"
    )
    since: datetime | None = Field(
        None, description="Recorded at or after this time (ISO 8601; UTC when no offset)"
    )
    until: datetime | None = Field(
        None, description="Recorded before this time (ISO 8601; UTC when no offset)"
    )
    limit: Annotated[int, Field(ge=1, le=MAX_PAGE)] = Field(50, description="Entries per page")
    cursor: Annotated[str, Field(max_length=100)] | None = Field(
        None, description="`next_cursor` of the previous page"
    )

    _as_utc = field_validator("since", "until")(_utc)


class AuditActor(BaseModel):
    type: str = Field(description="key, user, admin (the platform team) or system")
    id: str


class AuditResource(BaseModel):
    type: str
    id: str


class AuditSource(BaseModel):
    ip: str | None
    user_agent: str | None


class AuditEventView(BaseModel):
    id: str
    action: str = Field(description="`<resource>.<verb>`, e.g. `provider.updated`")
    actor: AuditActor
    resource: AuditResource
    before: Any = Field(description="The resource before the change (secrets redacted)")
    after: Any = Field(description="The resource after the change (secrets redacted)")
    source: AuditSource
    created_at: str = Field(description="When it was recorded (UTC, RFC 3339)")


class AuditEventPage(BaseModel):
    audit_events: list[AuditEventView] = Field(description="Newest first")
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null at the end"
    )


class AuditEventListResponse(BaseModel):
    success: bool = True
    data: AuditEventPage
