"""The per-key request rate limit of the API, and its IETF ``RateLimit`` headers.

Where the counter lives: in MongoDB, shared by every gateway replica and worker. A
counter in each process would let N replicas take N times the limit, and the limit would
change with the replica count; a shared counter is exact whatever the deployment.
It costs one round trip per authenticated request, or fewer: one upsert with ``$inc``
on the counter's ``_id`` (``"<key hash>:<window>"``), which returns the new count; the
requests of one key in flight together are counted by one upsert of their number
(:class:`RequestCounter`), each given its own count as if they had come one by one, so
the counts, the refusals and the headers are what single increments give. Windows are
fixed (``API_RATE_LIMIT_WINDOW_SECONDS``, aligned on the epoch); each counter document
carries its expiry and a TTL index removes it after its window. Every request counts,
refused ones included, so a client that keeps hammering stays refused until the window
ends. ``API_RATE_LIMIT=0`` turns the limit off (the headers go with it).

Headers (draft-ietf-httpapi-ratelimit-headers, the structured-field form):
``RateLimit-Policy: "key";q=<limit>;w=<window seconds>`` on every API answer, and
``RateLimit: "key";r=<remaining>;t=<seconds until the window ends>`` once the key is
known; a refusal is 429 ``RATE_LIMITED`` with ``Retry-After``.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from mailpass_common.platform.coalesce import Coalescer
from mailpass_common.platform.db import Database
from mailpass_common.platform.errors import ErrorCode
from mailpass_common.platform.telemetry import log_fields
from mailpass_gateway.errors import ApiError

log = logging.getLogger(__name__)

COLLECTION = "api_request_counts"
POLICY_NAME = "key"


@dataclass(frozen=True)
class RateLimitPolicy:
    limit: int
    window_seconds: int

    @property
    def enabled(self) -> bool:
        return self.limit > 0

    def header(self) -> str:
        return f'"{POLICY_NAME}";q={self.limit};w={self.window_seconds}'


@dataclass(frozen=True)
class RateLimitState:
    policy: RateLimitPolicy
    count: int
    resets_in: int  # whole seconds until the window ends, at least 1

    @property
    def remaining(self) -> int:
        return max(0, self.policy.limit - self.count)

    @property
    def exceeded(self) -> bool:
        return self.count > self.policy.limit

    def header(self) -> str:
        return f'"{POLICY_NAME}";r={self.remaining};t={self.resets_in}'


async def ensure_indexes(db: Database) -> None:
    await db[COLLECTION].create_index("expires_at", expireAfterSeconds=0)


async def _count(db: Database, counter: str, ends: int, requests: int) -> int:
    """Adds ``requests`` to the window's counter; the count after them."""
    update = {
        "$inc": {"count": requests},
        "$setOnInsert": {"expires_at": datetime.fromtimestamp(ends, UTC) + timedelta(seconds=5)},
    }
    counters = db[COLLECTION]
    try:
        doc = await counters.find_one_and_update(
            {"_id": counter}, update, upsert=True, return_document=ReturnDocument.AFTER
        )
    except DuplicateKeyError:  # two first requests of a window upserted at once: it exists
        doc = await counters.find_one_and_update(
            {"_id": counter}, update, return_document=ReturnDocument.AFTER
        )
    assert doc is not None  # upserted, or made by the racer
    return int(doc["count"])


class RequestCounter:
    """Counts each authenticated request of a key in the current window (the state after
    it). The requests in flight together are counted by one upsert per key (and window)
    of their number, and each gets its own count, in the order they came: the counts
    single increments would have given them."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._grouped: Coalescer[tuple[str, int], int] = Coalescer(self._count_each)

    async def count(
        self, policy: RateLimitPolicy, key_hash: str, now: float | None = None
    ) -> RateLimitState:
        now = time.time() if now is None else now
        window = int(now // policy.window_seconds)
        ends = (window + 1) * policy.window_seconds
        count = await self._grouped.submit((f"{key_hash}:{window}", ends))
        return RateLimitState(policy, count, max(1, math.ceil(ends - now)))

    async def _count_each(self, items: Sequence[tuple[str, int]]) -> list[int | BaseException]:
        by_counter: dict[str, list[int]] = {}
        for index, (counter, _) in enumerate(items):
            by_counter.setdefault(counter, []).append(index)
        totals = await asyncio.gather(
            *(
                _count(self._db, counter, items[indexes[0]][1], len(indexes))
                for counter, indexes in by_counter.items()
            ),
            return_exceptions=True,
        )
        outcomes: list[int | BaseException] = [0] * len(items)
        for indexes, total in zip(by_counter.values(), totals, strict=True):
            for place, index in enumerate(indexes):
                if isinstance(total, BaseException):
                    outcomes[index] = total
                else:  # the last of them has the total; those before, one less each
                    outcomes[index] = total - (len(indexes) - 1 - place)
        return outcomes


def refusal(state: RateLimitState, account_id: str) -> ApiError:
    log.info(
        "request rate limited",
        extra=log_fields(account_id=account_id, limit=state.policy.limit, count=state.count),
    )
    return ApiError(
        ErrorCode.RATE_LIMITED,
        f"This API key made more than {state.policy.limit} requests in "
        f"{state.policy.window_seconds} s; retry in {state.resets_in} s",
        {
            "limit": state.policy.limit,
            "window_seconds": state.policy.window_seconds,
            "retry_after_seconds": state.resets_in,
        },
        headers={"Retry-After": str(state.resets_in)},
    )
