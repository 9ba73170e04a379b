"""The scheduler's view of ``messages``: due batch messages, and jobs that were lost.

The message document is the outbox (ARCHITECTURE decision 2). A batch message waits with
``published_at`` null until the scheduler publishes its job; an immediate one is
published by the gateway right after its insert. Publishing is guarded against
overlapping scheduler runs: a run first takes the messages it will publish by stamping
them with its run id in one conditional ``update_many`` (a message another run took no
longer matches), and publishes only those.

Every query here is served by an index on both databases (the module docstring of
:mod:`mailpass_common.platform.db` says which shapes are): equality through ``$eq``, one query per
status instead of an ``$or``.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from mailpass_common.messages.models import MessageStatus
from mailpass_common.messages.transitions import FAIL_UNSENT
from mailpass_common.platform.db import Collections, Database, Document, now_stamp, where
from mailpass_common.platform.jobs import MessageKind

IN_QUEUE_ORDER = [("queue_id", 1), ("_id", 1)]
_JOB_FIELDS = {"_id": 1, "account_id": 1, "kind": 1, "queue_id": 1, "sandbox": 1}


def due_selector(provider_id: str | None = None) -> dict[str, Any]:
    """Batch messages waiting to be published (of one provider, when given)."""
    selector = where(status=MessageStatus.QUEUED.value, published_at=None)
    if provider_id is not None:
        selector |= where(provider_id=provider_id)
    return selector


async def due_provider_ids(db: Database) -> list[str]:
    """Providers that have batch messages waiting to be published."""
    found = await db[Collections.MESSAGES].distinct("provider_id", due_selector())
    return sorted(str(p) for p in found if p is not None)


async def due_batch(db: Database, provider_id: str, limit: int) -> list[Document]:
    """Up to ``limit`` waiting batch messages of one provider, in queue order."""
    cursor = (
        db[Collections.MESSAGES]
        .find(due_selector(provider_id), projection={"_id": 1})
        .sort(IN_QUEUE_ORDER)
        .limit(limit)
    )
    return await cursor.to_list()


async def orphaned_due(db: Database, provider_id: str, limit: int) -> list[Document]:
    """Up to ``limit`` waiting batch messages of a provider that no longer exists: their
    ids and account (the provider document, gone, cannot tell the account)."""
    cursor = (
        db[Collections.MESSAGES]
        .find(due_selector(provider_id), projection={"_id": 1, "account_id": 1})
        .sort(IN_QUEUE_ORDER)
        .limit(limit)
    )
    return await cursor.to_list()


async def reassign_due(db: Database, ids: Sequence[str], old: str, new: str) -> int:
    """Hand waiting batch messages of a deleted provider to the account's current default,
    which publishes them within its own limits (as the sender does for immediate ones)."""
    result = await db[Collections.MESSAGES].update_many(
        {"_id": {"$in": list(ids)}, **due_selector(old)},
        {"$set": {"provider_id": new}, **now_stamp("updated_at")},
    )
    return result.modified_count


async def fail_due(db: Database, ids: Sequence[str], provider_id: str, error: str) -> int:
    """Fail waiting batch messages that have no provider left to send them."""
    result = await db[Collections.MESSAGES].update_many(
        {"_id": {"$in": list(ids)}, **due_selector(provider_id)},
        {
            "$set": FAIL_UNSENT.fields(error_message=error),
            **now_stamp("failed_at", "updated_at"),
        },
    )
    return result.modified_count


async def take(
    db: Database,
    ids: Sequence[str],
    selector: dict[str, Any],
    run_id: str,
    claim: str | None = None,
) -> list[Document]:
    """Stamp the messages of ``ids`` that still match ``selector`` as this run's to
    publish; return them (id, account, kind, mode) in queue order. ``claim``: a claim
    given at acceptance (:mod:`mailpass_common.messages.claims`) they hold from this
    write on, which their jobs carry; only for messages no job was published for yet."""
    if not ids:
        return []
    messages = db[Collections.MESSAGES]
    stamp: dict[str, Any] = {"publish_run": run_id}
    if claim is not None:
        stamp["claim_token"] = claim
    await messages.update_many(
        {"_id": {"$in": list(ids)}, **selector},
        {"$set": stamp, **now_stamp("published_at")},
    )
    taken = await messages.find(
        {"_id": {"$in": list(ids)}, **where(publish_run=run_id)}, projection=_JOB_FIELDS
    ).to_list()
    return sorted(taken, key=lambda d: (d.get("queue_id") or 0, d["_id"]))


async def take_due(
    db: Database, ids: Sequence[str], provider_id: str, run_id: str, claim: str | None = None
) -> list[Document]:
    return await take(db, ids, due_selector(provider_id), run_id, claim)


async def release(db: Database, ids: Sequence[str], run_id: str) -> None:
    """Hand messages this run took but will not publish back to later runs."""
    if ids:
        await db[Collections.MESSAGES].update_many(
            {"_id": {"$in": list(ids)}, **where(publish_run=run_id)},
            {"$set": {"publish_run": None, "published_at": None}},
        )


@dataclass(frozen=True)
class Stuck:
    """A way a job can be lost, as a query: messages in ``status`` whose ``field`` (and
    last publish) is older than the cutoff."""

    status: MessageStatus
    field: str

    def selector(self, kind: MessageKind, before: datetime) -> dict[str, Any]:
        selector = where(status=self.status.value, **{self.field: {"$lt": before}})
        if self.field != "published_at":
            # Not republished since: a job from the last run may still be on its way.
            selector["published_at"] = {"$lt": before}
        return selector | where(kind=kind.value)


# A queued message whose job was published (or whose publish failed) long ago; a sending
# message whose sender's lease ran out; a deferred message whose retry never came back.
QUEUED_LONG_AGO = Stuck(MessageStatus.QUEUED, "published_at")
LEASE_RAN_OUT = Stuck(MessageStatus.SENDING, "claimed_at")
# (A deferred message's claimed_at is when its last attempt began: the retry is due a
# delay after it, so no index of its own is needed.)
RETRY_NEVER_CAME = Stuck(MessageStatus.DEFERRED, "claimed_at")


def stuck_selector(
    way: Stuck, kind: MessageKind, before: datetime, leave_accounts: Collection[str] = ()
) -> dict[str, Any]:
    """The lost messages of none of the accounts in ``leave_accounts`` (a filter along
    the same index walk)."""
    selector = way.selector(kind, before)
    if leave_accounts:
        selector["account_id"] = {"$nin": sorted(leave_accounts)}
    return selector


async def stuck(
    db: Database,
    way: Stuck,
    kind: MessageKind,
    before: datetime,
    limit: int,
    leave_accounts: Collection[str] = (),
) -> list[Document]:
    """Up to ``limit`` lost messages (ids and accounts), oldest first."""
    cursor = (
        db[Collections.MESSAGES]
        .find(
            stuck_selector(way, kind, before, leave_accounts),
            projection={"_id": 1, "account_id": 1},
        )
        .sort([(way.field, 1)])
        .limit(limit)
    )
    return await cursor.to_list()


async def count_due(db: Database, cap: int) -> int:
    """How many batch messages wait to be published, counted up to ``cap`` (an index walk:
    ``count_documents`` would scan on nx-27017)."""
    found = await (
        db[Collections.MESSAGES]
        .find(due_selector(), projection={"_id": 1}, batch_size=cap)
        .limit(cap)
        .to_list()
    )
    return len(found)


async def oldest_due(db: Database) -> datetime | None:
    """When the oldest batch message still waiting to be published was accepted.

    Read with find/sort/limit: nx-27017 returns ``$min`` of a date as a string."""
    found = await (
        db[Collections.MESSAGES]
        .find(due_selector(), projection={"created_at": 1})
        .sort(IN_QUEUE_ORDER)
        .limit(1)
        .to_list()
    )
    created = found[0].get("created_at") if found else None
    return created if isinstance(created, datetime) else None
