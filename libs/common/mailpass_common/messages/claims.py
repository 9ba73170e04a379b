"""Claims: a sender's hold on a message while it delivers it (ARCHITECTURE decision 3).

A message is delivered only under a claim, and only the claim's holder records an
outcome (:func:`mailpass_common.messages.service.record` matches the claim token). A
claim is a lease: once it has run out, another sender may take the message over. A
claim comes one of two ways:

- **taken by a sender**: one atomic update moves a claimable message (``queued``,
  ``deferred``, or ``sending`` whose lease ran out) to ``sending`` under a fresh token
  (:func:`claim_one`, :func:`claim_many`);
- **given at acceptance**: a message the gateway publishes at once is stored already
  holding a claim (:func:`accepted_token`: ``claim_token`` is a token that says when it
  was given, the status stays ``queued``), and its job carries the token. The sender that
  RabbitMQ hands that job to *first* (not a redelivery) reads the message and, when the
  token is still the message's and young enough, delivers under it without a claim write
  of its own; the outcome moves the message from ``queued`` straight to where it ends
  (the transitions ``*_AS_ACCEPTED``). A delivered message is then written twice (stored,
  recorded), not three times.

Everything else claims as before, and a claim never takes a message whose claim given at
acceptance is current: the claimable selector asks for a token below the cutoff. Tokens a
sender takes are hex and the empty string a new message starts with; a token given at
acceptance starts with ``~`` (above every letter and digit) and then the time it was
given, so ``claim_token < "~<now - lease>"`` is "no current claim given at acceptance"
(strings compare bytewise on MongoDB and SQLite alike); a message stored before tokens
were given at acceptance has none, which a second selector (``null``) finds.

What it rests on: a job RabbitMQ delivers with ``redelivered`` false (and no
``x-delivery-count``) was never delivered before, so one sender at most holds a claim
given at acceptance. A redelivered job, a republished one (the recovery's, a retry's)
and a job without a token take a claim as before, which waits for the lease of a claim
given at acceptance to run out.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from pymongo import ReturnDocument

from mailpass_common.messages.models import MessageDocument, MessageStatus
from mailpass_common.messages.transitions import CLAIM, RECLAIM
from mailpass_common.platform.db import Collections, Database, now_stamp, where

ACCEPTED_MARK = "~"
_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"  # fixed width: text order is time order


def accepted_token(now: datetime | None = None) -> str:
    """A claim given at acceptance: when it was given, and a random part."""
    given = (now or datetime.now(UTC)).astimezone(UTC)
    return f"{ACCEPTED_MARK}{given.strftime(_TIME_FORMAT)}{ACCEPTED_MARK}{secrets.token_hex(12)}"


def is_accepted(token: str | None) -> bool:
    return bool(token) and str(token).startswith(ACCEPTED_MARK)


def accepted_at(token: str) -> datetime | None:
    """When a claim given at acceptance was given; None for any other token."""
    if not is_accepted(token):
        return None
    try:
        stamp = token[1:].split(ACCEPTED_MARK, 1)[0]
        return datetime.strptime(stamp, _TIME_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        return None


def settled(token: str) -> str:
    """The token an outcome leaves on the message: a claim given at acceptance gives up
    its time (so a later claim of a deferred message finds it below any cutoff)."""
    if is_accepted(token):
        return token.rsplit(ACCEPTED_MARK, 1)[-1]
    return token


def accepted_claim_age(token: str, now: datetime | None = None) -> float | None:
    """Seconds since a claim given at acceptance was given (None: not such a claim)."""
    given = accepted_at(token)
    if given is None:
        return None
    return max(0.0, ((now or datetime.now(UTC)) - given).total_seconds())


def _not_held(lease: timedelta) -> dict[str, Any]:
    """No claim given at acceptance within the lease (any other token, or one that ran out)."""
    cutoff = (datetime.now(UTC) - lease).strftime(_TIME_FORMAT)
    return {"claim_token": {"$lt": f"{ACCEPTED_MARK}{cutoff}"}}


def _claim_update(token: str) -> dict[str, Any]:
    return {
        "$set": CLAIM.fields(claim_token=token),
        "$inc": {"attempts": 1},
        **now_stamp("claimed_at", "updated_at"),
    }


def _expired(lease: timedelta) -> dict[str, Any]:
    """A ``sending`` message whose sender has held it longer than the lease (it died)."""
    return {**RECLAIM.selector(), **where(claimed_at={"$lt": datetime.now(UTC) - lease})}


def claim_selectors(lease: timedelta, held: Sequence[str] = ()) -> list[dict[str, Any]]:
    """Where a claim may take a message from, most common first (nx-27017 cannot index an
    ``$or``, so each is a query of its own): first, when given, ``queued`` under one of the
    ``held`` claims given at acceptance (a first delivery of their job whose claim is too
    old to deliver under: it is taken as a claim of the sender's own); claimable with no
    current claim given at acceptance; claimable and stored before such claims existed
    (no token); ``sending`` whose lease ran out."""
    selectors = [{**CLAIM.selector(), "claim_token": {"$in": list(held)}}] if held else []
    return [
        *selectors,
        {**CLAIM.selector(), **_not_held(lease)},
        {**CLAIM.selector(), **where(claim_token=None)},
        _expired(lease),
    ]


async def claim_one(
    db: Database, message_id: str, lease: timedelta, token: str, held: Sequence[str] = ()
) -> MessageDocument | None:
    """Take one message for delivery and return it, or None if it is not ours to send.

    One round trip in the common case: a claimable status. ``sent`` and ``failed`` are
    never claimed again.
    """
    messages = db[Collections.MESSAGES]
    for selector in claim_selectors(lease, held):
        found = await messages.find_one_and_update(
            {"_id": message_id, **selector},
            _claim_update(token),
            return_document=ReturnDocument.AFTER,
        )
        if found is not None:
            return cast(MessageDocument, found)
    return None


async def claim_many(
    db: Database,
    message_ids: Sequence[str],
    lease: timedelta,
    token: str,
    held: Sequence[str] = (),
) -> list[MessageDocument]:
    """Take every claimable message of ``message_ids`` under one token; return those taken.

    Two round trips for any number of messages (claim, read back), more only when some
    were not claimable by the first selector.
    """
    if len(message_ids) == 1:
        found = await claim_one(db, message_ids[0], lease, token, held)
        return [] if found is None else [found]
    messages = db[Collections.MESSAGES]
    ids = list(message_ids)
    update = _claim_update(token)
    taken = 0
    for selector in claim_selectors(lease, held):
        result = await messages.update_many({"_id": {"$in": ids}, **selector}, update)
        taken += result.modified_count
        if taken >= len(ids):
            break
    if taken == 0:
        return []
    taken_docs = await messages.find({"_id": {"$in": ids}, **where(claim_token=token)}).to_list()
    return cast(list[MessageDocument], taken_docs)


async def read_accepted(db: Database, message_ids: Sequence[str]) -> list[MessageDocument]:
    """The messages of jobs that came with a claim given at acceptance: one read, no write
    (whether each claim holds is the caller's to check against the job's token)."""
    found = await db[Collections.MESSAGES].find({"_id": {"$in": list(message_ids)}}).to_list()
    return cast(list[MessageDocument], found)


def holds(doc: MessageDocument, token: str, usable_for: timedelta) -> bool:
    """Whether ``doc`` is still held by the claim given at acceptance ``token``, with at
    least ``usable_for`` of its lease ahead (else the sender takes a claim of its own)."""
    if doc.get("status") != MessageStatus.QUEUED.value or doc.get("claim_token") != token:
        return False
    age = accepted_claim_age(token)
    return age is not None and age < usable_for.total_seconds()


async def renew_lease(db: Database, message_id: str, token: str) -> str | None:
    """Extend a claim still held under ``token``; the token to go on under (a claim given
    at acceptance is renewed as a new one: its time is in its token), or None when the
    message is no longer ours: its lease ran out and another sender took it over."""
    messages = db[Collections.MESSAGES]
    if is_accepted(token):
        renewed = accepted_token()
        result = await messages.update_one(
            {"_id": message_id, **where(claim_token=token, status=MessageStatus.QUEUED.value)},
            {"$set": {"claim_token": renewed}, **now_stamp("updated_at")},
        )
        return renewed if result.matched_count == 1 else None
    result = await messages.update_one(
        {"_id": message_id, **where(claim_token=token, status=MessageStatus.SENDING.value)},
        now_stamp("claimed_at", "updated_at"),
    )
    return token if result.matched_count == 1 else None


def give_at_acceptance(docs: Sequence[MessageDocument], token: str | None = None) -> str:
    """Store these new messages holding a claim given at acceptance (one for all of them,
    as their jobs will carry it); for messages published right after their insert, and
    never under an Idempotency-Key (a run again publishes with a token of its own)."""
    token = token or accepted_token()
    for doc in docs:
        doc["claim_token"] = token
    return token


def job_claim(doc: MessageDocument) -> str | None:
    """The claim given at acceptance a message's job carries, if it was stored with one."""
    token = doc.get("claim_token")
    return token if token is not None and is_accepted(token) else None


async def give_up(db: Database, message_ids: Sequence[str], tokens: Sequence[str]) -> None:
    """Give up claims given at acceptance (``tokens``) still held by these ``queued``
    messages: any claim takes them from now on."""
    await db[Collections.MESSAGES].update_many(
        {
            "_id": {"$in": list(message_ids)},
            **where(status=MessageStatus.QUEUED.value),
            "claim_token": {"$in": list(tokens)},
        },
        {"$set": {"claim_token": ""}, **now_stamp("updated_at")},
    )
