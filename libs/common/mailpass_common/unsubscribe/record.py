"""What following an unsubscribe link does: the recipient is suppressed for the account,
reason ``unsubscribed``, at once; the account's webhooks hear of it as an
``unsubscribed`` event (:func:`mailpass_common.suppressions.service.on_suppressed`). Following
it again changes nothing (the first reason is kept)."""

from __future__ import annotations

from mailpass_common.platform.db import Database
from mailpass_common.suppressions import service as suppressions
from mailpass_common.unsubscribe.links import UnsubscribeLink


async def unsubscribe(db: Database, link: UnsubscribeLink, *, source: str) -> bool:
    """Suppress the link's recipient; whether it was not suppressed before."""
    added = await suppressions.add_many(
        db,
        [
            suppressions.Suppression(
                account_id=link.account_id,
                address=link.recipient,
                reason=suppressions.SuppressionReason.UNSUBSCRIBED,
                source=source,
                message_id=link.message_id,
            )
        ],
    )
    return bool(added)
