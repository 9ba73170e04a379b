"""Claims given at acceptance (mailpass_common.messages.claims): a message the gateway
publishes at once is stored holding the claim its job carries, and the sender that
RabbitMQ hands that job to first delivers under it without a claim write: the message is
written twice (stored, recorded). No other claim takes it while that claim is current.

The library's rules on the MongoDB wire server, then the real sender on the real broker.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import aio_pika
import httpx
from prometheus_client import REGISTRY

from mailpass_common.messages import claims
from mailpass_common.messages import service as messages
from mailpass_common.messages.models import MessageDocument
from mailpass_common.platform.broker import JobPublisher, Topology
from mailpass_common.platform.db import Collections, Database
from mailpass_common.platform.jobs import MessageKind, SendJob
from tests.delivery.test_scheduler import _flush
from tests.support.messages import insert_messages, wait_for_status
from tests.support.smtp import SmtpServer
from tests.support.stack import running_gateway, running_sender
from tests.support.tenants import Tenant, make_tenant

LEASE = timedelta(minutes=2)
DOCUMENTS = "mailpass_mongodb_documents_written_total"


def _written() -> float:
    return REGISTRY.get_sample_value(DOCUMENTS, {"collection": Collections.MESSAGES}) or 0.0


async def _accepted(db: Database, token: str, count: int = 1) -> list[MessageDocument]:
    """Messages stored holding ``token``, as the gateway stores a /send's."""
    docs = await insert_messages(db, "acc_x", "prv_x", count)
    await db[Collections.MESSAGES].update_many(
        {"_id": {"$in": [d["_id"] for d in docs]}}, {"$set": {"claim_token": token}}
    )
    return docs


def _sent(message_id: str, token: str) -> messages.Sent:
    return messages.Sent(message_id, token, "prv_x", "smtp", None, "250 ok", False)


async def test_a_message_delivered_under_its_claim_given_at_acceptance_is_written_once_more(
    db: Database,
) -> None:
    token = claims.accepted_token()
    [doc] = await _accepted(db, token)
    before = _written()
    [read] = await claims.read_accepted(db, [doc["_id"]])
    assert claims.holds(read, token, LEASE / 2)
    assert await messages.record(db, [_sent(doc["_id"], token)]) == {doc["_id"]}
    assert _written() - before == 1  # the record: no claim was written
    stored = await messages.get_message(db, doc["_id"])
    assert stored is not None
    assert stored["status"] == "sent" and stored["attempts"] == 1
    assert stored["claim_token"] == claims.settled(token) == token.rsplit("~", 1)[1]
    assert stored.get("claimed_at") is not None and stored.get("sent_at") is not None


async def test_no_claim_takes_a_message_whose_claim_given_at_acceptance_is_current(
    db: Database,
) -> None:
    current = await _accepted(db, claims.accepted_token(), 2)
    ran_out = await _accepted(db, claims.accepted_token(datetime.now(UTC) - LEASE * 1.5))
    ids = [d["_id"] for d in (*current, *ran_out)]
    taken = await claims.claim_many(db, ids, LEASE, "a1b2")
    assert [d["_id"] for d in taken] == [ran_out[0]["_id"]]
    assert await claims.claim_one(db, current[0]["_id"], LEASE, "c3d4") is None
    for doc in current:
        stored = await messages.get_message(db, doc["_id"])
        assert stored is not None and stored["status"] == "queued"
    # Its holder's outcome no longer matches a message another sender took over.
    stale = claims.accepted_token(datetime.now(UTC) - LEASE * 1.5)
    assert await messages.record(db, [_sent(ran_out[0]["_id"], stale)]) == set()


