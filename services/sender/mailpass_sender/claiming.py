"""Taking the messages of the jobs that arrived together, in as few round trips as they
allow (:mod:`mailpass_common.messages.claims` says what a claim is).

- A job that carries a claim given at acceptance, delivered by RabbitMQ for the first
  time: its messages are read (one ``find`` for all such jobs of the batch), and each
  message still holding that claim, young enough to deliver under (half a lease ahead,
  as :mod:`mailpass_sender.lease` asks of every delivery), is delivered under it. No write.
- Every other message is claimed (one ``update_many`` and a read back for the lot), and a
  message of a first delivery whose claim given at acceptance is too old to deliver under
  is claimed by that token, so it is never left to the recovery.

A job RabbitMQ redelivers may be one whose first consumer is still at work: its messages
are claimed, and a claim waits for the lease of a claim given at acceptance to run out.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass

from aio_pika.abc import AbstractIncomingMessage

from mailpass_common.messages import claims
from mailpass_common.messages.models import MessageDocument
from mailpass_sender.lease import RENEW_AFTER
from mailpass_sender.models import DeliveryContext
from mailpass_sender.stages import Item


@dataclass(frozen=True)
class Taken:
    item: Item  # the first item of the batch naming the message: it delivers it
    message: MessageDocument
    taken_at: float  # time.monotonic() where its lease started
    accepted: bool  # under the claim given at acceptance (nothing written yet)


def first_delivery(message: AbstractIncomingMessage) -> bool:
    """Whether RabbitMQ delivers this job for the first time (a quorum queue counts
    returns in ``x-delivery-count``; ``redelivered`` says the same on any queue)."""
    if message.redelivered:
        return False
    count = (message.headers or {}).get("x-delivery-count")
    return not count


async def take(ctx: DeliveryContext, items: Sequence[Item]) -> dict[str, Taken]:
    """The messages of ``items`` this sender now holds, by id, each with the first item
    naming it (any other item for the message finds it taken)."""
    first: dict[str, Item] = {}
    for item in items:
        first.setdefault(item.message_id, item)
    offered = {
        message_id: item.delivery.job.claim
        for message_id, item in first.items()
        if item.delivery.job.claim and first_delivery(item.delivery.message)
    }
    taken: dict[str, Taken] = {}
    held: list[str] = []  # claims given at acceptance too old to deliver under
    if offered:
        usable_for = ctx.lease * RENEW_AFTER
        for doc in await claims.read_accepted(ctx.db, list(offered)):
            token = offered[doc["_id"]]
            assert token is not None
            if claims.holds(doc, token, usable_for):
                age = claims.accepted_claim_age(token) or 0.0
                # What a claim would have counted: this attempt.
                doc["attempts"] = int(doc.get("attempts") or 0) + 1
                started = time.monotonic() - age
                taken[doc["_id"]] = Taken(first[doc["_id"]], doc, started, accepted=True)
            elif doc.get("claim_token") == token:
                held.append(token)
    rest = [message_id for message_id in first if message_id not in taken]
    if rest:
        token = secrets.token_hex(12)
        now = time.monotonic()
        for doc in await claims.claim_many(ctx.db, rest, ctx.lease, token, held):
            taken[doc["_id"]] = Taken(first[doc["_id"]], doc, now, accepted=False)
    return taken
