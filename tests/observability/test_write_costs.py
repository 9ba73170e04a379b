"""What each write costs the database, counted by every service as its round trips are:
documents written and index keys inserted and deleted, by collection.

The writes are the access modules' own, on the MongoDB wire server; the keys are the
estimate of :mod:`mailpass_common.platform.index_keys` from the declared indexes.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client import REGISTRY
from pymongo import IndexModel

from mailpass_common.messages import claims, due, scheduled
from mailpass_common.messages import service as messages
from mailpass_common.platform.db import Collections, Database
from mailpass_common.platform.index_keys import (
    IndexShape,
    insert_keys,
    shapes_by_collection,
    update_keys,
    write_cost,
)
from mailpass_common.platform.indexes import INDEXES
from mailpass_common.platform.jobs import MessageKind
from tests.support.messages import insert_messages

DOCUMENTS = "mailpass_mongodb_documents_written_total"
KEYS = "mailpass_mongodb_index_keys_written_total"
LEASE = timedelta(minutes=5)


def counted(collection: str = Collections.MESSAGES) -> tuple[float, float]:
    labels = {"collection": collection}
    return (
        REGISTRY.get_sample_value(DOCUMENTS, labels) or 0.0,
        REGISTRY.get_sample_value(KEYS, labels) or 0.0,
    )


class Spent:
    """The documents and keys counted since the last call."""

    def __init__(self) -> None:
        self._last = counted()

    def __call__(self) -> tuple[float, float]:
        now = counted()
        spent = (now[0] - self._last[0], now[1] - self._last[1])
        self._last = now
        return spent


def test_every_partial_filter_of_the_table_is_evaluated() -> None:
    shapes = shapes_by_collection()
    assert set(shapes) >= set(INDEXES)
    assert any(shape.partial for shape in shapes[Collections.MESSAGES])
    # The TTL index on created_at counts only when retention is on.
    assert len(shapes_by_collection(ttl=False)[Collections.MESSAGES]) == (
        len(shapes[Collections.MESSAGES]) - 1
    )


async def test_a_batch_message_costs_each_index_of_a_state_only_while_in_it(db: Database) -> None:
    spent = Spent()
    docs = await insert_messages(db, "acc_x", "prv_x", 3, kind=MessageKind.BATCH)
    ids = [d["_id"] for d in docs]
    # _id, queued, the two listings, retention, the TTL index (retention on by default).
    assert spent() == (3, 3 * 6)
    assert len(await due.take_due(db, ids, "prv_x", "run_1")) == 3
    assert spent() == (3, 3 * 2)  # published_at is a key field of the queued index
    assert len(await claims.claim_many(db, ids, LEASE, "tok")) == 3
    assert spent() == (3, 3 * 2)  # out of queued, into sending
    outcomes: list[messages.Outcome] = [
        messages.Sent(ids[0], "tok", "prv_x", "smtp", None, "250 ok", False),
        messages.Sent(ids[1], "tok", "prv_x", "smtp", None, "250 ok", False),
        messages.Deferred(ids[2], "tok", "421 later"),
    ]
    assert await messages.record(db, outcomes) == set(ids)
    assert spent() == (3, 1 + 1 + 2)  # out of sending; the deferral into deferred
    # An outcome whose claim is no longer current writes nothing.
    stale = messages.Sent(ids[0], "old", "prv_x", "smtp", None, "250 ok", False)
    assert await messages.record(db, [stale]) == set()
    assert spent() == (0, 0)


async def test_a_scheduled_message_leaves_its_index_when_released(db: Database) -> None:
    docs = await insert_messages(db, "acc_x", "prv_x", 1, kind=MessageKind.BATCH)
    when = datetime.now(UTC) - timedelta(seconds=1)
    await db[Collections.MESSAGES].update_one(
        {"_id": docs[0]["_id"]}, {"$set": {"status": "scheduled", "scheduled_at": when}}
    )
    spent = Spent()
    assert await scheduled.release(db, [docs[0]["_id"]], datetime.now(UTC)) == 1
    assert spent() == (1, 2)  # out of scheduled, into queued


async def test_an_insert_counts_only_the_documents_stored(db: Database) -> None:
    docs = await insert_messages(db, "acc_x", "prv_x", 2)
    spent = Spent()
    assert await messages.insert_new_messages(db, docs) == {d["_id"] for d in docs}
    assert spent() == (0, 0)  # both already there: duplicate keys, nothing written


async def test_a_delete_counts_the_keys_of_each_document_removed(db: Database) -> None:
    await insert_messages(db, "acc_x", "prv_x", 2)
    await insert_messages(db, "acc_y", "prv_x", 1)
    spent = Spent()
    await db[Collections.MESSAGES].delete_many({"account_id": {"$eq": "acc_x"}})
    # The status is not in the filter: its keys count as outside the partial indexes.
    assert spent() == (2, 2 * 5)


def test_full_indexes_of_each_state_would_cost_twice_as_many_keys() -> None:
    """The same message's writes, with the previous full indexes of the states."""
    full = [
        IndexShape.of(IndexModel(m.document["key"].items()))
        if m.document.get("partialFilterExpression")
        else IndexShape.of(m)
        for m in INDEXES[Collections.MESSAGES]
    ]
    distinct = tuple({shape.fields: shape for shape in full}.values())
    message = {"_id": "<m@x>", "status": "queued", "account_id": "acc_x", "published_at": None}
    claim = {"$set": {"status": "sending"}, "$currentDate": {"claimed_at": True}}
    sent = {"$set": {"status": "sent"}, "$currentDate": {"sent_at": True}}
    before = (
        insert_keys(distinct, message)
        + update_keys(distinct, {"status": {"$eq": "queued"}}, {"$set": {"published_at": 1}})
        + update_keys(distinct, {"status": {"$in": ["queued", "deferred"]}}, claim)
        + update_keys(distinct, {"status": {"$eq": "sending"}}, sent)
    )
    assert before == 7 + 2 + 6 + 6  # every status change rewrites three keys
    shapes = shapes_by_collection(ttl=False)[Collections.MESSAGES]
    now = (
        insert_keys(shapes, message)
        + update_keys(shapes, {"status": {"$eq": "queued"}}, {"$set": {"published_at": 1}})
        + update_keys(shapes, {"status": {"$in": ["queued", "deferred"]}}, claim)
        + update_keys(shapes, {"status": {"$eq": "sending"}}, sent)
    )
    assert now == 5 + 2 + 2 + 1


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ({"n": 1, "nModified": 1}, (1, 2.0)),
        ({"n": 1, "nModified": 0}, (0, 0.0)),  # matched, nothing changed
        ({"n": 1, "nModified": 0, "upserted": [{"index": 0, "_id": "x"}]}, (1, 6.0)),
    ],
)
def test_an_update_counts_what_the_reply_says_it_modified_or_upserted(
    reply: dict[str, object], expected: tuple[int, float]
) -> None:
    shapes = shapes_by_collection()[Collections.MESSAGES]
    command = {
        "update": Collections.MESSAGES,
        "updates": [
            {
                "q": {"_id": "x", "status": {"$eq": "queued"}},
                "u": {"$set": {"published_at": 1}},
                "upsert": True,
            }
        ],
    }
    assert write_cost(shapes, "update", command, reply) == expected


async def test_a_claim_of_one_message_counts_as_the_claim_of_many(db: Database) -> None:
    """One message is claimed with findAndModify (whose reply says whether it matched)."""
    docs = await insert_messages(db, "acc_x", "prv_x", 1)
    spent = Spent()
    assert len(await claims.claim_many(db, [docs[0]["_id"]], LEASE, "tok")) == 1
    assert spent() == (1, 2)
    assert await claims.claim_many(db, [docs[0]["_id"]], LEASE, "tok2") == []
    assert spent() == (0, 0)
