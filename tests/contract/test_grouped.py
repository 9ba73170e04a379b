"""Concurrent ``/send`` requests share their database commands (a group commit): each
request's insert and suppression lookup go out with those of the requests in flight
beside it, and each still gets its own outcome."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY, generate_latest
from pymongo.errors import AutoReconnect, BulkWriteError

from mailpass_common.messages import service as messages
from mailpass_common.messages.models import MessageDocument
from mailpass_common.platform.coalesce import Coalescer
from mailpass_common.platform.db import Collections, Database
from mailpass_common.suppressions import service as suppressions
from mailpass_common.suppressions.service import Suppression, SuppressionReason
from tests.support.smtp import SmtpServer
from tests.support.tenants import Tenant, make_tenant

SEND = "/api/v1/mail/send"


def scraped() -> str:
    """The process's metrics (the gateway runs in this process)."""
    return generate_latest(REGISTRY).decode()


def _grouped(metrics: str, name: str, operation: str) -> float:
    line = f'mailpass_grouped_{name}_total{{operation="{operation}"}} '
    return sum(float(row.split()[-1]) for row in metrics.splitlines() if row.startswith(line))


async def test_concurrent_sends_share_their_inserts_and_lookups(
    api: httpx.AsyncClient, tenant: Tenant, smtp: SmtpServer, db: Database
) -> None:
    start = {
        (name, op): _grouped(scraped(), name, op)
        for name in ("operations", "commands")
        for op in ("insert", "suppression_lookup")
    }
    answers = await asyncio.gather(
        *(
            api.post(
                SEND,
                json={"to": f"r{i}@example.com", "subject": f"n{i}", "text": "hi"},
                headers=tenant.headers,
            )
            for i in range(40)
        )
    )
    assert [a.status_code for a in answers] == [200] * 40, [a.text for a in answers][:3]
    received = await smtp.wait_for(40)
    assert sorted(r.rcpt_tos[0] for r in received) == sorted(f"r{i}@example.com" for i in range(40))
    assert await db[Collections.MESSAGES].count_documents({"status": "sent"}) == 40
    after = scraped()
    for op in ("insert", "suppression_lookup"):
        operations = _grouped(after, "operations", op) - start[("operations", op)]
        commands = _grouped(after, "commands", op) - start[("commands", op)]
        assert operations == 40, op
        # Forty requests in flight together: far fewer commands than requests.
        assert commands <= 30, (op, commands)


async def test_a_request_alone_goes_out_alone(
    api: httpx.AsyncClient, tenant: Tenant, smtp: SmtpServer
) -> None:
    start = scraped()
    for i in range(3):  # one after another: each in a command of its own
        body = {"to": f"a{i}@example.com", "subject": "s", "text": "t"}
        sent = await api.post(SEND, json=body, headers=tenant.headers)
        assert sent.status_code == 200, sent.text
    assert len(await smtp.wait_for(3)) == 3
    after = scraped()
    for op in ("insert", "suppression_lookup"):
        for name in ("operations", "commands"):
            assert _grouped(after, name, op) - _grouped(start, name, op) == 3, (op, name)


def _doc(message_id: str) -> MessageDocument:
    return {"_id": message_id, "account_id": "acc_x", "status": "queued"}  # type: ignore[typeddict-item]


async def test_each_insert_gets_its_own_outcome(db: Database) -> None:
    await db[Collections.MESSAGES].insert_one({"_id": "taken", "account_id": "acc_x"})

    async def insert_each(docs: Sequence[MessageDocument]) -> list[BaseException | None]:
        return await messages.insert_each(db, docs)

    inserts: Coalescer[MessageDocument, None] = Coalescer(insert_each)
    outcomes = await asyncio.gather(
        *(inserts.submit(_doc(i)) for i in ("m1", "taken", "m2")), return_exceptions=True
    )
    assert inserts.batches == 1 and inserts.items == 3
    assert outcomes[0] is None and outcomes[2] is None
    error = outcomes[1]
    assert isinstance(error, BulkWriteError)
    assert [e["code"] for e in error.details["writeErrors"]] == [11000]
    assert error.details["writeErrors"][0]["index"] == 0  # its own insert's error
    stored = await db[Collections.MESSAGES].find({}, {"_id": 1}).to_list()
    assert sorted(doc["_id"] for doc in stored) == ["m1", "m2", "taken"]


