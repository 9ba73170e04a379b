"""Keeping a claim while a delivery takes long.

A claim is a lease: after ``sender_lease_seconds`` without an outcome, the scheduler's
recovery (or another job) may take the message over, so a sender still at work would
deliver it a second time. A chain of providers that time out one after the other can
outlast the lease (four SMTP timeouts of 30 s are the whole default lease). So before
offering the message to the next provider, a sender whose claim is older than half the
lease renews it: one conditional update under the same claim token. Each provider thus
starts with at least half a lease ahead of it (keep provider timeouts below that). A
delivery that finishes within half a lease, nearly all of them, costs nothing.

If the renewal finds the message no longer ours, the chain stops: whoever holds it now
delivers it. A claim given at acceptance renews as a new one (its time is in its token):
the outcome is then recorded under :attr:`Lease.token`.
"""

from __future__ import annotations

import time
from datetime import timedelta

from mailpass_common.messages import claims
from mailpass_common.platform.db import Database

RENEW_AFTER = 0.5  # of the lease


class Lease:
    def __init__(
        self, db: Database, message_id: str, token: str, lease: timedelta, taken_at: float
    ) -> None:
        self._db = db
        self._message_id = message_id
        self.token = token
        self._renew_after = lease.total_seconds() * RENEW_AFTER
        self._since = taken_at  # time.monotonic() of the claim or the last renewal
        self.renewals = 0

    async def keep(self) -> bool:
        """Whether the message is still ours, renewing the claim when it is getting old."""
        now = time.monotonic()
        if now - self._since < self._renew_after:
            return True
        renewed = await claims.renew_lease(self._db, self._message_id, self.token)
        if renewed is None:
            return False
        self.token = renewed
        self._since = now
        self.renewals += 1
        return True
