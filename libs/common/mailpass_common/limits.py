"""Per-provider hourly and daily send limits as atomic counters in MongoDB.

One counter document per provider and window (``{provider}:h:2026112314``,
``{provider}:d:20261123``). A reservation is a conditional ``$inc`` that matches only
while the count stays within the limit, so concurrent requests never overshoot; the
hourly counter is taken first and given back if the daily one is full. Windows are UTC
and expire through a TTL index.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from mailpass_common.db import Database, Document
from mailpass_common.documents import Collections


@dataclass(frozen=True)
class Window:
    key: str
    limit: int
    ends_at: datetime


@dataclass(frozen=True)
class LimitExceeded:
    window: str  # "hourly" | "daily"
    limit: int
    retry_after_seconds: int


def windows(provider: Document, now: datetime) -> list[tuple[str, Window]]:
    hour_start = now.replace(minute=0, second=0, microsecond=0)
    day_start = hour_start.replace(hour=0)
    found = []
    if provider.get("hourly_limit") is not None:
        key = f"{provider['_id']}:h:{hour_start:%Y%m%d%H}"
        hour_end = hour_start + timedelta(hours=1)
        found.append(("hourly", Window(key, int(provider["hourly_limit"]), hour_end)))
    if provider.get("daily_limit") is not None:
        key = f"{provider['_id']}:d:{day_start:%Y%m%d}"
        found.append(
            ("daily", Window(key, int(provider["daily_limit"]), day_start + timedelta(days=1)))
        )
    return found


async def _ensure(db: Database, window: Window) -> None:
    # A concurrent request may create it at the same moment: that is fine.
    with contextlib.suppress(DuplicateKeyError):
        await db[Collections.COUNTERS].update_one(
            {"_id": window.key},
            # Kept a day past the window's end, then removed by the TTL index.
            {"$setOnInsert": {"count": 0, "expires_at": window.ends_at + timedelta(days=1)}},
            upsert=True,
        )


async def _take(db: Database, window: Window, n: int) -> bool:
    await _ensure(db, window)
    found = await db[Collections.COUNTERS].find_one_and_update(
        {"_id": window.key, "count": {"$lte": window.limit - n}},
        {"$inc": {"count": n}},
        return_document=ReturnDocument.AFTER,
    )
    return found is not None


async def _give_back(db: Database, window: Window, n: int) -> None:
    await db[Collections.COUNTERS].update_one({"_id": window.key}, {"$inc": {"count": -n}})


async def reserve(db: Database, provider: Document, n: int = 1) -> LimitExceeded | None:
    """Count ``n`` sends against every window of the provider, or none if one is full."""
    now = datetime.now(UTC)
    taken: list[Window] = []
    for name, window in windows(provider, now):
        if n > window.limit or not await _take(db, window, n):
            for done in taken:
                await _give_back(db, done, n)
            retry_after = max(1, int((window.ends_at - now).total_seconds()) + 1)
            return LimitExceeded(name, window.limit, retry_after)
        taken.append(window)
    return None


async def remaining(db: Database, provider: Document) -> int | None:
    """How many more sends the provider's windows allow now (None: no limit)."""
    now = datetime.now(UTC)
    room: int | None = None
    for _, window in windows(provider, now):
        doc = await db[Collections.COUNTERS].find_one({"_id": window.key})
        left = window.limit - int(doc["count"] if doc else 0)
        room = left if room is None else min(room, left)
    return None if room is None else max(0, room)


async def reserve_up_to(db: Database, provider: Document, n: int) -> int:
    """Reserve as many of ``n`` sends as fit now (the scheduler's batches); returns how many."""
    while n > 0:
        room = await remaining(db, provider)
        if room is None:
            return n
        want = min(n, room)
        if want == 0:
            return 0
        if await reserve(db, provider, want) is None:
            return want
        # Another reservation took the room in between: look again with what is left.
    return 0