async def test_lookups_of_different_accounts_in_one_command(db: Database) -> None:
    await suppressions.add_many(
        db,
        [
            Suppression("acc_a", "gone@example.com", SuppressionReason.BOUNCE, "api"),
            Suppression("acc_b", "left@example.com", SuppressionReason.UNSUBSCRIBED, "api"),
        ],
    )

    async def suppressed_each(asks: Sequence[tuple[str, Sequence[str]]]) -> list[dict[str, str]]:
        return await suppressions.suppressed_each(db, asks)

    lookups: Coalescer[tuple[str, Sequence[str]], dict[str, str]] = Coalescer(suppressed_each)
    a, b, c = await asyncio.gather(
        lookups.submit(("acc_a", ("Gone@Example.com", "left@example.com"))),
        lookups.submit(("acc_b", ("left@example.com", "gone@example.com"))),
        lookups.submit(("acc_c", ("gone@example.com",))),
    )
    assert lookups.batches == 1
    # Each account sees its own list only.
    assert a == {"gone@example.com": "bounce"}
    assert b == {"left@example.com": "unsubscribed"}
    assert c == {}


async def test_an_error_of_the_whole_command_is_every_callers() -> None:
    async def failing(items: Sequence[int]) -> list[int]:
        raise AutoReconnect("connection lost")

    grouped: Coalescer[int, int] = Coalescer(failing)
    outcomes = await asyncio.gather(*(grouped.submit(i) for i in range(3)), return_exceptions=True)
    assert all(isinstance(o, AutoReconnect) for o in outcomes)
    assert grouped.batches == 1


class HeldCommands:
    """A command runner that answers each item with itself, once released; what each
    command carried."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.seen: list[list[int]] = []

    async def run(self, items: Sequence[int]) -> list[int]:
        self.seen.append(list(items))
        await self.release.wait()
        return list(items)


async def test_batches_form_while_a_command_is_on_the_wire() -> None:
    held = HeldCommands()
    grouped: Coalescer[int, int] = Coalescer(held.run, max_items=3)
    first = asyncio.ensure_future(grouped.submit(0))
    await asyncio.sleep(0.01)  # the first command is out, alone
    rest = [asyncio.ensure_future(grouped.submit(i)) for i in range(1, 6)]
    await asyncio.sleep(0.01)
    held.release.set()
    assert await first == 0
    assert [await r for r in rest] == [1, 2, 3, 4, 5]
    assert held.seen == [[0], [1, 2, 3], [4, 5]]


async def test_a_caller_cancelled_before_its_command_takes_its_item_back() -> None:
    held = HeldCommands()
    grouped: Coalescer[int, int] = Coalescer(held.run)
    on_the_wire = asyncio.ensure_future(grouped.submit(1))
    await asyncio.sleep(0.01)
    given_up = asyncio.ensure_future(grouped.submit(2))
    kept = asyncio.ensure_future(grouped.submit(3))
    await asyncio.sleep(0.01)
    given_up.cancel()
    held.release.set()
    assert await on_the_wire == 1 and await kept == 3
    with pytest.raises(asyncio.CancelledError):
        await given_up
    assert held.seen == [[1], [3]]  # the one given up never made


async def test_two_accounts_sharing_a_lookup_each_get_their_own_list(
    api: httpx.AsyncClient, db: Database, service_env: dict[str, Any], smtp: SmtpServer
) -> None:
    """Two accounts' requests in one lookup: each refused or sent on its own list."""
    one = await make_tenant(db, service_env, "one", smtp_port=smtp.port)
    two = await make_tenant(db, service_env, "two", smtp_port=smtp.port)
    added = await api.post(
        "/api/v1/suppressions", json={"address": "x@example.com"}, headers=one.headers
    )
    assert added.status_code == 201, added.text
    body = {"to": "x@example.com", "subject": "s", "text": "t"}
    refused, sent = await asyncio.gather(
        api.post(SEND, json=body, headers=one.headers),
        api.post(SEND, json=body, headers=two.headers),
    )
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "RECIPIENT_SUPPRESSED"
    assert sent.status_code == 200, sent.text
    [received] = await smtp.wait_for(1)
    assert received.rcpt_tos == ["x@example.com"]
