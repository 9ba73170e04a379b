"""Routes of the members API (``members`` permission, live keys): an account's console
users and invitations. A key acts as an admin: it manages every role but owner. The
rules are the service's (:mod:`mailpass_gateway.members.service`), shared with the
console's Members page."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Response

from mailpass_common.platform.errors import ErrorCode
from mailpass_common.tenants import invitations
from mailpass_common.tenants.api_keys import ApiKeyRecord, Permission
from mailpass_common.tenants.members import Role
from mailpass_gateway.bodies import after_key, model_schema, openapi_json_body
from mailpass_gateway.deps import Db, Providers, Publisher, Settings, require
from mailpass_gateway.errors import ApiError
from mailpass_gateway.mail.responses import error_responses, resource_router
from mailpass_gateway.members import service
from mailpass_gateway.members.models import (
    CreatedInvitation,
    CreatedInvitationResponse,
    InvitationCreate,
    InvitationView,
    MemberResponse,
    MembersPage,
    MembersResponse,
    MemberView,
    RoleChange,
)
from mailpass_gateway.members.service import Manager

router = resource_router("/api/v1/members", "members")

MembersKey = Annotated[
    ApiKeyRecord,
    Depends(
        require(
            Permission.MEMBERS,
            refused_to_test_keys="A test API key cannot manage the account's people: use a "
            "live key.",
        )
    ),
]
InviteBody = Annotated[InvitationCreate, Depends(after_key(InvitationCreate))]
RoleBody = Annotated[RoleChange, Depends(after_key(RoleChange))]


def _manager(key: ApiKeyRecord) -> Manager:
    return Manager(key.account_id, Role.ADMIN.value, f"key:{key.key_hash[:12]}")


@router.get("", response_model=MembersResponse, summary="The account's members and invitations")
async def list_members(key: MembersKey, db: Db) -> MembersResponse:
    found = await service.member_list(db, key.account_id)
    pending = await invitations.list_invitations(db, key.account_id)
    return MembersResponse(
        data=MembersPage(
            members=[MemberView.model_validate(m) for m in found],
            invitations=[
                InvitationView.model_validate(invitations.invitation_view(d)) for d in pending
            ],
        )
    )


@router.post(
    "/invitations",
    status_code=201,
    response_model=CreatedInvitationResponse,
    summary="Invite someone by email; mailed through the platform's account when configured",
    openapi_extra=openapi_json_body(model_schema(InvitationCreate)),
    responses=error_responses(ErrorCode.MEMBER_EXISTS),
)
async def invite(
    request: Request,
    key: MembersKey,
    body: InviteBody,
    db: Db,
    settings: Settings,
    providers: Providers,
    publisher: Publisher,
) -> CreatedInvitationResponse:
    invited = await service.invite(
        db,
        settings,
        providers,
        publisher,
        _manager(key),
        email=body.email,
        role=body.role.value,
        base_url=str(request.base_url).rstrip("/"),
    )
    made = invited.invitation
    view = InvitationView(
        id=made.id,
        email=made.email,
        role=made.role,
        invited_by=made.invited_by,
        created_at=made.created_at,
        expires_at=made.expires_at,
    )
    return CreatedInvitationResponse(
        data=CreatedInvitation(**view.model_dump(), link=invited.link, mailed=invited.mailed)
    )


@router.delete(
    "/invitations/{invitation_id}",
    status_code=204,
    response_class=Response,
    summary="Withdraw a pending invitation: its link stops working",
)
async def withdraw(invitation_id: str, key: MembersKey, db: Db) -> Response:
    await service.revoke_invitation(db, _manager(key), invitation_id)
    return Response(status_code=204)


async def _member(db: Db, account_id: str, user_id: str) -> MemberView:
    found = next(
        (m for m in await service.member_list(db, account_id) if m["user_id"] == user_id), None
    )
    if found is None:
        raise ApiError(ErrorCode.NOT_FOUND, "No such member in this account")
    return MemberView.model_validate(found)


@router.patch(
    "/{user_id}",
    response_model=MemberResponse,
    summary="Change a member's role (applies on their next console page)",
    openapi_extra=openapi_json_body(model_schema(RoleChange)),
    responses=error_responses(ErrorCode.LAST_OWNER),
)
async def change_role(user_id: str, key: MembersKey, body: RoleBody, db: Db) -> MemberResponse:
    await service.change_role(db, _manager(key), user_id, body.role.value)
    return MemberResponse(data=await _member(db, key.account_id, user_id))


@router.delete(
    "/{user_id}",
    status_code=204,
    response_class=Response,
    summary="Remove a member from the account: their sessions in it end at once",
    responses=error_responses(ErrorCode.LAST_OWNER),
)
async def remove(user_id: str, key: MembersKey, db: Db) -> Response:
    await service.remove(db, _manager(key), user_id)
    return Response(status_code=204)
