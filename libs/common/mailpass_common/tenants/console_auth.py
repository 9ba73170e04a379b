"""The web console's sign-in: server-side sessions, one-time links, attempt windows.

- **Sessions** are documents in ``console_sessions``; the browser holds only a random
  token, and the document's ``_id`` is its SHA-256 (as for API keys: a database dump
  holds no usable session). Ending one is deleting it, so a sign-out, an operator's
  ``mailpass console sessions --revoke`` or a revoked API key (checked by the gateway on
  every console request) takes effect on the next request. Each session carries its
  CSRF token and what it may do: the signing-in key's permissions, and whether it is a
  test key's session (which sees only test data).
- **One-time links** (``mailpass console link``) are tokens stored hashed for 15
  minutes; using one deletes it in the same atomic operation, so two tabs racing on one
  link get one session between them.
- **Sign-in attempts** are counted per client address in fixed windows, with the same
  conditional ``$inc`` as the send limits (:mod:`mailpass_common.providers.limits`): counted only
  below the limit, so concurrent attempts on several gateways never overshoot.

Every document has an ``expires_at`` that a TTL index removes; reads check it too, since
the TTL monitor runs only once a minute.
"""

from __future__ import annotations

import contextlib
import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo.errors import DuplicateKeyError

from mailpass_common.platform.db import Collections, Database, Document, where

LINK_LIFETIME = timedelta(minutes=15)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _now() -> datetime:
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)  # what BSON keeps


def _aware(value: Any) -> datetime | None:
    if not isinstance(value, datetime):
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@dataclass(frozen=True)
class ConsoleSession:
    session_id: str  # the token's hash (the document's _id), never the token
    account_id: str
    account_name: str
    test: bool  # a test key's session: test data only
    permissions: frozenset[str]
    via: str  # "key" | "link"
    key_hash: str | None  # the API key it was opened with (its revocation ends it)
    key_prefix: str | None
    csrf_token: str
    created_at: datetime
    expires_at: datetime
    # A user's session (via "password" or "oidc"): who, and their role in the account,
    # read again on every request (the permissions follow it).
    user_id: str | None = None
    user_email: str | None = None
    role: str | None = None
    # The user's other accounts (id, name), to switch to; filled in per request.
    accounts: tuple[tuple[str, str], ...] = ()

    def may(self, permission: str) -> bool:
        return permission in self.permissions


@dataclass(frozen=True)
class NewSession:
    token: str  # for the cookie, never stored
    session: ConsoleSession


def _session(doc: Document) -> ConsoleSession:
    return ConsoleSession(
        session_id=doc["_id"],
        account_id=doc["account_id"],
        account_name=str(doc.get("account_name") or doc["account_id"]),
        test=bool(doc.get("test")),
        permissions=frozenset(doc.get("permissions") or ()),
        via=str(doc.get("via")),
        key_hash=doc.get("key_hash"),
        key_prefix=doc.get("key_prefix"),
        csrf_token=doc["csrf_token"],
        created_at=_aware(doc.get("created_at")) or _now(),
        expires_at=_aware(doc.get("expires_at")) or _now(),
        user_id=doc.get("user_id"),
        user_email=doc.get("user_email"),
        role=doc.get("role"),
    )


async def open_session(
    db: Database,
    *,
    account_id: str,
    account_name: str,
    permissions: Iterable[str],
    test: bool,
    via: str,
    lifetime: timedelta,
    key_hash: str | None = None,
    key_prefix: str | None = None,
    user: Document | None = None,
    role: str | None = None,
) -> NewSession:
    """A new session with fresh tokens (never one reused from before the sign-in);
    ``user``: a console user's (with their ``role`` in the account)."""
    token = secrets.token_urlsafe(32)
    now = _now()
    doc: Document = {
        "_id": _hash(token),
        "account_id": account_id,
        "account_name": account_name,
        "test": test,
        "permissions": sorted(set(permissions)),
        "via": via,
        "key_hash": key_hash,
        "key_prefix": key_prefix,
        "csrf_token": secrets.token_urlsafe(32),
        "created_at": now,
        "expires_at": now + lifetime,
    }
    if user is not None:
        doc.update(user_id=user["_id"], user_email=user["email"], role=role)
    await db[Collections.CONSOLE_SESSIONS].insert_one(doc)
    return NewSession(token, _session(doc))


