"""Failed console sign-ins in the audit log.

The audit log belongs to accounts, so a failure is recorded where it concerns one: when
the attempt names an existing user (a password sign-in's address, an OpenID Connect
subject or verified address tied to a user), one ``user.sign_in_failed`` entry goes to
each account the user is a member of. An address without a user belongs to no account
and is not recorded (the per-client attempt limit still counts it). An entry holds who
was attempted (the address as typed, lower-cased, or the OIDC subject), the way in, and
a reason code; the client's IP and user agent come with every entry. Never the password
or the code.

The actor is the user the attempt claimed to be: filtering the log by a user shows the
attempts at their name beside what they did.
"""

from __future__ import annotations

from enum import StrEnum

from mailpass_common.audit.record import Actor, ActorType, record
from mailpass_common.platform.db import Database, Document
from mailpass_common.tenants import members

ACTION = "user.sign_in_failed"


class FailureReason(StrEnum):
    WRONG_PASSWORD = "wrong_password"
    WRONG_CODE = "wrong_code"  # the password was right, the TOTP code was not
    DISABLED = "disabled"  # the user is disabled (password sign-in: the password was right)
    INVITATION_ADDRESS = "invitation_address"  # OIDC: another address than the invitation's


async def record_failed_sign_in(
    db: Database, user: Document | None, *, attempted: str, via: str, reason: FailureReason
) -> int:
    """Record the failure in each of the user's accounts; how many entries were written
    (none when no user was attempted)."""
    if user is None:
        return 0
    joined = await members.memberships(db, user["_id"])
    for membership in joined:
        await record(
            db,
            account_id=membership["account_id"],
            action=ACTION,
            resource_type="user",
            resource_id=user["_id"],
            after={"attempted": attempted, "via": via, "reason": reason.value},
            actor=Actor(ActorType.USER, user["_id"]),
        )
    return len(joined)
