"""Roles granted by the identity provider's groups (``CONSOLE_OIDC_GROUP_ROLES``).

Each entry reads ``group=account:role``. At every sign-in through the provider, the
groups in the ID token decide the memberships they grant: one is made (with its user, on
the first sign-in) for each account a group names, with the highest role any of the
person's groups grants there; a membership a group granted before and no group grants
now is taken away. Memberships from invitations are left as they are, except that a
group granting a higher role raises them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from mailpass_common.platform.db import Database, Document
from mailpass_common.tenants import accounts, console_auth, members
from mailpass_common.tenants.members import Role

RANK = {role: rank for rank, role in enumerate(reversed(list(Role)))}  # viewer 0 ... owner 3


def granted(entries: list[str], groups: list[str]) -> dict[str, str]:
    """Account name -> the highest role the person's groups grant there."""
    grants: dict[str, str] = {}
    for entry in entries:
        group, _, grant = entry.partition("=")
        account, _, role = grant.rpartition(":")
        if group not in groups:
            continue
        if account not in grants or RANK[Role(role)] > RANK[Role(grants[account])]:
            grants[account] = role
    return grants


async def apply_group_roles(
    db: Database,
    entries: list[str],
    groups: list[str],
    user: Document | None,
    new_user: Callable[[], Awaitable[Document | None]],
) -> Document | None:
    """Bring the user's group memberships in line with ``groups``; the user (made when a
    group grants something and there is none yet)."""
    grants = granted(entries, groups)
    if user is None:
        if not grants:
            return None
        user = await new_user()
        if user is None:
            return None
    current = {m["account_id"]: m for m in await members.memberships(db, user["_id"])}
    wanted: dict[str, str] = {}
    for name, role in grants.items():
        account = await accounts.get_account_by_name(db, name)
        if account is not None:
            wanted[account["_id"]] = role
    for account_id, role in wanted.items():
        found = current.get(account_id)
        if found is None or found.get("source") == "group":
            await members.add_member(db, account_id, user["_id"], role, source="group")
        elif RANK[Role(role)] > RANK[Role(found["role"])]:
            await members.change_role(db, account_id, user["_id"], role)
    for account_id, found in current.items():
        if found.get("source") == "group" and account_id not in wanted:
            try:
                await members.remove_member(db, account_id, user["_id"])
            except members.LastOwner:
                continue  # the account keeps its only owner until another is made
            await console_auth.end_user_sessions(db, user["_id"], account_id)
    return user
