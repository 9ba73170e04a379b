"""Messages: inserts, the atomic claim, forward-only outcomes, in bulk.

Every transition is a conditional update whose filter names where it may move from (the
table in :mod:`mailpass_common.messages.transitions`), so status only moves forward
(``queued → sending → sent``, ``sending → deferred → sending``, ``→ failed``) however many
senders race on one message:

- a claim (:mod:`mailpass_common.messages.claims`) matches only a claimable message
  and stamps it with a fresh claim token, unless the message holds one given at
  acceptance;
- an outcome matches only the claim token it was delivered under, so a sender whose
  lease ran out cannot overwrite what the sender that took over recorded. Under a claim
  given at acceptance it moves the message from ``queued`` (it counts the attempt and
  stamps ``claimed_at`` as a claim would have).

A sender claims and records many messages per round trip (``update_many`` and
``bulk_write``); every filter starts with ``_id``, so each is an index lookup whatever
the number of stored messages (see :mod:`mailpass_common.platform.db` for the query shapes).
The final outcome (``sent``, ``failed``) lives on the message itself; the status
endpoint shows it as the last delivery event.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from pymongo import UpdateOne
from pymongo.errors import BulkWriteError

from mailpass_common.messages.claims import is_accepted, settled
from mailpass_common.messages.models import MessageDocument
from mailpass_common.messages.transitions import (
    DEFER,
    DEFER_AS_ACCEPTED,
    FAIL,
    FAIL_AS_ACCEPTED,
    SEND,
    SEND_AS_ACCEPTED,
    Transition,
)
from mailpass_common.platform.db import DUPLICATE_KEY, Collections, Database, now_stamp, where


async def insert_messages(db: Database, docs: Sequence[MessageDocument]) -> None:
    """Insert new messages (status ``queued``) in one round trip."""
    if docs:
        await db[Collections.MESSAGES].insert_many(list(docs), ordered=True)  # type: ignore[arg-type]


async def insert_each(db: Database, docs: Sequence[MessageDocument]) -> list[BaseException | None]:
    """Insert the messages of different requests in one round trip, each with its own
    outcome (None: stored; or the error of that message alone, a BulkWriteError as its
    own insert would have raised); an error of the whole command is raised. What a
    :class:`~mailpass_common.platform.coalesce.Coalescer` of single inserts runs."""
    try:
        await db[Collections.MESSAGES].insert_many(list(docs), ordered=False)  # type: ignore[arg-type]
    except BulkWriteError as exc:
        if exc.details.get("writeConcernErrors"):
            raise
        outcomes: list[BaseException | None] = [None] * len(docs)
        for error in exc.details.get("writeErrors", []):
            alone = {**error, "index": 0}
            outcomes[error["index"]] = BulkWriteError(
                {"writeErrors": [alone], "writeConcernErrors": [], "nInserted": 0}
            )
        return outcomes
    return [None] * len(docs)


async def insert_new_messages(db: Database, docs: Sequence[MessageDocument]) -> set[str]:
    """Insert the messages not stored yet, in one round trip; the ids already there.

    For a request run again under its ``Idempotency-Key``: its message ids are the first
    run's, and what that run stored must not be stored twice.
    """
    if not docs:
        return set()
    try:
        await db[Collections.MESSAGES].insert_many(list(docs), ordered=False)  # type: ignore[arg-type]
    except BulkWriteError as exc:
        errors = exc.details.get("writeErrors", [])
        if any(error.get("code") != DUPLICATE_KEY for error in errors):
            raise
        return {docs[error["index"]]["_id"] for error in errors}
    return set()


async def find_message(db: Database, account_id: str, message_id: str) -> MessageDocument | None:
    found = await db[Collections.MESSAGES].find_one(where(_id=message_id, account_id=account_id))
    return cast(MessageDocument | None, found)


async def message_exists(db: Database, account_id: str, message_id: str, *, sandbox: bool) -> bool:
    """Whether the account has this message, sent with a test key (``sandbox``) or a live
    one: each kind of key sees only its own kind of message."""
    found = await db[Collections.MESSAGES].find_one(
        where(_id=message_id, account_id=account_id, sandbox=sandbox), projection={"_id": 1}
    )
    return found is not None


async def current_states(db: Database, message_ids: Sequence[str]) -> dict[str, MessageDocument]:
    """Status and error of messages a job could not claim (for the reply it owes)."""
    found = await (
        db[Collections.MESSAGES]
        .find({"_id": {"$in": list(message_ids)}}, projection={"status": 1, "error_message": 1})
        .to_list()
    )
    return {doc["_id"]: cast(MessageDocument, doc) for doc in found}


async def send_times(db: Database, message_ids: Sequence[str]) -> dict[str, MessageDocument]:
    """Account, mode and send time of messages (the tracker's events), and what their
    webhook events name (recipient, sender, tags, metadata): one lookup by ``_id``."""
    found = await (
        db[Collections.MESSAGES]
        .find(
            {"_id": {"$in": list(message_ids)}},
            projection={
                "account_id": 1,
                "sandbox": 1,
                "sent_at": 1,
                "claimed_at": 1,
                "to": 1,
                "from_email": 1,
                "tags": 1,
                "metadata": 1,
            },
        )
        .to_list()
    )
    return {doc["_id"]: cast(MessageDocument, doc) for doc in found if doc.get("account_id")}


@dataclass(frozen=True)
class Sent:
    message_id: str
    claim_token: str
    provider_id: str
    provider_type: str
    provider_message_id: str | None
    reply: str
    fallback: bool

    def update(self) -> dict[str, Any]:
        return {
            "$set": SEND.fields(
                error_message=None,
                delivered_by=self.provider_id,
                provider_type=self.provider_type,
                provider_message_id=self.provider_message_id,
                provider_reply=self.reply,
                fallback=self.fallback,
            ),
            **now_stamp("sent_at", "updated_at"),
        }


@dataclass(frozen=True)
class Failed:
    message_id: str
    claim_token: str
    error: str
    dead_lettered: bool = False
    # Nothing was tried (it waited on back-offs too long): the claim's attempt given back.
    not_attempted: bool = False

    def update(self) -> dict[str, Any]:
        update: dict[str, Any] = {
            "$set": FAIL.fields(error_message=self.error, dead_lettered=self.dead_lettered),
            **now_stamp("failed_at", "updated_at"),
        }
        if self.not_attempted:
            update["$inc"] = {"attempts": -1}
        return update


@dataclass(frozen=True)
class Deferred:
    message_id: str
    claim_token: str
    error: str
    # Not attempted (the destination is backed off by MailPass): the claim's attempt is
    # given back in this same write, and the wait is added to the message's total.
    backed_off_seconds: float | None = None

    def update(self) -> dict[str, Any]:
        update: dict[str, Any] = {
            "$set": DEFER.fields(error_message=self.error),
            **now_stamp("updated_at"),
        }
        if self.backed_off_seconds is not None:
            waited = round(self.backed_off_seconds, 3)
            update["$inc"] = {"attempts": -1, "backoff_waited_seconds": waited}
        return update


Outcome = Sent | Failed | Deferred


async def record(db: Database, outcomes: Sequence[Outcome]) -> set[str]:
    """Write every outcome in one round trip; return the ids of those that were recorded.

    An outcome is not recorded when its claim is no longer current: the lease ran out and
    another sender took the message over (that sender's outcome is the one that counts).
    Finding out which costs a second round trip, only in that rare case.
    """
    if not outcomes:
        return set()
    # The filter names the status an outcome moves from, as every transition's does: it
    # adds no work to the lookup by _id, and tells what the write does to the indexes of
    # a state (mailpass_common.platform.index_keys reads it).
    operations = [
        UpdateOne(
            {
                "_id": o.message_id,
                **where(claim_token=o.claim_token),
                **_transition_of(o).selector(),
            },
            _update_of(o),
        )
        for o in outcomes
    ]
    result = await db[Collections.MESSAGES].bulk_write(operations, ordered=False)
    ids = {o.message_id for o in outcomes}
    if result.matched_count == len(operations):
        return ids
    expected = {
        o.message_id: (settled(o.claim_token), _transition_of(o).target.value) for o in outcomes
    }
    current = await (
        db[Collections.MESSAGES]
        .find({"_id": {"$in": list(ids)}}, projection={"claim_token": 1, "status": 1})
        .to_list()
    )
    return {
        doc["_id"]
        for doc in current
        if (doc.get("claim_token"), doc.get("status")) == expected[doc["_id"]]
    }


def _transition_of(outcome: Outcome) -> Transition:
    accepted = is_accepted(outcome.claim_token)
    if isinstance(outcome, Sent):
        return SEND_AS_ACCEPTED if accepted else SEND
    if isinstance(outcome, Failed):
        return FAIL_AS_ACCEPTED if accepted else FAIL
    return DEFER_AS_ACCEPTED if accepted else DEFER


def _update_of(outcome: Outcome) -> dict[str, Any]:
    """The outcome's update; under a claim given at acceptance, also what the claim it
    stood for would have written: the attempt counted, ``claimed_at``, a settled token."""
    update = outcome.update()
    if not is_accepted(outcome.claim_token):
        return update
    update["$set"] = {**update["$set"], "claim_token": settled(outcome.claim_token)}
    inc = {**update.get("$inc", {})}
    inc["attempts"] = 1 + int(inc.get("attempts", 0))  # a wait, not an attempt: -1 + 1
    inc = {field: value for field, value in inc.items() if value}
    if inc:
        update["$inc"] = inc
    else:
        update.pop("$inc", None)
    update["$currentDate"] = {**update.get("$currentDate", {}), "claimed_at": True}
    return update


async def get_message(db: Database, message_id: str) -> MessageDocument | None:
    """Any account's message (operator tools only; tenants go through ``find_message``)."""
    return cast(
        MessageDocument | None, await db[Collections.MESSAGES].find_one({"_id": message_id})
    )


# What a listing shows of each message: never its content.
