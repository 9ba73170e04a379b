"""Window counts: each message and event in its UTC bucket, live and test apart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mailpass_common.messages import events, stats
from mailpass_common.messages import service as messages
from mailpass_common.messages.models import EventType
from mailpass_common.messages.stats import Counts
from mailpass_common.platform.db import Database
from tests.history.test_message_search import message

NOW = datetime(2026, 11, 24, 12, 30, tzinfo=UTC)


def event(
    kind: EventType, at: datetime, *, sandbox: bool = False, account: str = "acc_a"
) -> dict[str, object]:
    return events.event_document(
        message_id="<m@x>", account_id=account, event_type=kind, sandbox=sandbox, created_at=at
    )


async def test_messages_by_status_and_events_by_type_fall_in_their_buckets(db: Database) -> None:
    await messages.insert_messages(
        db,
        [
            message(1, NOW - timedelta(minutes=5), status="sent"),
            message(2, NOW - timedelta(minutes=25), status="failed"),
            message(3, NOW - timedelta(minutes=31), status="deferred"),  # the hour before
            message(4, NOW - timedelta(hours=23, minutes=20), status="sent"),  # bucket 0
            message(5, NOW - timedelta(hours=25), status="sent"),  # in 7d, not in 24h
            message(6, NOW - timedelta(days=8), status="sent"),  # in neither
            message(7, NOW - timedelta(minutes=1), status="sent", sandbox=True),
            message(8, NOW - timedelta(minutes=1), status="sent", account_id="acc_b"),
            message(9, NOW + timedelta(minutes=1), status="sent"),  # after now
        ],
    )
    await events.insert_events(
        db,
        [
            event(EventType.OPEN, NOW - timedelta(minutes=2)),
            event(EventType.OPEN, NOW - timedelta(minutes=3)),
            event(EventType.CLICK, NOW - timedelta(minutes=2)),
            event(EventType.DEFERRED, NOW - timedelta(hours=2)),
            event(EventType.QUEUED, NOW - timedelta(hours=2)),  # a replay: not a count
            event(EventType.OPEN, NOW - timedelta(minutes=2), sandbox=True),
            event(EventType.OPEN, NOW - timedelta(minutes=2), account="acc_b"),
        ],
    )

    day = await stats.window_stats(db, "acc_a", sandbox=False, window="24h", now=NOW)
    assert len(day.buckets) == 24
    assert day.start == datetime(2026, 11, 23, 13, tzinfo=UTC) and day.end == NOW
    assert [b.end for b in day.buckets[:-1]] == [b.start for b in day.buckets[1:]]
    assert day.buckets[-1].counts == Counts(accepted=2, sent=1, failed=1, opens=2, clicks=1)
    assert day.buckets[-2].counts == Counts(accepted=1, pending=1)
    assert day.buckets[-3].counts == Counts(deferred=1)
    assert day.buckets[0].counts == Counts(accepted=1, sent=1)
    assert day.totals == Counts(
        accepted=4, sent=2, failed=1, pending=1, deferred=1, opens=2, clicks=1
    )

    week = await stats.window_stats(db, "acc_a", sandbox=False, window="7d", now=NOW)
    assert [b.start for b in week.buckets] == [
        datetime(2026, 11, 18 + i, tzinfo=UTC) for i in range(7)
    ]
    assert week.totals == Counts(
        accepted=5, sent=3, failed=1, pending=1, deferred=1, opens=2, clicks=1
    )

    test = await stats.window_stats(db, "acc_a", sandbox=True, window="24h", now=NOW)
    assert test.totals == Counts(accepted=1, sent=1, opens=1)


async def test_a_bucket_says_when_it_stopped_counting(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(stats.WINDOWS, "24h", stats.WindowShape(24, timedelta(hours=1), 2))
    await messages.insert_messages(
        db, [message(n, NOW - timedelta(minutes=n), status="sent") for n in range(1, 4)]
    )
    day = await stats.window_stats(db, "acc_a", sandbox=False, window="24h", now=NOW)
    assert day.buckets[-1].capped and day.capped
    assert day.buckets[-1].counts.accepted == 2  # a lower bound, and said to be one
    assert not any(bucket.capped for bucket in day.buckets[:-1])
