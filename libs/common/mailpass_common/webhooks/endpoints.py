"""Webhook endpoints: where an account wants its events, which ones, and the secrets.

One document an endpoint in ``webhook_endpoints``::

    {_id: "ep_…", account_id, sandbox, url, events[], enabled, secret (encrypted),
     previous_secret (encrypted) | None, previous_secret_until (Unix seconds) | None,
     failing_since | None, disabled_reason | None, created_at, updated_at}

Secrets are encrypted at rest with the provider credentials' cipher (``SECRET_KEY``,
rotated by ``mailpass secrets rotate`` like theirs), shown once when made. A rotation
keeps the old secret for an overlap, during which both sign every request.

``sandbox``: made with a test key. Test keys see and change only sandbox endpoints, and
sandbox endpoints receive only the events of test messages (and live ones only live
events), as everywhere else test data stays apart from live data.

An account has at most ``WEBHOOK_MAX_ENDPOINTS_PER_ACCOUNT`` endpoints (``slot``: which of
them this one holds) (live and sandbox
together): every endpoint is one more signed request per event, retried, so an
unbounded list on one URL would make MailPass an amplifier aimed at any host.

``failing_since`` is stamped by the first failed attempt after a success and cleared by
the next success; an endpoint whose failures span ``WEBHOOK_DISABLE_AFTER_SECONDS`` is
disabled (``enabled`` false, ``disabled_reason`` said) and an ``endpoint.disabled``
event is emitted to the account's other endpoints that ask for it.
"""

from __future__ import annotations

import secrets as random
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from mailpass_common.platform.cache import TtlCache
from mailpass_common.platform.crypto import CredentialCipher
from mailpass_common.platform.db import Collections, Database, Document, now_stamp, where
from mailpass_common.webhooks.signing import generate_secret

COLLECTION = Collections.WEBHOOK_ENDPOINTS
# Racing creations that lose a slot look again this many times at most.
_SLOT_ATTEMPTS = 8


class WebhookEventType(StrEnum):
    """The events an endpoint may ask for (its ``events`` filter)."""

    SENT = "sent"
    DEFERRED = "deferred"
    FAILED = "failed"
    BOUNCED = "bounced"
    COMPLAINED = "complained"
    UNSUBSCRIBED = "unsubscribed"
    OPEN = "open"
    CLICK = "click"
    ENDPOINT_DISABLED = "endpoint.disabled"
    AUDIT_EVENT = "audit.event"  # an entry of the account's audit log (live endpoints)


