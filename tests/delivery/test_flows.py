"""The delivery flow without a broker: attempts against a real SMTP server and database,
and the crash-ordering promises of ``flows.record`` checked step by step.

The router here keeps what it is given in memory and can be told to fail, which stands
for a sender dying between two steps: ``record`` then raises, and what the database holds
must let the job's redelivery (``record`` run again, or the job retried) end well.
"""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest

from mailpass_common.messages import claims
from mailpass_common.messages import service as messages
from mailpass_common.messages.models import MessageDocument
from mailpass_common.platform.cache import TtlCache
from mailpass_common.platform.db import Collections, Database
from mailpass_common.platform.jobs import MessageKind, SendJob
from mailpass_common.providers.delivery.pool import ProviderPool
from mailpass_common.providers.service import ProviderCache
from mailpass_common.webhooks import endpoints
from mailpass_common.webhooks.endpoints import EndpointDirectory
from mailpass_sender.circuit import CircuitBreakers
from mailpass_sender.failover import Failover
from mailpass_sender.flows import attempt, record
from mailpass_sender.models import Claimed, DeliveryContext
from mailpass_sender.retry import RetryDelay, RetryPolicy
from mailpass_sender.settings import SenderSettings
from tests.support.messages import event_types, insert_messages
from tests.support.smtp import SmtpServer
from tests.support.tenants import add_provider, cipher, make_account, smtp_config


class RouterDown(Exception):
    """The broker went away (or the sender died) at this step."""


@dataclass
class MemoryRouter:
    parked: list[tuple[SendJob, RetryDelay]] = field(default_factory=list)
    dead: list[tuple[SendJob, str]] = field(default_factory=list)
    fail_retry: bool = False
    fail_dead_letter: bool = False

    async def retry_later(self, job: SendJob, kind: MessageKind, delay: RetryDelay) -> None:
        if self.fail_retry:
            raise RouterDown("retry_later")
        self.parked.append((job, delay))

    async def dead_letter(self, job: SendJob, *, error: str) -> None:
        if self.fail_dead_letter:
            raise RouterDown("dead_letter")
        self.dead.append((job, error))


@dataclass
class Flow:
    db: Database
    ctx: DeliveryContext
    router: MemoryRouter
    pool: ProviderPool
    docs: list[MessageDocument]

    async def claim(self, doc: MessageDocument) -> Claimed:
        token = secrets.token_hex(8)
        claimed = await claims.claim_one(self.db, doc["_id"], timedelta(minutes=2), token)
        assert claimed is not None, "the message is not claimable"
        return Claimed(SendJob(doc["account_id"], (doc["_id"],)), MessageKind.BATCH, claimed)

    async def status(self, doc: MessageDocument) -> str:
        current = await messages.get_message(self.db, doc["_id"])
        assert current is not None
        return current["status"]


@pytest.fixture
async def flow(db: Database, service_env: dict[str, Any], smtp: SmtpServer) -> AsyncIterator[Flow]:
    settings = SenderSettings(**service_env, sender_max_attempts=2, sender_retry_base_seconds=1)
    account_id = await make_account(db)
    provider = await add_provider(
        db, service_env, account_id, name="p", config=smtp_config(smtp.port), default=True
    )
    docs = await insert_messages(db, account_id, provider["_id"], 3, kind=MessageKind.BATCH)
    pool = ProviderPool(settings.delivery_options(), cipher(service_env))
    router = MemoryRouter()
    ctx = DeliveryContext(
        db=db,
        settings=settings,
        failover=Failover(db, pool, CircuitBreakers(5, 30), ProviderCache(db, 0)),
        policy=RetryPolicy.from_settings(settings),
        router=router,
        accounts=TtlCache(0),
    )
    yield Flow(db, ctx, router, pool, docs)
    await pool.close()


async def test_a_delivery_is_recorded_sent(flow: Flow, smtp: SmtpServer) -> None:
    doc = flow.docs[0]
    decision = await attempt(await flow.claim(doc), flow.ctx)
    [outcome] = await record([decision], flow.ctx)
    assert outcome.status == "sent" and await flow.status(doc) == "sent"
    assert len(smtp.received) == 1 and not flow.router.parked and not flow.router.dead
    assert await event_types(flow.db, doc["_id"]) == ["sent"]


async def test_a_deferral_is_recorded_before_the_job_is_parked(
    flow: Flow, smtp: SmtpServer
) -> None:
    smtp.handler.fail_next = ["451 4.3.0 try later"]
    doc = flow.docs[0]
    decision = await attempt(await flow.claim(doc), flow.ctx)
    flow.router.fail_retry = True
    with pytest.raises(RouterDown):
        await record([decision], flow.ctx)
    # Died between the two steps: the message says deferred, so the job's redelivery
    # finds it claimable and tries again at once; nothing is lost.
    assert await flow.status(doc) == "deferred" and flow.router.parked == []
    assert await event_types(flow.db, doc["_id"]) == ["deferred"]

    # The pipeline runs record again: the job is parked once, the event not doubled.
    flow.router.fail_retry = False
    await record([decision], flow.ctx)
    assert [job.message_ids for job, _ in flow.router.parked] == [(doc["_id"],)]
    assert await event_types(flow.db, doc["_id"]) == ["deferred"]


