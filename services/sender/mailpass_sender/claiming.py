"""Taking the messages of the jobs that arrived together, in as few round trips as they
allow (:mod:`mailpass_common.messages.claims` says what a claim is).

- A job that carries a claim given at acceptance, delivered by RabbitMQ for the first
  time: its messages are read (one ``find`` for all such jobs of the batch), and each
  message still holding that claim, young enough to deliver under (half a lease ahead,
  as :mod:`mailpass_sender.lease` asks of every delivery), is delivered under it. No write.
- Every other message is claimed (one ``update_many`` and a read back for the lot), and a
  message of a first delivery whose claim given at acceptance is too old to deliver under
  is claimed by that token, so it is never left to the recovery.

A job RabbitMQ redelivers may be one whose first consumer is still at work (or died
holding it, or gave it back): a message still holding that job's claim given at
acceptance within its lease is not delivered now. Its job is parked in a delay queue (as
a retry is, :mod:`mailpass_sender.router`) for the rest of that lease, and comes back as
a job of its own that claims it, unless it was delivered meanwhile. No recovery is needed.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass

from aio_pika.abc import AbstractIncomingMessage

from mailpass_common.messages import claims
from mailpass_common.messages.models import MessageDocument, MessageStatus
from mailpass_common.platform.jobs import MessageKind, SendJob
from mailpass_common.platform.telemetry import log_fields
from mailpass_sender.lease import RENEW_AFTER
from mailpass_sender.models import DeliveryContext
from mailpass_sender.retry import RetryDelay
from mailpass_sender.stages import Item

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Taken:
    item: Item  # the first item of the batch naming the message: it delivers it
    message: MessageDocument
    taken_at: float  # time.monotonic() where its lease started


def first_delivery(message: AbstractIncomingMessage) -> bool:
    """Whether RabbitMQ delivers this job for the first time (a quorum queue counts
    returns in ``x-delivery-count``; ``redelivered`` says the same on any queue)."""
    if message.redelivered:
        return False
    count = (message.headers or {}).get("x-delivery-count")
    return not count


def _first(item: Item) -> bool:
    return first_delivery(item.delivery.message)


async def take(ctx: DeliveryContext, kind: MessageKind, items: Sequence[Item]) -> dict[str, Taken]:
    """The messages of ``items`` this sender now holds, by id, each with the first item
    naming it (any other item for the message finds it taken, or waiting: parked)."""
    first: dict[str, Item] = {}
    # A first delivery of a job with a claim stands for its message before any other job
    # for it (a republished one beside the original).
    for item in sorted(items, key=lambda i: not (i.delivery.job.claim and _first(i))):
        first.setdefault(item.message_id, item)
    offered = {mid: item for mid, item in first.items() if item.delivery.job.claim}
    taken: dict[str, Taken] = {}
    held: set[str] = set()  # claims given at acceptance to take as claims of this sender's
    waiting: dict[str, float] = {}  # redelivered: seconds left on their claim's lease
    if offered:
        for doc in await claims.read_accepted(ctx.db, list(offered)):
            item = offered[doc["_id"]]
            token = item.delivery.job.claim
            assert token is not None
            if doc.get("status") != MessageStatus.QUEUED.value or doc.get("claim_token") != token:
                continue  # claimed as any other message
            age = claims.accepted_claim_age(token) or 0.0
            if _first(item) and claims.holds(doc, token, ctx.lease * RENEW_AFTER):
                # What a claim would have counted: this attempt.
                doc["attempts"] = int(doc.get("attempts") or 0) + 1
                started = time.monotonic() - age
                taken[doc["_id"]] = Taken(item, doc, started)
            elif _first(item) or age >= ctx.lease.total_seconds():
                held.add(token)
            else:
                waiting[doc["_id"]] = ctx.lease.total_seconds() - age
    await _wait_out(ctx, kind, [(first[mid], left) for mid, left in waiting.items()])
    rest = [mid for mid in first if mid not in taken and mid not in waiting]
    if rest:
        token = secrets.token_hex(12)
        now = time.monotonic()
        for doc in await claims.claim_many(ctx.db, rest, ctx.lease, token, sorted(held)):
            taken[doc["_id"]] = Taken(first[doc["_id"]], doc, now)
    return taken


async def _wait_out(
    ctx: DeliveryContext, kind: MessageKind, waiting: list[tuple[Item, float]]
) -> None:
    """Park a job for each message whose claim given at acceptance another consumer of
    its job may still hold: back when that lease has run out (a second to spare)."""
    for item, seconds_left in waiting:
        job = SendJob(item.delivery.job.account_id, (item.message_id,))
        delay = RetryDelay(ctx.lease.total_seconds(), seconds_left + 1.0)
        await ctx.router.retry_later(job, kind, delay)
        log.info(
            "redelivered job parked: its claim given at acceptance may still be held",
            extra=log_fields(message_id=item.message_id, seconds=round(seconds_left, 1)),
        )


async def give_up(ctx: DeliveryContext, items: Sequence[Item]) -> None:
    """Give up the claims given at acceptance of messages this sender will not deliver
    now (held for a suspended account): the job that publishes them again claims them at
    once. Best effort: a claim kept runs out with its lease."""
    tokens = {i.delivery.job.claim for i in items if i.delivery.job.claim}
    if not tokens:
        return
    try:
        await claims.give_up(ctx.db, [i.message_id for i in items], sorted(tokens))
    except Exception:
        log.warning("claims given at acceptance not given up", exc_info=True)
