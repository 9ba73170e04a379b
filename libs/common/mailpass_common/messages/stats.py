"""Counts over a window: the console's overview and ``GET /stats``.

A window is a row of UTC-aligned buckets ending now: ``24h`` is 24 hourly buckets (the
current hour and the 23 before it), ``7d`` is 7 daily buckets (today and the 6 days
before). In each bucket:

- the messages accepted in it, by their status now: ``sent``, ``failed`` (``bounced``
  included), and
  ``pending`` (queued, sending or deferred, still on their way);
- the events recorded in it: ``deferred`` (temporary failures, each retry counted),
  ``opens`` and ``clicks`` (machine opens and scanner clicks included, as the tracker
  classifies rather than drops them).

How it is counted, and why so: each bucket is two bounded reads along the index
``(account_id, sandbox, created_at)``, of the messages (projected to ``status``) and of
the events (projected to ``event_type``), counted here. The alternatives fell short:

- an aggregation (``$match`` then ``$group``) is what MongoDB would do best, but
  nx-27017 compares dates in an aggregation's ``$match`` as text in another format than
  it stores them (``$lt`` matched nothing, ``$gte`` everything), and a ``$group`` on a
  key computed from the date falls back to Python and came back wrong;
- ``count_documents`` scans on nx-27017;
- counters kept by the writers would cost nothing to read, but they would add a write
  to the sender's recording of every batch, the hot path, for a number people read a
  few times a day.

So the cost grows with the mail in the window, is paid only when someone looks (the
gateway keeps each answer for ten seconds), and is bounded: a bucket counts at most
its window's ``max_per_bucket`` rows of each kind, and says when it stopped there (``capped``;
the console shows "10,000+"). Accounts sending more than that per hour read their
volumes on the Prometheus dashboards.

Events written before events carried ``sandbox`` are not counted in either mode.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta
from typing import Any

from mailpass_common.messages.models import EventType, MessageStatus
from mailpass_common.platform.db import Collections, Database, where


@dataclass(frozen=True)
class WindowShape:
    buckets: int
    step: timedelta
    max_per_bucket: int  # rows of each kind read per bucket at most


WINDOWS: dict[str, WindowShape] = {
    "24h": WindowShape(24, timedelta(hours=1), 10_000),
    "7d": WindowShape(7, timedelta(days=1), 50_000),
}


@dataclass(frozen=True)
class Counts:
    accepted: int = 0
    sent: int = 0
    failed: int = 0
    pending: int = 0
    deferred: int = 0
    opens: int = 0
    clicks: int = 0

    def __add__(self, other: Counts) -> Counts:
        return Counts(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class Bucket:
    start: datetime
    end: datetime
    counts: Counts
    capped: bool = False  # a count reached the bucket's maximum: the true one may be higher


@dataclass(frozen=True)
class WindowStats:
    window: str
    sandbox: bool
    start: datetime
    end: datetime
    totals: Counts
    buckets: list[Bucket]

    @property
    def capped(self) -> bool:
        return any(bucket.capped for bucket in self.buckets)


def bucket_starts(window: str, now: datetime) -> list[datetime]:
    shape = WINDOWS[window]
    first = now.replace(minute=0, second=0, microsecond=0)
    if shape.step >= timedelta(days=1):
        first = first.replace(hour=0)
    first -= shape.step * (shape.buckets - 1)
    return [first + shape.step * i for i in range(shape.buckets)]


def range_selector(
    account_id: str, sandbox: bool, start: datetime, end: datetime
) -> dict[str, Any]:
    return {
        **where(account_id=account_id, sandbox=sandbox),
        "created_at": {"$gte": start, "$lt": end},
    }


async def _tally(
    db: Database, collection: str, field: str, match: dict[str, Any], cap: int
) -> tuple[Counter[str], bool]:
    found = db[collection].find(match, projection={"_id": 0, field: 1}, batch_size=1000)
    tally: Counter[str] = Counter()
    async for doc in found.limit(cap):
        tally[str(doc.get(field))] += 1
    return tally, sum(tally.values()) >= cap


async def _bucket(
    db: Database, account_id: str, sandbox: bool, start: datetime, end: datetime, cap: int
) -> Bucket:
    match = range_selector(account_id, sandbox, start, end)
    (statuses, messages_capped), (kinds, events_capped) = await asyncio.gather(
        _tally(db, Collections.MESSAGES, "status", match, cap),
        _tally(db, Collections.EVENTS, "event_type", match, cap),
    )
    sent = statuses[MessageStatus.SENT.value]
    # A bounce that came back later is a failure to deliver, like a refusal at once.
    failed = statuses[MessageStatus.FAILED.value] + statuses[MessageStatus.BOUNCED.value]
    accepted = sum(statuses.values())
    counts = Counts(
        accepted=accepted,
        sent=sent,
        failed=failed,
        pending=accepted - sent - failed,
        deferred=kinds[EventType.DEFERRED.value],
        opens=kinds[EventType.OPEN.value],
        clicks=kinds[EventType.CLICK.value],
    )
    return Bucket(start, end, counts, messages_capped or events_capped)


async def window_stats(
    db: Database, account_id: str, *, sandbox: bool, window: str, now: datetime | None = None
) -> WindowStats:
    """Counts of ``window`` (a key of :data:`WINDOWS`) ending ``now``."""
    now = now or datetime.now(UTC)
    starts = bucket_starts(window, now)
    # Up to the end of the current second: nx-27017 compares dates at whole seconds, so
    # a bound within a second would leave out what was accepted earlier in that second.
    until = now.replace(microsecond=0) + timedelta(seconds=1) if now.microsecond else now
    ends = [*starts[1:], until]
    cap = WINDOWS[window].max_per_bucket
    buckets = await asyncio.gather(
        *(
            _bucket(db, account_id, sandbox, start, end, cap)
            for start, end in zip(starts, ends, strict=True)
        )
    )
    totals = Counts()
    for bucket in buckets:
        totals += bucket.counts
    return WindowStats(window, sandbox, starts[0], until, totals, list(buckets))