async def test_an_exhausted_job_is_dead_lettered_before_the_message_fails(
    flow: Flow, smtp: SmtpServer
) -> None:
    smtp.handler.fail_next = ["451 4.3.0 try later"] * 2
    doc = flow.docs[0]
    first = await attempt(await flow.claim(doc), flow.ctx)
    await record([first], flow.ctx)  # attempt 1 of 2: deferred
    second = await attempt(await flow.claim(doc), flow.ctx)
    flow.router.fail_dead_letter = True
    with pytest.raises(RouterDown):
        await record([second], flow.ctx)
    # Died before the dead letter was confirmed: the message is still the sender's
    # (sending), never failed without a letter an operator can replay.
    assert await flow.status(doc) == "sending" and flow.router.dead == []

    flow.router.fail_dead_letter = False
    await record([second], flow.ctx)
    assert await flow.status(doc) == "failed"
    assert [(job.message_ids, error) for job, error in flow.router.dead] == [
        ((doc["_id"],), "451 4.3.0 try later")
    ]


async def test_an_outcome_after_the_lease_ran_out_is_not_recorded(
    flow: Flow, smtp: SmtpServer
) -> None:
    doc = flow.docs[0]
    stale = await attempt(await flow.claim(doc), flow.ctx)
    # The lease ran out and another sender took the message over, with its own token.
    await flow.db["messages"].update_one(
        {"_id": doc["_id"]}, {"$set": {"claim_token": "the-other-sender"}}
    )
    [outcome] = await record([stale], flow.ctx)
    current = await messages.get_message(flow.db, doc["_id"])
    assert current is not None and current["status"] == "sending"
    assert current.get("claim_token") == "the-other-sender"
    assert outcome.status == "sent"  # what this attempt did, for its reply; not recorded


async def test_a_batch_of_outcomes_is_one_round_trip_each_way(flow: Flow, smtp: SmtpServer) -> None:
    smtp.handler.fail_next = ["451 4.3.0 try later"]
    claimed = [await flow.claim(doc) for doc in flow.docs]
    decisions = [await attempt(c, flow.ctx) for c in claimed]
    outcomes = await record(decisions, flow.ctx)
    assert sorted(o.status for o in outcomes) == ["deferred", "sent", "sent"]
    assert [await flow.status(doc) for doc in flow.docs].count("sent") == 2


async def test_a_message_that_cannot_be_built_fails_alone(flow: Flow, smtp: SmtpServer) -> None:
    # A circuit that opens on the first provider failure: the bad message must not trip it.
    breakers = CircuitBreakers(threshold=1, open_seconds=300)
    ctx = dataclasses.replace(
        flow.ctx, failover=Failover(flow.db, flow.pool, breakers, ProviderCache(flow.db, 0))
    )
    bad, good = flow.docs[0], flow.docs[1]
    await flow.db["messages"].update_one({"_id": bad["_id"]}, {"$set": {"subject": "a\u2028b"}})
    await record([await attempt(await flow.claim(bad), ctx)], ctx)
    failed = await messages.get_message(flow.db, bad["_id"])
    assert failed is not None and failed["status"] == "failed"
    assert "could not be built" in (failed["error_message"] or "")
    # Not a provider's fault: nothing reached the server, no retry, the circuit is closed
    # and the next message goes out.
    assert smtp.received == [] and flow.router.parked == []
    assert not breakers.is_open(bad["provider_id"])
    await record([await attempt(await flow.claim(good), ctx)], ctx)
    assert await flow.status(good) == "sent" and len(smtp.received) == 1


async def test_webhook_events_are_written_before_the_status_change_and_once(
    flow: Flow, smtp: SmtpServer, service_env: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A sender dying right after recording `sent` would leave a job that finds its
    # message final and reports nothing: the outbox must already hold the event.
    doc = flow.docs[0]
    await endpoints.create_endpoint(
        flow.db,
        cipher(service_env),
        account_id=doc["account_id"],
        url="https://hooks.example.com/x",
        events=["sent"],
        sandbox=False,
        limit=20,
    )
    ctx = dataclasses.replace(flow.ctx, webhooks=EndpointDirectory(flow.db, 0))
    decision = await attempt(await flow.claim(doc), ctx)
    real_record = messages.record

    async def dies_while_recording(*args: Any, **kwargs: Any) -> Any:
        raise RouterDown("the sender died while recording")

    monkeypatch.setattr(messages, "record", dies_while_recording)
    with pytest.raises(RouterDown):
        await record([decision], ctx)
    assert await flow.status(doc) == "sending"
    reported = await flow.db[Collections.WEBHOOK_EVENTS].find().to_list()
    assert [e["type"] for e in reported] == ["sent"]

    monkeypatch.setattr(messages, "record", real_record)
    [outcome] = await record([decision], ctx)  # the record retried
    assert outcome.status == "sent" and await flow.status(doc) == "sent"
    assert await flow.db[Collections.WEBHOOK_EVENTS].count_documents({}) == 1
