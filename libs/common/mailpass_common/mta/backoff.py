"""Destinations that asked us to slow down, shared by every sender replica.

A receiving server that answers 421 (closing, RFC 5321 §3.8) or an enhanced status 4.7.x
(a policy deferral: rate limits, greylisting, reputation) is telling the sending *system*
to come back later, not one message. Every sender then leaves that MX host alone for
``MTA_BACKOFF_SECONDS``: its messages are deferred into the delay queues without a
connection, and every other destination goes on as before.

The state is one small document per backed-off host in ``mta_destinations``
(``{_id: host, until, reason}``), written with ``$max`` so that concurrent senders, each
backing off from what they saw, keep the latest end, in one atomic update. A TTL index
removes a document once its ``until`` has passed, so the collection holds only hosts
backed off now. Senders read it whole (an index range on ``until``) at most every
:data:`REFRESH_SECONDS`, not per message: a back-off decided by another replica is seen
within that time, one this sender decides is seen at once.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from datetime import UTC, datetime, timedelta

from prometheus_client import Counter
from pymongo import ASCENDING, IndexModel
from pymongo.errors import PyMongoError

from mailpass_common.platform.db import Database

log = logging.getLogger(__name__)

BACKOFFS = Counter(
    "mailpass_mta_backoffs_total",
    "Times a receiving host asked the MTA to slow down (421 or 4.7.x) and was backed off "
    "for every sender (many in a short time: the sending addresses' reputation).",
)

COLLECTION = "mta_destinations"
REFRESH_SECONDS = 2.0
MAX_TRACKED = 10_000
_POLICY_DEFERRAL = re.compile(r"^\s*4\.7\.\d{1,3}\b")


def asks_to_back_off(code: int, message: str) -> bool:
    """421, or a 4xx reply with enhanced status 4.7.x (RFC 3463 X.7: security or policy)."""
    return code == 421 or (400 <= code < 500 and bool(_POLICY_DEFERRAL.match(message)))


async def ensure_indexes(db: Database) -> None:
    await db[COLLECTION].create_indexes([IndexModel([("until", ASCENDING)], expireAfterSeconds=0)])


class DestinationBackoff:
    """Which MX hosts are backed off now (this replica's view, refreshed every few seconds)."""

    def __init__(self, db: Database, seconds: float, refresh_seconds: float = REFRESH_SECONDS):
        self._db = db
        self._seconds = seconds
        self._refresh_seconds = refresh_seconds
        self._until: dict[str, datetime] = {}
        self._reasons: dict[str, str] = {}
        self._read_at = float("-inf")
        self._refreshing: asyncio.Future[None] | None = None

    async def blocked(self, host: str) -> str | None:
        """Why ``host`` is backed off (its reply and until when), else None."""
        if time.monotonic() - self._read_at >= self._refresh_seconds:
            # One read for every delivery that finds the view old, not one each.
            if self._refreshing is None:
                self._refreshing = asyncio.ensure_future(self._refresh())
                self._refreshing.add_done_callback(self._refreshed)
            await asyncio.shield(self._refreshing)
        until = self._until.get(host)
        if until is None or until <= datetime.now(UTC):
            return None
        reason = self._reasons.get(host, "")
        return f"{host} asked us to slow down ({reason}); resuming after {until:%H:%M:%S} UTC"

    def remaining(self, host: str) -> float:
        """Seconds until ``host``'s back-off ends in this view (0 when it is not backed off)."""
        until = self._until.get(host)
        return 0.0 if until is None else max(0.0, (until - datetime.now(UTC)).total_seconds())

    def _refreshed(self, task: asyncio.Future[None]) -> None:
        self._refreshing = None

    async def _refresh(self) -> None:
        """Read the hosts backed off now. A failed read keeps the view held (a back-off is
        politeness, not a record: deliveries go on while MongoDB is briefly away)."""
        now = datetime.now(UTC)
        until: dict[str, datetime] = {}
        reasons: dict[str, str] = {}
        try:
            cursor = self._db[COLLECTION].find({"until": {"$gt": now}}).limit(MAX_TRACKED)
            async for doc in cursor:
                when = doc["until"]
                until[doc["_id"]] = when if when.tzinfo else when.replace(tzinfo=UTC)
                reasons[doc["_id"]] = str(doc.get("reason", ""))
        except PyMongoError as exc:
            log.warning("back-off state not read; the view held is kept", extra={"error": str(exc)})
        else:
            self._until, self._reasons = until, reasons
        self._read_at = time.monotonic()

    async def back_off(self, host: str, reply: str) -> None:
        """Leave ``host`` alone for the back-off period, here at once and in every replica."""
        BACKOFFS.inc()
        until = datetime.now(UTC) + timedelta(seconds=self._seconds)
        # Stored to the millisecond, as MongoDB keeps dates.
        until = until.replace(microsecond=until.microsecond // 1000 * 1000)
        if self._until.get(host, until - timedelta(seconds=1)) < until:
            self._until[host] = until
            self._reasons[host] = reply
        await self._db[COLLECTION].update_one(
            {"_id": host},
            {"$max": {"until": until}, "$set": {"reason": reply}},
            upsert=True,
        )