class EndpointLimitReached(Exception):
    """The account has as many endpoints as it may have."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"An account may have at most {limit} webhook endpoints")
        self.limit = limit


def _now() -> datetime:
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)  # what BSON keeps


def _secret_token(cipher: CredentialCipher, secret: str) -> str:
    return cipher.encrypt({"secret": secret})


async def create_endpoint(
    db: Database,
    cipher: CredentialCipher,
    *,
    account_id: str,
    url: str,
    events: list[str],
    sandbox: bool,
    limit: int,
) -> tuple[Document, str]:
    """A new enabled endpoint, and its secret in clear (to be shown this once); raises
    :class:`EndpointLimitReached` when the account has ``limit`` endpoints already.

    Each endpoint holds one of the account's ``limit`` slots (``slot``, unique per account
    by a partial index), so racing creations can never hold more than ``limit`` between
    them: the loser of a slot takes another free one, or is refused. (Endpoints made
    before slots existed have none: they count against the limit, and shrink the range
    of slots the others may hold.)"""
    secret = generate_secret()
    now = _now()
    doc: Document = {
        "_id": f"ep_{random.token_hex(12)}",
        "account_id": account_id,
        "sandbox": sandbox,
        "url": url,
        "events": sorted(set(events)),
        "enabled": True,
        "secret": _secret_token(cipher, secret),
        "previous_secret": None,
        "previous_secret_until": None,
        "failing_since": None,
        "disabled_reason": None,
        "created_at": now,
        "updated_at": now,
    }
    for _ in range(_SLOT_ATTEMPTS):
        held = await db[COLLECTION].find(where(account_id=account_id), {"slot": 1}).to_list()
        unslotted = sum(1 for d in held if d.get("slot") is None)
        free = sorted(set(range(limit - unslotted)) - {d.get("slot") for d in held})
        if len(held) >= limit or not free:
            raise EndpointLimitReached(limit)
        try:
            await db[COLLECTION].insert_one(doc | {"slot": free[0]})
        except DuplicateKeyError:
            continue  # a racer took that slot: look again
        return doc | {"slot": free[0]}, secret
    raise EndpointLimitReached(limit)


async def list_endpoints(db: Database, account_id: str, *, sandbox: bool) -> list[Document]:
    cursor = db[COLLECTION].find(where(account_id=account_id)).sort([("created_at", 1)])
    return [doc async for doc in cursor if bool(doc.get("sandbox")) == sandbox]


async def get_endpoint(
    db: Database, account_id: str, endpoint_id: str, *, sandbox: bool | None
) -> Document | None:
    """The account's endpoint (None for another account's); ``sandbox`` None: either kind."""
    doc = await db[COLLECTION].find_one(where(_id=endpoint_id, account_id=account_id))
    if doc is None or (sandbox is not None and bool(doc.get("sandbox")) != sandbox):
        return None
    return doc


async def update_endpoint(
    db: Database, account_id: str, endpoint_id: str, *, sandbox: bool, changes: dict[str, Any]
) -> Document | None:
    """Change ``url``, ``events`` or ``enabled``. Enabling again starts a clean slate."""
    update: dict[str, Any] = {k: v for k, v in changes.items() if v is not None}
    if "events" in update:
        update["events"] = sorted(set(update["events"]))
    if update.get("enabled") is True:
        update |= {"failing_since": None, "disabled_reason": None}
    return await db[COLLECTION].find_one_and_update(
        where(_id=endpoint_id, account_id=account_id, sandbox=sandbox),
        {"$set": update, **now_stamp("updated_at")},
        return_document=ReturnDocument.AFTER,
    )


async def delete_endpoint(
    db: Database, account_id: str, endpoint_id: str, *, sandbox: bool
) -> bool:
    result = await db[COLLECTION].delete_one(
        where(_id=endpoint_id, account_id=account_id, sandbox=sandbox)
    )
    return result.deleted_count == 1


async def rotate_secret(
    db: Database,
    cipher: CredentialCipher,
    account_id: str,
    endpoint_id: str,
    *,
    sandbox: bool,
    overlap_seconds: float,
) -> tuple[Document, str] | None:
    """A new secret (returned in clear, once); the current one keeps signing for
    ``overlap_seconds`` beside it. A rotation during an overlap ends the older one."""
    doc = await get_endpoint(db, account_id, endpoint_id, sandbox=sandbox)
    if doc is None:
        return None
    secret = generate_secret()
    updated = await db[COLLECTION].find_one_and_update(
        where(_id=endpoint_id, account_id=account_id, secret=doc["secret"]),
        {
            "$set": {
                "secret": _secret_token(cipher, secret),
                "previous_secret": doc["secret"] if overlap_seconds > 0 else None,
                # A number, not a date: nx-27017 stores a $set datetime as a string.
                "previous_secret_until": time.time() + overlap_seconds,
            },
            **now_stamp("updated_at"),
        },
        return_document=ReturnDocument.AFTER,
    )
    if updated is None:  # rotated by someone else at the same moment: theirs stands
        return None
    return updated, secret


def signing_secrets(doc: Document, cipher: CredentialCipher) -> list[str]:
    """The secrets that sign a request now: the current one, then one in its overlap."""
    found = [str(cipher.decrypt(doc["secret"])["secret"])]
    until = doc.get("previous_secret_until")
    if doc.get("previous_secret") and isinstance(until, int | float) and until > time.time():
        found.append(str(cipher.decrypt(doc["previous_secret"])["secret"]))
    return found


async def record_success(db: Database, doc: Document) -> None:
    """Clear the failing state; a write only when the endpoint was failing."""
    if doc.get("failing_since") is not None:
        await db[COLLECTION].update_one(where(_id=doc["_id"]), {"$set": {"failing_since": None}})


async def record_failure(db: Database, doc: Document, *, disable_after_seconds: float) -> bool:
    """Stamp the first failure; disable the endpoint once its failures span the window.
    True when this call disabled it (exactly one caller sees True)."""
    since = doc.get("failing_since")
    if since is None:
        await db[COLLECTION].update_one(
            where(_id=doc["_id"], failing_since=None), now_stamp("failing_since")
        )
        return False
    since = since if since.tzinfo else since.replace(tzinfo=UTC)
    if (datetime.now(UTC) - since).total_seconds() < disable_after_seconds:
        return False
    days = disable_after_seconds / 86400
    span = f"{days:g} days" if days >= 1 else f"{disable_after_seconds:g} s"
    result = await db[COLLECTION].update_one(
        where(_id=doc["_id"], enabled=True),
        {
            "$set": {
                "enabled": False,
                "disabled_reason": f"every delivery failed for {span}, with no success",
            },
            **now_stamp("updated_at"),
        },
    )
    return result.modified_count == 1


@dataclass(frozen=True)
class Subscription:
    endpoint_id: str
    sandbox: bool
    events: frozenset[str]


class EndpointDirectory:
    """Which enabled endpoints of an account want an event, cached ``CACHE_TTL_SECONDS``.

    Producers ask it for every event; an account without endpoints is cached as such
    (an empty tuple), so it costs one read per account and TTL and nothing more.
    """

    def __init__(self, db: Database, ttl_seconds: float) -> None:
        self._db = db
        self._cache: TtlCache[str, tuple[Subscription, ...]] = TtlCache(ttl_seconds)

    async def subscribers(self, account_id: str, event_type: str, *, sandbox: bool) -> list[str]:
        async def load() -> tuple[Subscription, ...]:
            cursor = self._db[COLLECTION].find(
                where(account_id=account_id), projection={"sandbox": 1, "events": 1, "enabled": 1}
            )
            return tuple(
                [
                    Subscription(doc["_id"], bool(doc.get("sandbox")), frozenset(doc["events"]))
                    async for doc in cursor
                    if doc.get("enabled")
                ]
            )

        found = await self._cache.get_or_load(account_id, load) or ()
        return [s.endpoint_id for s in found if s.sandbox == sandbox and event_type in s.events]

    def forget(self, account_id: str) -> None:
        self._cache.invalidate(account_id)
