"""Invitations: an email address asked into an account with a role.

The token (the last segment of the link mailed to the person) is shown once and stored
only as its SHA-256, the document's ``_id`` (as for API keys and one-time links: a
database dump opens nothing). An invitation lasts :data:`INVITATION_LIFETIME`; a TTL
index removes it after that, and reads check the time too (the TTL monitor runs once a
minute). Accepting one deletes it in the same atomic operation, so a link works once.
Inviting an address again replaces its pending invitation to that account (the older
link stops working).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from mailpass_common.platform.db import Collections, Database, Document, where
from mailpass_common.tenants.accounts import new_id
from mailpass_common.tenants.members import Role
from mailpass_common.tenants.users import normalize_email

INVITATION_LIFETIME = timedelta(days=7)
INVITATION_PATH = "/console/invitations/"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _now() -> datetime:
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)  # what BSON keeps


def _aware(value: object) -> datetime | None:
    if not isinstance(value, datetime):
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Invitation:
    id: str  # the public id, for listing and revoking (never the token or its hash)
    token: str  # shown once (in the link), never stored
    account_id: str
    email: str
    role: str
    invited_by: str  # who asked: a user id, an API key id, or "platform"
    created_at: datetime
    expires_at: datetime

    @property
    def path(self) -> str:
        """Where the invited person accepts: the console page of the token."""
        return INVITATION_PATH + self.token


async def create_invitation(
    db: Database,
    *,
    account_id: str,
    email: str,
    role: str,
    invited_by: str,
    lifetime: timedelta = INVITATION_LIFETIME,
) -> Invitation:
    """Invite ``email`` into the account as ``role`` (ValueError for an unknown role).

    The caller sends the link (``base_url + invitation.path``); any earlier pending
    invitation of the address to the account stops working.
    """
    role = Role(role).value
    address = normalize_email(email)
    token = secrets.token_urlsafe(32)
    now = _now()
    invitation = Invitation(
        id=new_id("inv"),
        token=token,
        account_id=account_id,
        email=address,
        role=role,
        invited_by=invited_by,
        created_at=now,
        expires_at=now + lifetime,
    )
    collection = db[Collections.INVITATIONS]
    await collection.delete_many(where(account_id=account_id, email=address))
    await collection.insert_one(
        {
            "_id": _hash(token),
            "id": invitation.id,
            "account_id": account_id,
            "email": address,
            "role": role,
            "invited_by": invited_by,
            "created_at": now,
            "expires_at": invitation.expires_at,
        }
    )
    return invitation


def _live(doc: Document | None) -> Document | None:
    expires = _aware((doc or {}).get("expires_at"))
    return doc if expires is not None and expires > datetime.now(UTC) else None


async def peek_invitation(db: Database, token: str) -> Document | None:
    """The invitation of a link while it can still be accepted (for the page showing it)."""
    if not token or len(token) > 128:
        return None
    return _live(await db[Collections.INVITATIONS].find_one({"_id": _hash(token)}))


async def spend_invitation(db: Database, token: str) -> Document | None:
    """Use up an invitation: its document, or None if unknown, used or expired. The
    caller then adds the membership."""
    if not token or len(token) > 128:
        return None
    return _live(await db[Collections.INVITATIONS].find_one_and_delete({"_id": _hash(token)}))


async def list_invitations(db: Database, account_id: str) -> list[Document]:
    """An account's pending invitations, oldest first."""
    docs = await db[Collections.INVITATIONS].find(where(account_id=account_id)).to_list()
    live = [doc for doc in docs if _live(doc) is not None]
    return sorted(live, key=lambda doc: (doc["created_at"], doc["id"]))


async def revoke_invitation(db: Database, account_id: str, invitation_id: str) -> bool:
    """Withdraw a pending invitation; False if the account has no such invitation."""
    result = await db[Collections.INVITATIONS].delete_one(
        where(account_id=account_id, id=invitation_id)
    )
    return result.deleted_count == 1


def invitation_view(doc: Document) -> dict[str, object]:
    """An invitation as the console and the API show it: never the token or its hash."""
    return {
        "id": doc["id"],
        "email": doc["email"],
        "role": doc["role"],
        "invited_by": doc.get("invited_by"),
        "created_at": doc.get("created_at"),
        "expires_at": doc.get("expires_at"),
    }
