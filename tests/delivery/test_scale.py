"""No hot-path query may scan: its cost must not grow with the number of stored messages.

Each operation of the hot path (claim, record, status, scheduler selection, recovery,
limits, key lookup, idempotency) runs through the real access functions against a
database holding 500 messages and against one holding 50,000. An indexed operation costs
about the same in both; one the database evaluates by scanning (nx-27017 falls back to
Python for filters it cannot turn into SQL, MongoDB to a COLLSCAN) costs a hundred times
more. The bound below leaves room for noise and none for a scan (a SQL scan of 50,000
messages alone takes about 150 ms here).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from mailpass_common.messages import claims, events, idempotency, scheduled
from mailpass_common.messages import due as outbox
from mailpass_common.messages import service as messages
from mailpass_common.messages.ids import new_message_id
from mailpass_common.messages.models import EventType, MessageStatus, new_message
from mailpass_common.platform.db import Collections, Database, connect, ensure_indexes
from mailpass_common.platform.jobs import MessageKind
from mailpass_common.platform.settings import CommonSettings
from mailpass_common.providers import limits
from mailpass_common.providers.models import ProviderDocument
from mailpass_common.suppressions import service as suppressions
from mailpass_common.tenants import api_keys
from tests.support.tenants import add_provider, make_account, smtp_config

SMALL, LARGE = 500, 50_000
Operation = Callable[[int], Awaitable[Any]]


@dataclass
class Stocked:
    db: Database
    account_id: str
    provider: ProviderDocument
    key: str
    queued: list[str]  # batch messages waiting for the scheduler
    immediate: list[str]  # messages a sender may claim


async def _stock(db: Database, env: dict[str, Any], sent: int) -> Stocked:
    """``sent`` delivered messages of one account (the history), and work waiting."""
    await ensure_indexes(db)
    await idempotency.ensure_indexes(db)
    account_id = await make_account(db)
    provider = await add_provider(
        db, env, account_id, name="p", config=smtp_config(25), hourly_limit=10**8, default=True
    )
    key = (await api_keys.create_api_key(db, account_id, ["mail"])).key
    long_ago = datetime.now(UTC) - timedelta(days=1)

    def message(kind: MessageKind, i: int) -> Any:
        doc = new_message(
            message_id=new_message_id("scale.test"),
            account_id=account_id,
            kind=kind,
            sandbox=False,
            provider_id=provider["_id"],
            from_email="noreply@acme.test",
            from_name=None,
            to=f"user{i}@example.com",
            subject=f"Message {i}",
            html="<p>" + "x" * 2000 + "</p>",
            text=None,
            queue_id=i,
        )
        return doc

    for start in range(0, sent, 5000):
        history = [message(MessageKind.BATCH, i) for i in range(start, min(sent, start + 5000))]
        for doc in history:
            doc.update(
                status=MessageStatus.SENT.value,
                published_at=long_ago,
                claimed_at=long_ago,
                sent_at=long_ago,
            )
        await messages.insert_messages(db, history)
        # The history's tracking: an open for every delivered message (the status page's
        # events and totals must not grow with them).
        await events.insert_events(db, [_open(doc) for doc in history])
    # A suppression list a fifth the size of the history.
    suppressed = [
        suppressions.Suppression(
            account_id, f"user{i}@example.com", suppressions.SuppressionReason.BOUNCE, "smtp"
        ).document(long_ago)
        for i in range(0, sent, 5)
    ]
    for start in range(0, len(suppressed), 5000):
        await db[Collections.SUPPRESSIONS].insert_many(suppressed[start : start + 5000])
    # Scheduled messages, as many at both sizes (500 for later, 50 due): the selection must
    # not grow with the history. (On nx-27017 it does grow with the number of scheduled
    # messages, as the recovery queries do with theirs: see mailpass_common.messages.scheduled.)
    waiting = []
    for i in range(550):
        later = datetime.now(UTC) + timedelta(hours=1 if i >= 50 else -1)
        doc = message(MessageKind.BATCH, sent + 4000 + i)
        waiting.append(doc | {"status": "scheduled", "scheduled_at": later})
    await messages.insert_messages(db, waiting)
    queued = [message(MessageKind.BATCH, sent + i) for i in range(2000)]
    immediate = [message(MessageKind.IMMEDIATE, sent + 2000 + i) for i in range(2000)]
    await messages.insert_messages(db, queued + immediate)
    await events.insert_events(db, [_open(doc) for doc in immediate[:20] for _ in range(3)])
    return Stocked(
        db, account_id, provider, key, [d["_id"] for d in queued], [d["_id"] for d in immediate]
    )


def _open(message: dict[str, Any]) -> dict[str, Any]:
    return events.event_document(
        message_id=message["_id"],
        account_id=message["account_id"],
        event_type=EventType.OPEN,
        sandbox=False,
        classification="human",
    )


async def _median_ms(operation: Operation, runs: int = 9) -> float:
    timings = []
    for run in range(runs):
        started = time.perf_counter()
        await operation(run)
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


def _operations(s: Stocked) -> dict[str, Operation]:
    db, lease = s.db, timedelta(minutes=2)
    old = datetime.now(UTC) - timedelta(hours=1)

    async def claim_one(run: int) -> Any:
        return await claims.claim_one(db, s.immediate[run], lease, f"one{run}")

    async def claim_many(run: int) -> Any:
        ids = s.immediate[100 + run * 50 : 150 + run * 50]
        return await claims.claim_many(db, ids, lease, f"many{run}")

    async def record(run: int) -> Any:
        ids = s.immediate[100 + run * 50 : 150 + run * 50]
        return await messages.record(
            db, [messages.Sent(i, f"many{run}", "p", "smtp", None, "250 ok", False) for i in ids]
        )

    async def status(run: int) -> Any:
        doc = await messages.find_message(db, s.account_id, s.immediate[run])
        assert doc is not None
        found = await events.page(db, doc, limit=100)
        assert found.totals == {"open": 3}, found.totals
        return found

    return {
        "claim one": claim_one,
        "claim fifty": claim_many,
        "record fifty outcomes": record,
        "status and timeline": status,
        "due providers": lambda run: outbox.due_provider_ids(db),
        "due batch in queue order": lambda run: outbox.due_batch(db, s.provider["_id"], 100),
        "take due for publishing": lambda run: outbox.take_due(
            db, s.queued[run * 20 : run * 20 + 20], s.provider["_id"], f"run{run}"
        ),
        "recovery: queued long ago": lambda run: outbox.stuck(
            db, outbox.QUEUED_LONG_AGO, MessageKind.IMMEDIATE, old, 100
        ),
        "recovery: lease ran out": lambda run: outbox.stuck(
            db, outbox.LEASE_RAN_OUT, MessageKind.BATCH, old, 100
        ),
        "recovery: retry never came": lambda run: outbox.stuck(
            db, outbox.RETRY_NEVER_CAME, MessageKind.BATCH, old, 100
        ),
        "oldest due": lambda run: outbox.oldest_due(db),
        "scheduled messages due": lambda run: scheduled.due(db, datetime.now(UTC), 100),
        "limits: reserve": lambda run: limits.reserve(db, s.provider),
        "suppression check of a batch's 100 recipients": lambda run: suppressions.suppressed(
            db, s.account_id, [f"user{run * 100 + i}@example.com" for i in range(100)]
        ),
        "suppression list page": lambda run: suppressions.page(
            db, s.account_id, limit=100, prefix="user3"
        ),
        "api key lookup": lambda run: api_keys.authenticate(db, s.key),
        "idempotency key": lambda run: idempotency.begin(
            db, s.account_id, f"k{run}", "fp", timedelta(minutes=5), test=False
        ),
    }


@pytest.fixture
async def two_sizes(
    service_env: dict[str, Any],
) -> AsyncIterator[tuple[Stocked, Stocked]]:
    client: AsyncMongoClient[dict[str, Any]]
    client, _ = connect(CommonSettings(**service_env))
    names = [f"{service_env['mongodb_database']}_{n}" for n in (SMALL, LARGE)]
    try:
        small = await _stock(client[names[0]], service_env, SMALL)
        large = await _stock(client[names[1]], service_env, LARGE)
        yield small, large
    finally:
        for name in names:
            await client.drop_database(name)
        await client.close()


async def test_hot_path_queries_cost_the_same_with_100_times_the_messages(
    two_sizes: tuple[Stocked, Stocked],
) -> None:
    small, large = two_sizes
    assert await large.db[Collections.MESSAGES].estimated_document_count() >= LARGE
    slow = {}
    for name, operation in _operations(small).items():
        small_ms = await _median_ms(operation)
        large_ms = await _median_ms(_operations(large)[name])
        if large_ms > 3 * small_ms + 15:
            slow[name] = f"{small_ms:.1f} ms with {SMALL} messages, {large_ms:.1f} ms with {LARGE}"
    assert not slow, f"these operations grow with the data (a scan): {slow}"