async def test_messages_with_no_claim_given_are_claimed_as_before(db: Database) -> None:
    fresh = await insert_messages(db, "acc_x", "prv_x", 2)  # claim_token "" (new messages)
    older = await insert_messages(db, "acc_x", "prv_x", 1)
    await db[Collections.MESSAGES].update_one(
        {"_id": older[0]["_id"]}, {"$unset": {"claim_token": ""}}
    )  # stored before claims were given at acceptance
    ids = [d["_id"] for d in (*fresh, *older)]
    assert len(await claims.claim_many(db, ids, LEASE, "e5f6")) == 3


async def test_a_first_delivery_too_late_to_deliver_under_it_takes_its_claim_by_token(
    db: Database,
) -> None:
    token = claims.accepted_token(datetime.now(UTC) - LEASE * 0.75)  # current, but old
    [doc] = await _accepted(db, token)
    [read] = await claims.read_accepted(db, [doc["_id"]])
    assert not claims.holds(read, token, LEASE / 2)
    assert await claims.claim_many(db, [doc["_id"]], LEASE, "0a0b") == []
    [taken] = await claims.claim_many(db, [doc["_id"]], LEASE, "0a0b", held=[token])
    assert taken["status"] == "sending" and taken["claim_token"] == "0a0b"


async def test_a_claim_given_at_acceptance_renews_as_a_new_token(db: Database) -> None:
    token = claims.accepted_token()
    [doc] = await _accepted(db, token)
    renewed = await claims.renew_lease(db, doc["_id"], token)
    assert renewed is not None and renewed != token and claims.is_accepted(renewed)
    assert await claims.renew_lease(db, doc["_id"], token) is None  # no longer current
    assert await messages.record(db, [_sent(doc["_id"], token)]) == set()
    assert await messages.record(db, [_sent(doc["_id"], renewed)]) == {doc["_id"]}


async def test_a_deferral_under_it_is_claimed_again_at_once(db: Database) -> None:
    token = claims.accepted_token()
    tried, waited = await _accepted(db, token, 2)
    outcomes: list[messages.Outcome] = [
        messages.Deferred(tried["_id"], token, "451 later"),
        # Not attempted (its destination was backed off): the attempt is not counted.
        messages.Deferred(waited["_id"], token, "backed off", backed_off_seconds=1.5),
    ]
    assert await messages.record(db, outcomes) == {tried["_id"], waited["_id"]}
    stored = {d["_id"]: d for d in await claims.read_accepted(db, [tried["_id"], waited["_id"]])}
    assert stored[tried["_id"]]["attempts"] == 1
    assert stored[waited["_id"]]["attempts"] == 0
    assert stored[waited["_id"]]["backoff_waited_seconds"] == 1.5
    assert all(d["status"] == "deferred" and d.get("claimed_at") for d in stored.values())
    # The retry comes back within the lease: nothing holds the message any more.
    assert len(await claims.claim_many(db, [tried["_id"], waited["_id"]], LEASE, "9f")) == 2


def test_a_job_carries_its_claim_and_a_job_without_one_reads_as_before() -> None:
    token = claims.accepted_token()
    job = SendJob("acc_x", ("<a@x>",), token)
    assert SendJob.decode(job.encode()) == job
    plain = SendJob("acc_x", ("<a@x>",))
    assert b"claim" not in plain.encode() and SendJob.decode(plain.encode()).claim is None
    assert [j.claim for j in SendJob.of("acc_x", [f"<{i}@x>" for i in range(150)], token)] == [
        token,
        token,
    ]
    assert claims.accepted_at(token) is not None and claims.accepted_at("a1b2") is None


async def test_send_stores_its_message_with_the_claim_its_job_delivers_under(
    db: Database, service_env: dict[str, Any], smtp: SmtpServer
) -> None:
    tenant = await make_tenant(db, service_env, "acme", smtp_port=smtp.port)
    async with (
        running_sender(service_env, management_port=0),
        running_gateway(service_env, send_timeout_seconds=10) as api,
    ):
        await _send(api, tenant)  # caches warm
        before = _written()
        data = await _send(api, tenant)
        assert _written() - before == 2  # stored, recorded
    stored = await messages.get_message(db, data["message_id"])
    assert stored is not None and stored["status"] == "sent" and stored["attempts"] == 1
    assert not claims.is_accepted(stored["claim_token"]) and stored.get("claimed_at")
    assert len(await smtp.wait_for(2)) == 2


