"""Tracking events stay bounded: one open per message, reader and minute (in one tracker
and across replicas), and a buffer no flooding account can take from the others."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from prometheus_client import REGISTRY

from mailpass_common.messages.models import EventType
from mailpass_common.messages.signed_links import TrackingSigner
from mailpass_common.platform.db import Collections, Database, connect
from mailpass_common.platform.settings import CommonSettings
from mailpass_tracker.fair_buffer import UNKNOWN, FairBuffer, RecentOpens, open_event_id
from mailpass_tracker.ingest import EventWriter, TrackingHit
from mailpass_tracker.settings import TrackerSettings
from tests.tracking.support import StallingProxy, client_from, insert_sent_message, running_tracker

MINE = "<mine.1700000000@test.mailpass.local>"
THEIRS = "<theirs.1700000000@test.mailpass.local>"


def deduplicated() -> float:
    return REGISTRY.get_sample_value("mailpass_tracker_opens_deduplicated_total") or 0.0


def test_a_full_buffer_takes_from_the_largest_share() -> None:
    buffer: FairBuffer[str] = FairBuffer(capacity=10)
    for i in range(3):
        assert buffer.put("quiet", f"q{i}") is None
    evicted = [buffer.put("flood", f"f{i}") for i in range(100)]
    # The flood gave way to itself, oldest first; the quiet account kept its three.
    assert [e for e in evicted if e is not None] == [f"f{i}" for i in range(93)]
    assert len(buffer) == 10 and buffer.size_of("quiet") == 3 and buffer.size_of("flood") == 7
    # Batches go round-robin: the quiet account is not written after the whole flood.
    assert buffer.take(4) == ["q0", "f93", "q1", "f94"]
    assert buffer.take(100) == ["q2", "f95", "f96", "f97", "f98", "f99"]
    assert len(buffer) == 0 and buffer.take(5) == []


def test_when_every_share_is_equal_one_of_them_gives_way() -> None:
    buffer: FairBuffer[int] = FairBuffer(capacity=4)
    for i, owner in enumerate("abcd"):
        buffer.put(owner, i)
    assert buffer.put("e", 4) in {0, 1, 2, 3}
    assert buffer.put(UNKNOWN, 5) in {0, 1, 2, 3, 4}
    left = buffer.take(10)
    assert len(left) == 4 and 5 in left
    for i in range(6):  # an owner emptied and filled again is counted from scratch
        buffer.put("a", i)
    assert buffer.take(10) == [2, 3, 4, 5]


def test_one_open_per_message_reader_and_minute() -> None:
    opens = RecentOpens(capacity=100)
    minute = datetime(2026, 1, 30, 12, 0, tzinfo=UTC)
    assert opens.first_in_minute(MINE, "192.0.2.1", minute)
    assert not opens.first_in_minute(MINE, "192.0.2.1", minute + timedelta(seconds=59))
    assert opens.first_in_minute(MINE, "192.0.2.2", minute + timedelta(seconds=1))
    assert opens.first_in_minute(THEIRS, "192.0.2.1", minute + timedelta(seconds=2))
    assert opens.first_in_minute(MINE, "192.0.2.1", minute + timedelta(seconds=60))
    same = open_event_id(MINE, "192.0.2.1", minute + timedelta(seconds=3))
    assert same == open_event_id(MINE, "192.0.2.1", minute + timedelta(seconds=58))
    assert same != open_event_id(MINE, "192.0.2.1", minute + timedelta(seconds=61))
    assert same != open_event_id(MINE, "192.0.2.2", minute)


async def test_repeated_pixel_fetches_record_one_open_and_count_the_rest(
    db: Database, service_env: dict[str, Any]
) -> None:
    await insert_sent_message(db, MINE, "acc_a")
    token = TrackingSigner(TrackerSettings(**service_env).secret_key.get_secret_value())
    pixel = f"/t/o/{token.open_token(MINE)}"
    before = deduplicated()
    async with running_tracker(service_env) as base:
        async with client_from("127.0.0.2", base) as reader:
            answers = [await reader.get(pixel) for _ in range(30)]
        async with client_from("127.0.0.3", base) as other_reader:
            answers.append(await other_reader.get(pixel))
    assert {a.status_code for a in answers} == {200}  # every fetch still gets its image
    recorded = await db[Collections.EVENTS].find({}).to_list()
    assert sorted(e["ip_address"] for e in recorded) == ["127.0.0.2", "127.0.0.3"]
    assert deduplicated() == before + 29


async def test_tracker_replicas_keep_one_open_per_reader_and_minute(db: Database) -> None:
    await insert_sent_message(db, MINE, "acc_a")
    replicas = [
        EventWriter(db, capacity=10, batch_size=10, flush_interval=3600, write_timeout=5)
        for _ in range(2)
    ]
    before = deduplicated()
    for writer in replicas:
        writer.enqueue(TrackingHit.open(MINE, "198.51.100.7", "Thunderbird"))
        writer.start()
        await writer.close(timeout=10)
    [event] = await db[Collections.EVENTS].find({}).to_list()
    assert event["event_type"] == "open" and deduplicated() == before + 1


def _click(message_id: str, index: int) -> TrackingHit:
    return TrackingHit(message_id, EventType.CLICK, "198.51.100.1", "UA", "https://a.test/", index)


async def test_a_flooding_account_cannot_evict_another_accounts_events(
    service_env: dict[str, Any], db: Database
) -> None:
    await insert_sent_message(db, MINE, "acc_flood")
    await insert_sent_message(db, THEIRS, "acc_quiet")
    async with StallingProxy(service_env["mongodb_url"]) as mongo:
        client, proxied = connect(CommonSettings(**{**service_env, "mongodb_url": mongo.url}))
        writer = EventWriter(
            proxied, capacity=50, batch_size=500, flush_interval=0.05, write_timeout=30
        )
        writer.start()
        # The first events of each message are written: the writer learns their accounts.
        writer.enqueue(_click(MINE, 0))
        writer.enqueue(_click(THEIRS, 0))
        for _ in range(200):
            if await db[Collections.EVENTS].count_documents({}) == 2:
                break
            await asyncio.sleep(0.02)
        mongo.pause()  # the database stalls: from now on the buffer fills
        for index in range(1, 6):
            writer.enqueue(_click(THEIRS, index))
        for index in range(1, 5001):
            writer.enqueue(_click(MINE, index))
        mongo.resume()
        await writer.close(timeout=30)
        await client.close()
    quiet = await db[Collections.EVENTS].distinct("link_index", {"message_id": THEIRS})
    assert sorted(quiet) == [0, 1, 2, 3, 4, 5]  # none of the quiet account's clicks lost
    flood = await db[Collections.EVENTS].distinct("link_index", {"message_id": MINE})
    assert 5000 in flood and len(flood) <= 51  # the flood kept its newest, within bounds
