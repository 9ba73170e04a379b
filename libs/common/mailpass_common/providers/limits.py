"""Per-provider hourly and daily send limits: one counter document per provider.

``{_id: "limits:{provider}", hour: "2026112414", hour_count, day: "20261124", day_count}``

A reservation of ``n`` sends is one conditional ``$inc`` that matches only while every
configured window is current and stays within its limit, so concurrent requests never
overshoot, and the common case costs one round trip for both windows together. When it
does not match, the document is read to tell why: it does not exist yet (it is created,
then the reservation is tried again), a window has rolled over (reset by a conditional
update that only one racer wins, then tried again), or a window is full (refused, with
the time until that window ends). Windows are UTC.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pymongo.errors import DuplicateKeyError

from mailpass_common.platform.db import Collections, Database, Document, where
from mailpass_common.providers.models import ProviderDocument

# Races (another reservation, a window reset) make a reservation look again; this many
# looks is far beyond what they can cause.
_ATTEMPTS = 8


@dataclass(frozen=True)
class Window:
    name: str  # "hourly" | "daily"
    key_field: str
    count_field: str
    key: str  # the current window, e.g. "2026112414"
    limit: int
    ends_at: datetime


@dataclass(frozen=True)
class LimitExceeded:
    window: str  # "hourly" | "daily"
    limit: int
    retry_after_seconds: int


def counter_id(provider_id: str) -> str:
    return f"limits:{provider_id}"


def windows(provider: ProviderDocument, now: datetime | None = None) -> list[Window]:
    """The provider's configured windows at ``now`` (none when it has no limits)."""
    now = now or datetime.now(UTC)
    hour_start = now.replace(minute=0, second=0, microsecond=0)
    day_start = hour_start.replace(hour=0)
    found = []
    hourly, daily = provider.get("hourly_limit"), provider.get("daily_limit")
    if hourly is not None:
        found.append(
            Window(
                "hourly",
                "hour",
                "hour_count",
                f"{hour_start:%Y%m%d%H}",
                int(hourly),
                hour_start + timedelta(hours=1),
            )
        )
    if daily is not None:
        found.append(
            Window(
                "daily",
                "day",
                "day_count",
                f"{day_start:%Y%m%d}",
                int(daily),
                day_start + timedelta(days=1),
            )
        )
    return found


def _used(doc: Document | None, window: Window) -> int:
    """Sends counted in the current window (a stored older window counts as empty)."""
    if doc is None or str(doc.get(window.key_field)) < window.key:
        return 0
    return int(doc.get(window.count_field) or 0)


def _exceeded(window: Window, now: datetime) -> LimitExceeded:
    retry_after = max(1, int((window.ends_at - now).total_seconds()) + 1)
    return LimitExceeded(window.name, window.limit, retry_after)


async def _roll_over(db: Database, doc_id: str, doc: Document | None, found: list[Window]) -> bool:
    """Create the counter, or reset windows that ended; True when anything changed."""
    counters = db[Collections.COUNTERS]
    if doc is None:
        fields: Document = {"_id": doc_id}
        for window in found:
            fields |= {window.key_field: window.key, window.count_field: 0}
        with contextlib.suppress(DuplicateKeyError):  # created by a concurrent request
            await counters.insert_one(fields)
        return True
    changed = False
    for window in found:
        stored = doc.get(window.key_field)
        if stored is None or str(stored) < window.key:
            # Conditional on the old window: of racing resets, one wins, none undoes another.
            await counters.update_one(
                {"_id": doc_id, window.key_field: stored},
                {"$set": {window.key_field: window.key, window.count_field: 0}},
            )
            changed = True
    return changed


async def reserve(db: Database, provider: ProviderDocument, n: int = 1) -> LimitExceeded | None:
    """Count ``n`` sends against every window of the provider, or none if one is full."""
    now = datetime.now(UTC)
    found = windows(provider, now)
    if not found:
        return None
    for window in found:
        if n > window.limit:
            return _exceeded(window, now)
    doc_id = counter_id(provider["_id"])
    counters = db[Collections.COUNTERS]
    for _ in range(_ATTEMPTS):
        selector: Document = {"_id": doc_id}
        for window in found:
            selector |= where(**{window.key_field: window.key})
            selector[window.count_field] = {"$lte": window.limit - n}
        increments = {window.count_field: n for window in found}
        if (await counters.update_one(selector, {"$inc": increments})).modified_count == 1:
            return None
        doc = await counters.find_one({"_id": doc_id})
        if await _roll_over(db, doc_id, doc, found):
            continue
        assert doc is not None
        full = [w for w in found if _used(doc, w) + n > w.limit]
        if full:
            return _exceeded(full[0], now)
        # A window newer than our clock (another process's clock runs ahead): use it.
        found = [
            Window(w.name, w.key_field, w.count_field, str(doc[w.key_field]), w.limit, w.ends_at)
            if str(doc.get(w.key_field)) > w.key
            else w
            for w in found
        ]
    return _exceeded(found[0], now)


async def usage(db: Database, provider: ProviderDocument) -> dict[str, int]:
    """Sends counted in each configured window now, e.g. ``{"hourly": 12, "daily": 340}``."""
    doc = await db[Collections.COUNTERS].find_one({"_id": counter_id(provider["_id"])})
    return {window.name: _used(doc, window) for window in windows(provider)}


async def remaining(db: Database, provider: ProviderDocument) -> int | None:
    """How many more sends the provider's windows allow now (None: no limit)."""
    found = windows(provider)
    if not found:
        return None
    doc = await db[Collections.COUNTERS].find_one({"_id": counter_id(provider["_id"])})
    return max(0, min(w.limit - _used(doc, w) for w in found))


async def reserve_up_to(db: Database, provider: ProviderDocument, n: int) -> int:
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


async def give_back(db: Database, provider: ProviderDocument, n: int = 1) -> None:
    """Return ``n`` reserved sends that did not go out (only to windows still current)."""
    counters = db[Collections.COUNTERS]
    for window in windows(provider):
        await counters.update_one(
            {"_id": counter_id(provider["_id"]), **where(**{window.key_field: window.key})},
            {"$inc": {window.count_field: -n}},
        )
