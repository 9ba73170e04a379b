"""The event writer's bounded buffer, against the MongoDB wire server."""

from __future__ import annotations

from typing import Any

import pytest
from prometheus_client import REGISTRY

from mailpass_common.messages.models import EventType
from mailpass_common.platform.db import Collections, Database, connect
from mailpass_common.platform.settings import CommonSettings
from mailpass_tracker import ingest
from mailpass_tracker.ingest import EventWriter, TrackingHit, write_events
from tests.tracking.support import StallingProxy, insert_sent_message

MESSAGE_ID = "<writer.1700000000@test.mailpass.local>"


def dropped(reason: str) -> float:
    return (
        REGISTRY.get_sample_value("mailpass_tracker_events_dropped_total", {"reason": reason})
        or 0.0
    )


def click(index: int) -> TrackingHit:
    return TrackingHit(
        MESSAGE_ID,
        EventType.CLICK,
        "198.51.100.1",
        "Thunderbird",
        url="https://a.test/",
        link_index=index,
    )


async def test_a_full_buffer_drops_the_oldest_and_counts_it(db: Database) -> None:
    await insert_sent_message(db, MESSAGE_ID, "acc_a")
    writer = EventWriter(db, capacity=3, batch_size=100, flush_interval=3600, write_timeout=5)
    before = dropped("buffer_full")
    for index in range(5):
        writer.enqueue(click(index))
    assert writer.depth == 3
    assert dropped("buffer_full") == before + 2
    writer.start()
    await writer.close(timeout=10)
    links = await db[Collections.EVENTS].distinct("link_index")
    assert sorted(links) == [2, 3, 4]


async def test_a_retried_batch_is_not_written_twice(db: Database) -> None:
    await insert_sent_message(db, MESSAGE_ID, "acc_a")
    hits = [click(0), click(1)]
    await write_events(db, hits[:1])  # as if an earlier attempt landed, then timed out
    await write_events(db, hits)
    assert await db[Collections.EVENTS].count_documents({}) == 2


async def test_events_still_buffered_when_the_drain_times_out_are_counted(
    service_env: dict[str, Any], db: Database
) -> None:
    await insert_sent_message(db, MESSAGE_ID, "acc_a")
    before = dropped("shutdown")
    async with StallingProxy(service_env["mongodb_url"]) as mongo:
        client, stalled_db = connect(CommonSettings(**{**service_env, "mongodb_url": mongo.url}))
        await stalled_db.command("ping")
        writer = EventWriter(
            stalled_db, capacity=100, batch_size=100, flush_interval=3600, write_timeout=0.5
        )
        writer.start()
        mongo.pause()
        for index in range(4):
            writer.enqueue(click(index))
        await writer.close(timeout=1.5)
        mongo.resume()
        await client.close()
    # (Whether a write held by the stalled connection lands later is the database's
    # business; event ids make a later retry of it harmless.)
    assert dropped("shutdown") == before + 4


async def test_a_batch_that_cannot_be_written_is_dropped_and_the_writer_goes_on(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    await insert_sent_message(db, MESSAGE_ID, "acc_a")
    real_classify = ingest.classify  # type: ignore[attr-defined]

    def classify_or_fail(user_agent: str | None, *args: Any) -> Any:
        if user_agent == "poison":
            raise RuntimeError("a bug in classification")
        return real_classify(user_agent, *args)

    monkeypatch.setattr(ingest, "classify", classify_or_fail)
    writer = EventWriter(db, capacity=10, batch_size=1, flush_interval=3600, write_timeout=5)
    before = dropped("write_error")
    writer.start()
    writer.enqueue(TrackingHit(MESSAGE_ID, EventType.OPEN, "198.51.100.1", "poison"))
    writer.enqueue(click(7))
    await writer.close(timeout=10)
    assert dropped("write_error") == before + 1
    assert await db[Collections.EVENTS].distinct("link_index") == [7]
