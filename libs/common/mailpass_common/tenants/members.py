"""Memberships: which user is in which account, with which role.

A role is a named set of the API keys' permissions (:class:`Permission`), so the console
and the API check one thing, whoever is asking:

========== ===============================================================
owner      everything, including making and removing owners
admin      everything but touching owners (members, keys, providers, ...)
developer  send, templates, webhooks; sees everything else, changes nothing
viewer     sees everything, changes nothing
========== ===============================================================

A membership's ``_id`` is ``<account_id>/<user_id>``, so a user is in an account at most
once and the console's check on every request is one read by ``_id``.

An account never loses its last owner: a demotion or removal of an owner is made, then
the account's owners are counted, and if none is left the change is undone and refused.
Two owners demoting each other at once may both be refused (each sees the other's
change); neither can leave the account without one.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum

from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from mailpass_common.platform.db import Collections, Database, Document, where
from mailpass_common.tenants.api_keys import Permission


class Role(StrEnum):
    OWNER = "owner"
    ADMIN = "admin"
    DEVELOPER = "developer"
    VIEWER = "viewer"


ROLE_PERMISSIONS: dict[Role, frozenset[str]] = {
    Role.OWNER: frozenset(Permission),
    Role.ADMIN: frozenset(Permission),
    Role.DEVELOPER: frozenset(
        {Permission.CONSOLE, Permission.MAIL, Permission.TEMPLATES, Permission.WEBHOOKS}
    ),
    Role.VIEWER: frozenset({Permission.CONSOLE}),
}

ROLE_HELP = {
    Role.OWNER: "everything, including managing owners",
    Role.ADMIN: "everything but managing owners: members, keys, providers, domains",
    Role.DEVELOPER: "send, templates and webhooks; reads everything else",
    Role.VIEWER: "reads everything, changes nothing",
}


def permissions_of(role: str) -> frozenset[str]:
    """The permissions a role grants; none for a role this version does not know."""
    try:
        return ROLE_PERMISSIONS[Role(role)]
    except ValueError:
        return frozenset()


def may_assign(actor_role: str, role: str) -> bool:
    """Whether a member with ``actor_role`` may give (or take away) ``role``: owners any,
    admins any but owner, others none."""
    if actor_role == Role.OWNER:
        return True
    return actor_role == Role.ADMIN and role != Role.OWNER


class LastOwner(Exception):
    """The change would leave the account without an owner."""


def member_id(account_id: str, user_id: str) -> str:
    return f"{account_id}/{user_id}"


async def add_member(
    db: Database, account_id: str, user_id: str, role: str, *, source: str = "invitation"
) -> Document:
    """Put a user in an account with ``role`` (an existing membership takes the new role).
    ``source``: "invitation", "group" (granted by the identity provider's groups) or "cli"."""
    # An insert, then an update when the membership exists: nx-27017's upserting
    # ``find_one_and_update`` drops ``$setOnInsert`` fields (``update_one`` keeps them).
    doc: Document = {
        "_id": member_id(account_id, user_id),
        "account_id": account_id,
        "user_id": user_id,
        "role": Role(role).value,
        "source": source,
        "created_at": datetime.now(UTC),
    }
    try:
        await db[Collections.MEMBERS].insert_one(doc)
    except DuplicateKeyError:
        found = await db[Collections.MEMBERS].find_one_and_update(
            {"_id": doc["_id"]},
            {"$set": {"role": doc["role"], "source": source}},
            return_document=ReturnDocument.AFTER,
        )
        return found or doc
    return doc


async def get_member(db: Database, account_id: str, user_id: str) -> Document | None:
    return await db[Collections.MEMBERS].find_one({"_id": member_id(account_id, user_id)})


async def list_members(db: Database, account_id: str) -> list[Document]:
    """An account's memberships (each with its user's ``user_id``), oldest first."""
    cursor = db[Collections.MEMBERS].find(where(account_id=account_id))
    return await cursor.sort([("created_at", 1), ("_id", 1)]).to_list()


async def memberships(db: Database, user_id: str) -> list[Document]:
    """The accounts a user is in."""
    return await db[Collections.MEMBERS].find(where(user_id=user_id)).to_list()


async def account_names(db: Database, account_ids: list[str]) -> dict[str, str]:
    """The names of these accounts (for a user's account switcher)."""
    if not account_ids:
        return {}
    found = (
        await db[Collections.ACCOUNTS]
        .find({"_id": {"$in": account_ids}}, projection={"name": 1})
        .to_list()
    )
    return {doc["_id"]: str(doc.get("name") or doc["_id"]) for doc in found}


async def _owners_left(db: Database, account_id: str) -> bool:
    found = await db[Collections.MEMBERS].find_one(
        where(account_id=account_id, role=Role.OWNER.value), projection={"_id": 1}
    )
    return found is not None


async def change_role(db: Database, account_id: str, user_id: str, role: str) -> Document | None:
    """Give a member another role; None if not a member, LastOwner if it would leave the
    account without an owner."""
    new_role = Role(role).value
    before = await db[Collections.MEMBERS].find_one_and_update(
        {"_id": member_id(account_id, user_id)},
        {"$set": {"role": new_role}},
    )
    if before is None:
        return None
    demoted = before["role"] == Role.OWNER and new_role != Role.OWNER
    if demoted and not await _owners_left(db, account_id):
        await db[Collections.MEMBERS].update_one(
            {"_id": before["_id"]}, {"$set": {"role": before["role"]}}
        )
        raise LastOwner(account_id)
    return {**before, "role": new_role}


async def remove_member(db: Database, account_id: str, user_id: str) -> Document | None:
    """Take a user out of an account; None if not a member, LastOwner if they are its last
    owner. The caller ends their sessions in that account."""
    removed = await db[Collections.MEMBERS].find_one_and_delete(
        {"_id": member_id(account_id, user_id)}
    )
    if removed is None:
        return None
    if removed["role"] == Role.OWNER and not await _owners_left(db, account_id):
        await db[Collections.MEMBERS].insert_one(removed)
        raise LastOwner(account_id)
    return removed