async def _send(api: httpx.AsyncClient, tenant: Tenant) -> dict[str, Any]:
    body = {"to": "ann@example.com", "subject": "Hi", "text": "Hello"}
    response = await api.post("/api/v1/mail/send", json=body, headers=tenant.headers)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    assert data["status"] == "sent"
    return data


async def test_a_redelivered_job_waits_for_the_claim_given_at_acceptance_to_run_out(
    db: Database, service_env: dict[str, Any], smtp: SmtpServer
) -> None:
    """Its first consumer may still be delivering: nothing is sent now, and the job is
    parked in a delay queue for the rest of that claim's lease; back as a job of its own,
    it claims the message and delivers it (no recovery run needed)."""
    tenant = await make_tenant(db, service_env, "acme", smtp_port=smtp.port)
    lease = 3
    token = claims.accepted_token()
    assert tenant.provider is not None
    [doc] = await insert_messages(db, tenant.account_id, tenant.provider["_id"], 1)
    await db[Collections.MESSAGES].update_one({"_id": doc["_id"]}, {"$set": {"claim_token": token}})
    topology = Topology(service_env["amqp_prefix"])
    connection = await aio_pika.connect_robust(service_env["amqp_url"])
    async with connection:
        publisher = JobPublisher(connection, topology)
        job = SendJob(tenant.account_id, (doc["_id"],), token)
        await publisher.publish(job, MessageKind.IMMEDIATE)
        # A first consumer takes the job and gives it back unacked (it died, say).
        channel = await connection.channel()
        queue = await channel.get_queue(topology.work_queue(MessageKind.IMMEDIATE))
        first = await queue.get(timeout=5)
        assert first is not None and not first.redelivered
        await first.nack(requeue=True)
        await channel.close()
    done = _jobs_done()
    async with running_sender(service_env, management_port=0, sender_lease_seconds=lease):
        await _until(lambda: _jobs_done() > done, "the redelivered job acked")
        stored = await messages.get_message(db, doc["_id"])
        assert stored is not None
        assert (stored["status"], stored["claim_token"]) == ("queued", token)
        assert smtp.received == []
        sent = await wait_for_status(db, doc["_id"], "sent", timeout=lease + 10)
    assert sent["attempts"] == 1 and sent["claim_token"] != claims.settled(token)
    assert len(await smtp.wait_for(1)) == 1


def _jobs_done() -> float:
    labels = {"queue": MessageKind.IMMEDIATE.value, "result": "done"}
    return REGISTRY.get_sample_value("mailpass_sender_jobs_total", labels) or 0.0


async def _until(condition: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, f"timed out: {what}"
        await asyncio.sleep(0.05)


async def test_batch_messages_the_scheduler_publishes_hold_the_claim_their_job_carries(
    db: Database, service_env: dict[str, Any], smtp: SmtpServer
) -> None:
    tenant = await make_tenant(db, service_env, "acme", smtp_port=smtp.port)
    assert tenant.provider is not None
    docs = await insert_messages(
        db, tenant.account_id, tenant.provider["_id"], 3, kind=MessageKind.BATCH
    )
    report = await _flush(service_env, db)
    assert report.batch_published == 3
    stored = await claims.read_accepted(db, [d["_id"] for d in docs])
    [token] = {d["claim_token"] for d in stored}
    assert claims.is_accepted(token) and all(claims.holds(d, token, LEASE / 2) for d in stored)
    before = _written()
    async with running_sender(service_env, management_port=0):
        for doc in docs:
            await wait_for_status(db, doc["_id"], "sent")
    assert _written() - before == 3  # each message recorded; none claimed
    assert len(await smtp.wait_for(3)) == 3
