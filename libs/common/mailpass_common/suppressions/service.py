"""The suppression list: addresses an account no longer sends to, and why.

An address lands here when a provider refused it for good (an SMTP 5xx on RCPT, reported
by the sender; a bounce or a complaint a provider's event webhook reported), or when the
account put it there. The gateway refuses a send to it without contacting any provider.

One document per account and address; its ``_id`` is ``"<account_id>/<address>"`` with
the address lower-cased. Every query is index-served on MongoDB and on nx-27017:

- the gateway's check: ``{"_id": {"$in": [...]}}`` over a request's (or a whole
  batch's) recipients, one round trip (nx-27017 indexes an ``$in`` on ``_id`` only);
- the list: a range of ``address`` within the account (index ``account_id, address``;
  nx-27017 serves no range on ``_id``), in address order, a page at a time (the cursor
  is the last address), optionally from an address prefix.

Inserts keep the first reason (``$setOnInsert``): a second bounce of an address already
on the list changes nothing and raises no new :func:`on_suppressed`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pymongo import UpdateOne

from mailpass_common.platform.db import Collections, Database, Document, where
from mailpass_common.platform.telemetry import log_fields
from mailpass_common.webhooks import outbox
from mailpass_common.webhooks.endpoints import EndpointDirectory, WebhookEventType

log = logging.getLogger(__name__)

MAX_PAGE = 500
IN_ADDRESS_ORDER = [("account_id", 1), ("address", 1)]
MAX_DETAIL_CHARS = 500


class SuppressionReason(StrEnum):
    BOUNCE = "bounce"  # the provider refused the address for good
    COMPLAINT = "complaint"  # the recipient marked a message as spam
    MANUAL = "manual"  # added by the account (API or console)
    UNSUBSCRIBED = "unsubscribed"  # the recipient followed an unsubscribe link (RFC 8058)


@dataclass(frozen=True)
class Suppression:
    account_id: str
    address: str
    reason: SuppressionReason
    source: str  # a provider type's event hook, smtp, dsn, arf, unsubscribe, api, console
    message_id: str | None = None  # the message that caused it, when known
    detail: str = ""  # the provider's reply, as given

    @property
    def key(self) -> str:
        return suppression_id(self.account_id, self.address)

    def document(self, now: datetime) -> Document:
        return {
            "_id": self.key,
            "account_id": self.account_id,
            "address": normalized(self.address),
            "reason": self.reason.value,
            "source": self.source,
            "message_id": self.message_id,
            "detail": self.detail[:MAX_DETAIL_CHARS],
            "created_at": now,
        }


def normalized(address: str) -> str:
    """The form an address is listed under: trimmed, lower-cased. (Local parts are
    case-sensitive in theory; no mailbox provider treats them so, and a suppression
    that misses ``Ann@`` after a bounce of ``ann@`` would defeat the list.)"""
    return address.strip().lower()


def suppression_id(account_id: str, address: str) -> str:
    return f"{account_id}/{normalized(address)}"


async def suppressed(db: Database, account_id: str, addresses: Iterable[str]) -> dict[str, str]:
    """Which of ``addresses`` the account suppresses: normalized address → reason. One
    index lookup for any number of addresses."""
    [found] = await suppressed_each(db, [(account_id, tuple(addresses))])
    return found


async def suppressed_each(
    db: Database, asks: Sequence[tuple[str, Sequence[str]]]
) -> list[dict[str, str]]:
    """Several lookups (an account and its addresses each) in one index lookup, each
    answered as :func:`suppressed` answers it. What a
    :class:`~mailpass_common.platform.coalesce.Coalescer` of lookups runs."""
    wanted = [{suppression_id(account_id, a) for a in addresses} for account_id, addresses in asks]
    ids = sorted(set().union(*wanted))
    if not ids:
        return [{} for _ in asks]
    found = {
        doc["_id"]: (str(doc["address"]), str(doc.get("reason") or ""))
        for doc in await db[Collections.SUPPRESSIONS]
        .find({"_id": {"$in": ids}}, projection={"address": 1, "reason": 1})
        .to_list()
    }
    return [dict(found[i] for i in sorted(mine) if i in found) for mine in wanted]


async def add_many(db: Database, entries: Sequence[Suppression]) -> list[Suppression]:
    """Put addresses on their accounts' lists in one round trip; return those that were
    not listed yet (each is announced once through :func:`on_suppressed`)."""
    unique = list({e.key: e for e in entries}.values())
    if not unique:
        return []
    now = datetime.now(UTC)
    now = now.replace(microsecond=now.microsecond // 1000 * 1000)
    result = await db[Collections.SUPPRESSIONS].bulk_write(
        [UpdateOne({"_id": e.key}, {"$setOnInsert": e.document(now)}, upsert=True) for e in unique],
        ordered=False,
    )
    added = [unique[index] for index in sorted(result.upserted_ids or {})]
    if added:
        await on_suppressed(db, added)
    return added


# What a new suppression is reported as to the account's webhooks (manual ones are not).
WEBHOOK_EVENT_OF = {
    SuppressionReason.BOUNCE: WebhookEventType.BOUNCED,
    SuppressionReason.COMPLAINT: WebhookEventType.COMPLAINED,
    SuppressionReason.UNSUBSCRIBED: WebhookEventType.UNSUBSCRIBED,
}


async def on_suppressed(db: Database, added: Sequence[Suppression]) -> None:
    """Addresses that were just suppressed: every path that suppresses ends here once.
    Bounces, complaints and unsubscribes become the account's ``bounced``, ``complained``
    and ``unsubscribed`` webhook events, written to the webhook outbox in one round trip
    (none for an account without endpoints)."""
    events = [
        outbox.WebhookEvent(
            entry.account_id,
            WEBHOOK_EVENT_OF[entry.reason].value,
            {
                "address": normalized(entry.address),
                "message_id": entry.message_id,
                "source": entry.source,
                "detail": entry.detail[:MAX_DETAIL_CHARS],
            },
            key=f"suppressed:{entry.key}:{entry.message_id or ''}",
        )
        for entry in added
        if entry.reason in WEBHOOK_EVENT_OF
    ]
    if events:
        await outbox.emit_many(db, EndpointDirectory(db, 0), events)
    for entry in added:
        log.info(
            "address suppressed",
            extra=log_fields(
                account_id=entry.account_id,
                reason=entry.reason.value,
                source=entry.source,
                message_id=entry.message_id,
            ),
        )


async def remove(db: Database, account_id: str, address: str) -> bool:
    result = await db[Collections.SUPPRESSIONS].delete_one(
        {"_id": suppression_id(account_id, address)}
    )
    return result.deleted_count == 1


async def get(db: Database, account_id: str, address: str) -> Document | None:
    return await db[Collections.SUPPRESSIONS].find_one({"_id": suppression_id(account_id, address)})


def page_selector(account_id: str, *, prefix: str = "", after: str | None = None) -> dict[str, Any]:
    """The account's entries in address order, from ``prefix`` and past ``after``."""
    low = normalized(prefix)
    start = {"$gte": low} if after is None else {"$gt": normalized(after)}
    return where(account_id=account_id, address={**start, "$lt": low + "\U0010ffff"})


async def page(
    db: Database, account_id: str, *, limit: int, prefix: str = "", after: str | None = None
) -> tuple[list[Document], str | None]:
    """Up to ``limit`` entries in address order, and the cursor of the next page."""
    limit = max(1, min(limit, MAX_PAGE))
    found = await (
        db[Collections.SUPPRESSIONS]
        .find(page_selector(account_id, prefix=prefix, after=after))
        .sort(IN_ADDRESS_ORDER)
        .limit(limit + 1)
        .to_list()
    )
    more = len(found) > limit
    found = found[:limit]
    return found, (str(found[-1]["address"]) if more and found else None)
