"""The per-key request rate limit of the API, and its IETF ``RateLimit`` headers.

Where the counter lives: in MongoDB, shared by every gateway replica and worker. A
counter in each process would let N replicas take N times the limit, and the limit would
change with the replica count; a shared counter is exact whatever the deployment.
It costs one round trip per authenticated request: one upsert with ``$inc`` on the
counter's ``_id`` (``"<key hash>:<window>"``), which returns the new count. Windows are
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

import logging
import math
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

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


async def count_request(
    db: Database, policy: RateLimitPolicy, key_hash: str, now: float | None = None
) -> RateLimitState:
    """Counts one request of the key in the current window; the state after it."""
    now = time.time() if now is None else now
    window = int(now // policy.window_seconds)
    ends = (window + 1) * policy.window_seconds
    counter = f"{key_hash}:{window}"
    update = {
        "$inc": {"count": 1},
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
    return RateLimitState(policy, int(doc["count"]), max(1, math.ceil(ends - now)))


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
