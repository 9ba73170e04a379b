"""Bodies and responses of the admin API."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, EmailStr, Field

Name = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][\w.-]*$")]
Limit = Annotated[int, Field(ge=1, le=10_000_000)]


class AccountCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name = Field(description="Unique; letters, digits, '.', '_' and '-'")


class LimitsBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    hourly: Limit | None = Field(None, description="Messages an hour per new provider; null: none")
    daily: Limit | None = Field(None, description="Messages a day per new provider; null: none")


class InvitationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: EmailStr


class AccountView(BaseModel):
    id: str
    name: str
    suspended: bool
    suspended_at: str | None
    default_limits: dict[str, int | None]
    created_at: str | None


class AccountResponse(BaseModel):
    success: bool = True
    data: AccountView


class AccountPage(BaseModel):
    accounts: list[AccountView]
    next_cursor: str | None


class AccountListResponse(BaseModel):
    success: bool = True
    data: AccountPage


class UsageDay(BaseModel):
    day: str
    counts: dict[str, int] = Field(description="accepted, sent, failed, pending, deferred, …")
    capped: bool


class UsageResponse(BaseModel):
    success: bool = True
    data: dict[str, Any]


class InvitationView(BaseModel):
    id: str
    email: str
    role: str
    url: str = Field(
        description="The console page that accepts it (CONSOLE_PUBLIC_URL + path; a path "
        "alone when that is unset): shown once, pass it to the invited person"
    )
    expires_at: str
    mailed: bool = Field(
        description="Whether it was mailed through the platform's account "
        "(CONSOLE_MAIL_ACCOUNT); when false, pass the link on yourself"
    )


class InvitationResponse(BaseModel):
    success: bool = True
    data: InvitationView
