"""Bounces seen at delivery (an SMTP 5xx on RCPT about the address) go on the account's
suppression list (:mod:`mailpass_common.suppressions.service`), recorded with the batch of
outcomes they came with (:func:`mailpass_sender.flows.record`)."""

from __future__ import annotations

from collections.abc import Iterable

from mailpass_common.messages.models import MessageDocument
from mailpass_common.platform.db import Database
from mailpass_common.providers.delivery.base import Bounce
from mailpass_common.suppressions import service as suppressions


async def suppress_bounced(db: Database, bounced: Iterable[tuple[MessageDocument, Bounce]]) -> None:
    """Suppress every bounced address: one round trip for the batch, none when nothing
    bounced. Sandbox deliveries reach the operator's capture server only: not counted."""
    await suppressions.add_many(
        db,
        [
            suppressions.Suppression(
                account_id=message["account_id"],
                address=bounce.address,
                reason=suppressions.SuppressionReason.BOUNCE,
                source="smtp",
                message_id=message["_id"],
                detail=bounce.reply,
            )
            for message, bounce in bounced
            if not message.get("sandbox")
        ],
    )
