"""Request and response bodies of the members API."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from mailpass_common.messages.validation import email_address
from mailpass_common.tenants.members import Role
from mailpass_gateway.dates import ApiDateTime


class InvitationCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"email": "ada@example.com", "role": "developer"}]},
    )

    email: Annotated[str, AfterValidator(email_address), Field(max_length=320)]
    role: Role


class RoleChange(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"role": "admin"}]})

    role: Role


class MemberView(BaseModel):
    user_id: str
    email: str
    name: str
    role: str
    disabled: bool
    joined_at: ApiDateTime | None


class InvitationView(BaseModel):
    """A pending invitation: never its token."""

    id: str
    email: str
    role: str
    invited_by: str | None
    created_at: ApiDateTime
    expires_at: ApiDateTime


class CreatedInvitation(InvitationView):
    link: str = Field(description="The link that accepts it: in this response only")
    mailed: bool = Field(description="Whether it was mailed through the platform's account")


class MembersPage(BaseModel):
    members: list[MemberView] = Field(description="Owners first, then by role and address")
    invitations: list[InvitationView] = Field(description="Pending invitations, oldest first")


class MembersResponse(BaseModel):
    success: bool = True
    data: MembersPage


class MemberResponse(BaseModel):
    success: bool = True
    data: MemberView


class CreatedInvitationResponse(BaseModel):
    success: bool = True
    data: CreatedInvitation