async def find_session(db: Database, token: str) -> ConsoleSession | None:
    """The live session of a cookie's token; None if unknown, ended or expired."""
    if not token or len(token) > 128:
        return None
    doc = await db[Collections.CONSOLE_SESSIONS].find_one({"_id": _hash(token)})
    if doc is None:
        return None
    session = _session(doc)
    return session if session.expires_at > datetime.now(UTC) else None


async def end_session(db: Database, session_id: str) -> None:
    await db[Collections.CONSOLE_SESSIONS].delete_one({"_id": session_id})


async def end_account_sessions(db: Database, account_id: str) -> int:
    """Sign every console session of an account out; returns how many there were."""
    result = await db[Collections.CONSOLE_SESSIONS].delete_many(where(account_id=account_id))
    return result.deleted_count


async def end_user_sessions(db: Database, user_id: str, account_id: str | None = None) -> int:
    """Sign a user out everywhere (disabled), or of one account (removed from it)."""
    scope = where(user_id=user_id, **({"account_id": account_id} if account_id else {}))
    return (await db[Collections.CONSOLE_SESSIONS].delete_many(scope)).deleted_count


async def switch_account(
    db: Database, session_id: str, *, account_id: str, account_name: str, role: str
) -> None:
    """Move a user's session to another of their accounts (the caller checked the
    membership), with a fresh CSRF token."""
    await db[Collections.CONSOLE_SESSIONS].update_one(
        {"_id": session_id},
        {
            "$set": {
                "account_id": account_id,
                "account_name": account_name,
                "role": role,
                "csrf_token": secrets.token_urlsafe(32),
            }
        },
    )


async def list_sessions(db: Database, account_id: str) -> list[ConsoleSession]:
    docs = await db[Collections.CONSOLE_SESSIONS].find(where(account_id=account_id)).to_list()
    now = datetime.now(UTC)
    found = [_session(doc) for doc in docs]
    return sorted((s for s in found if s.expires_at > now), key=lambda s: s.created_at)


async def create_link(db: Database, account_id: str, lifetime: timedelta = LINK_LIFETIME) -> str:
    """A one-time sign-in token for the account (the link's last path segment)."""
    token = secrets.token_urlsafe(32)
    now = _now()
    await db[Collections.CONSOLE_LINKS].insert_one(
        {
            "_id": _hash(token),
            "account_id": account_id,
            "created_at": now,
            "expires_at": now + lifetime,
        }
    )
    return token


async def peek_link(db: Database, token: str) -> Document | None:
    """The link's document while it can still be used (for the page that asks to confirm)."""
    if not token or len(token) > 128:
        return None
    doc = await db[Collections.CONSOLE_LINKS].find_one({"_id": _hash(token)})
    expires = _aware((doc or {}).get("expires_at"))
    return doc if expires is not None and expires > datetime.now(UTC) else None


async def use_link(db: Database, token: str) -> str | None:
    """Spend a link: the account it signs in to, or None if unknown, used or expired."""
    if not token or len(token) > 128:
        return None
    doc = await db[Collections.CONSOLE_LINKS].find_one_and_delete({"_id": _hash(token)})
    expires = _aware((doc or {}).get("expires_at"))
    if doc is None or expires is None or expires <= datetime.now(UTC):
        return None
    return str(doc["account_id"])


async def count_attempt(db: Database, client: str, *, limit: int, window: timedelta) -> int | None:
    """Count one sign-in attempt from ``client``; None if allowed, else the seconds until
    its window ends. The address is stored only hashed."""
    now = datetime.now(UTC)
    seconds = int(window.total_seconds())
    start = int(now.timestamp()) // seconds * seconds
    ends_at = datetime.fromtimestamp(start + seconds, UTC)
    doc_id = f"{_hash(client)}:{start}"
    signins = db[Collections.CONSOLE_SIGNINS]
    for _ in range(2):
        counted = await signins.update_one(
            {"_id": doc_id, "count": {"$lt": limit}}, {"$inc": {"count": 1}}
        )
        if counted.modified_count == 1:
            return None
        if await signins.find_one({"_id": doc_id}, projection={"_id": 1}) is not None:
            return max(1, int((ends_at - now).total_seconds()) + 1)
        # Created by a concurrent attempt meanwhile: counted against it on the next turn.
        with contextlib.suppress(DuplicateKeyError):
            await signins.insert_one({"_id": doc_id, "count": 0, "expires_at": ends_at})
    return max(1, int((ends_at - now).total_seconds()) + 1)
