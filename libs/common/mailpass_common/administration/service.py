"""Accounts as the platform team manages them (:mod:`mailpass_common.administration`).

Suspension stops an account without losing anything: its API keys are refused
(ACCOUNT_SUSPENDED; :func:`mailpass_common.tenants.api_keys.authenticate` answers them
``suspended``, and caches hold an answer at most ``CACHE_TTL_SECONDS``), its console
sessions are ended at once and no new one works, and the senders hold its queued mail
(they leave it ``queued``, unclaimed, and the scheduler's recovery publishes it again
once the account is unsuspended). Deleting an account removes its configuration and its
mail; its audit log stays until the retention ends.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from mailpass_common.audit.record import Actor, record
from mailpass_common.messages import stats
from mailpass_common.platform.dates import api_datetime
from mailpass_common.platform.db import Collections, Database, Document, where
from mailpass_common.tenants import accounts, console_auth, invitations
from mailpass_common.tenants.invitations import Invitation
from mailpass_common.tenants.members import Role

# Everything an account owns, removed with it (the audit log is kept).
OWNED = (
    Collections.API_KEYS,
    Collections.PROVIDERS,
    Collections.CONSOLE_SESSIONS,
    Collections.CONSOLE_LINKS,
    Collections.MEMBERS,
    Collections.INVITATIONS,
    Collections.SUPPRESSIONS,
    Collections.EVENT_HOOKS,
    Collections.WEBHOOK_ENDPOINTS,
    Collections.TEMPLATES,
    Collections.DOMAINS,
    Collections.DKIM_KEYS,
    Collections.CIRCUITS,
    Collections.MESSAGES,
    Collections.EVENTS,
    Collections.MESSAGE_BODIES,
    Collections.WEBHOOK_EVENTS,
)


class NoSuchAccount(Exception):
    pass


def account_view(doc: Document) -> dict[str, Any]:
    limits = doc.get("default_limits") or {}
    return {
        "id": doc["_id"],
        "name": doc["name"],
        "suspended": bool(doc.get("suspended")),
        "suspended_at": api_datetime(doc.get("suspended_at")),
        "default_limits": {"hourly": limits.get("hourly"), "daily": limits.get("daily")},
        "created_at": api_datetime(doc.get("created_at")),
    }


async def _audit(
    db: Database, actor: Actor, action: str, account_id: str, before: Any, after: Any
) -> None:
    await record(
        db,
        account_id=account_id,
        action=action,
        resource_type="account",
        resource_id=account_id,
        before=None if before is None else account_view(before),
        after=None if after is None else account_view(after),
        actor=actor,
    )


async def _account(db: Database, account_id: str) -> Document:
    doc = await accounts.get_account(db, account_id)
    if doc is None:
        raise NoSuchAccount(account_id)
    return doc


async def create_account(db: Database, actor: Actor, name: str) -> Document:
    """A new account (``accounts.AccountExists`` when the name is taken)."""
    doc = await accounts.create_account(db, name)
    await _audit(db, actor, "account.created", doc["_id"], None, doc)
    return doc


async def list_accounts(db: Database) -> list[Document]:
    return await accounts.list_accounts(db)


async def get_account(db: Database, account_id: str) -> Document:
    return await _account(db, account_id)


async def set_suspended(db: Database, actor: Actor, account_id: str, suspended: bool) -> Document:
    before = await _account(db, account_id)
    after = await accounts.set_suspended(db, account_id, suspended)
    if after is None:
        raise NoSuchAccount(account_id)
    if suspended:
        await console_auth.end_account_sessions(db, account_id)
    if bool(before.get("suspended")) != suspended:
        action = "account.suspended" if suspended else "account.unsuspended"
        await _audit(db, actor, action, account_id, before, after)
    return after


async def set_default_limits(
    db: Database, actor: Actor, account_id: str, *, hourly: int | None, daily: int | None
) -> Document:
    """The limits new providers of the account get when they name none."""
    before = await _account(db, account_id)
    after = await accounts.set_default_limits(db, account_id, hourly=hourly, daily=daily)
    if after is None:
        raise NoSuchAccount(account_id)
    await _audit(db, actor, "account.limits_set", account_id, before, after)
    return after


async def delete_account(db: Database, actor: Actor, account_id: str) -> None:
    """Remove the account and everything it owns; its keys stop working at once."""
    before = await _account(db, account_id)
    # The keys first: from here on nothing of the account can be used.
    for name in OWNED:
        await db[name].delete_many(where(account_id=account_id))
    await db[Collections.ACCOUNTS].delete_one({"_id": account_id})
    await _audit(db, actor, "account.deleted", account_id, before, None)


async def invite_owner(db: Database, actor: Actor, account_id: str, email: str) -> Invitation:
    """The account's first owner invitation (any earlier one to the address stops
    working); the caller passes its link on, since it holds the token."""
    await _account(db, account_id)
    invitation = await invitations.create_invitation(
        db, account_id=account_id, email=email, role=Role.OWNER.value, invited_by="platform"
    )
    await record(
        db,
        account_id=account_id,
        action="invitation.created",
        resource_type="invitation",
        resource_id=invitation.id,
        after={"id": invitation.id, "email": invitation.email, "role": invitation.role},
        actor=actor,
    )
    return invitation


@dataclass(frozen=True)
class DailyUsage:
    day: datetime
    counts: stats.Counts
    capped: bool


async def usage(db: Database, account_id: str, now: datetime | None = None) -> list[DailyUsage]:
    """Live messages of the last 7 UTC days, per day (the stats of ``GET /stats``)."""
    await _account(db, account_id)
    window = await stats.window_stats(
        db, account_id, sandbox=False, window="7d", now=now or datetime.now(UTC)
    )
    return [DailyUsage(b.start, b.counts, b.capped) for b in window.buckets]
