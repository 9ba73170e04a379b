"""No second send because of a long delivery or a short database outage: the claim is
renewed while a failover chain runs long, and recording the outcome is retried."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from mailpass_common.messages import claims
from mailpass_common.messages import service as messages
from mailpass_common.messages.models import MessageDocument
from mailpass_common.platform.cache import TtlCache
from mailpass_common.platform.db import Database
from mailpass_common.platform.jobs import MessageKind, SendJob
from mailpass_common.providers.delivery.pool import ProviderPool
from mailpass_common.providers.service import ProviderCache
from mailpass_sender.circuit import CircuitBreakers
from mailpass_sender.failover import Failover
from mailpass_sender.flows import attempt, record
from mailpass_sender.models import Claimed, DeliveryContext
from mailpass_sender.retry import RetryPolicy
from mailpass_sender.settings import SenderSettings
from tests.delivery.test_flows import MemoryRouter
from tests.support.broker import publish
from tests.support.messages import insert_messages, wait_for_status
from tests.support.smtp import CapturingHandler, SmtpServer
from tests.support.stack import running_sender
from tests.support.tenants import add_provider, cipher, make_account, smtp_config
from tests.tracking.support import StallingProxy

LEASE = timedelta(seconds=4)


class SlowHandler(CapturingHandler):
    """Answers DATA after ``delay`` seconds: with ``reply`` when set, else accepts."""

    delay: float = 0.0
    reply: str | None = None

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        await asyncio.sleep(self.delay)
        if self.reply:
            return self.reply
        return await super().handle_DATA(server, session, envelope)


class SlowSmtpServer(SmtpServer):
    def __init__(self, delay: float, reply: str | None = None) -> None:
        super().__init__()
        self.handler = SlowHandler()
        self.handler.delay, self.handler.reply = delay, reply
        self._controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)


@pytest.fixture
def slow_primary() -> Iterator[SmtpServer]:
    server = SlowSmtpServer(3.0, "451 4.4.1 no answer from the next hop").start()
    yield server
    server.stop()


@pytest.fixture
def slow_backup() -> Iterator[SmtpServer]:
    server = SlowSmtpServer(3.0).start()
    yield server
    server.stop()


@dataclass
class Chain:
    ctx: DeliveryContext
    doc: MessageDocument


@pytest.fixture
async def chain(
    db: Database, service_env: dict[str, Any], slow_primary: SmtpServer, slow_backup: SmtpServer
) -> AsyncIterator[Chain]:
    """A message whose default provider answers 451 after 3 s, and a fallback that accepts
    after 3 s: a chain of 6 s, over a 4 s lease."""
    settings = SenderSettings(**service_env, sender_lease_seconds=LEASE.total_seconds())
    account_id = await make_account(db)
    default = await add_provider(
        db, service_env, account_id, name="p", config=smtp_config(slow_primary.port), default=True
    )
    await add_provider(
        db,
        service_env,
        account_id,
        name="b",
        config=smtp_config(slow_backup.port),
        fallback_priority=1,
    )
    [doc] = await insert_messages(db, account_id, default["_id"], 1)
    pool = ProviderPool(settings.delivery_options(), cipher(service_env))
    ctx = DeliveryContext(
        db=db,
        settings=settings,
        failover=Failover(db, pool, CircuitBreakers(5, 30), ProviderCache(db, 0)),
        policy=RetryPolicy.from_settings(settings),
        router=MemoryRouter(),
        accounts=TtlCache(0),
    )
    yield Chain(ctx, doc)
    await pool.close()


async def _claim(db: Database, doc: MessageDocument, token: str) -> Claimed:
    claimed = await claims.claim_one(db, doc["_id"], LEASE, token)
    assert claimed is not None
    return Claimed(SendJob(doc["account_id"], (doc["_id"],)), MessageKind.IMMEDIATE, claimed)


async def test_a_long_failover_chain_keeps_its_claim(
    db: Database, chain: Chain, slow_primary: SmtpServer, slow_backup: SmtpServer
) -> None:
    claimed = await _claim(db, chain.doc, "first")
    delivery = asyncio.create_task(attempt(claimed, chain.ctx))
    # 5 s after the claim, past its 4 s lease: another sender (or the scheduler's
    # recovery) looks for abandoned work. The claim was renewed at 3 s, before the
    # fallback: the message is not up for grabs.
    await asyncio.sleep(5)
    assert await claims.claim_one(db, chain.doc["_id"], LEASE, "second") is None
    decision = await delivery
    [outcome] = await record([decision], chain.ctx)
    assert outcome.status == "sent"
    sent = await messages.get_message(db, chain.doc["_id"])
    assert sent is not None and sent["status"] == "sent" and sent["claim_token"] == "first"
    assert len(slow_backup.received) == 1 and slow_primary.received == []


async def test_a_long_chain_under_a_claim_given_at_acceptance_renews_it_as_a_new_token(
    db: Database, chain: Chain, slow_primary: SmtpServer, slow_backup: SmtpServer
) -> None:
    """The claim's time is in its token: renewed, the outcome goes under the new one."""
    token = claims.accepted_token()
    await db["messages"].update_one({"_id": chain.doc["_id"]}, {"$set": {"claim_token": token}})
    [doc] = await claims.read_accepted(db, [chain.doc["_id"]])
    assert claims.holds(doc, token, LEASE / 2)
    doc["attempts"] = 1  # as the sender counts it
    job = SendJob(doc["account_id"], (doc["_id"],), token)
    delivery = asyncio.create_task(attempt(Claimed(job, MessageKind.IMMEDIATE, doc), chain.ctx))
    await asyncio.sleep(5)  # past the lease of the token given at acceptance
    assert await claims.claim_one(db, chain.doc["_id"], LEASE, "second") is None
    decision = await delivery
    [outcome] = await record([decision], chain.ctx)
    assert outcome.status == "sent"
    sent = await messages.get_message(db, chain.doc["_id"])
    assert sent is not None and sent["status"] == "sent" and sent["attempts"] == 1
    assert sent["claim_token"] not in (claims.settled(token), token)  # the renewed one's
    assert len(slow_backup.received) == 1 and slow_primary.received == []


async def test_a_chain_whose_claim_was_taken_over_stops(
    db: Database, chain: Chain, slow_backup: SmtpServer
) -> None:
    claimed = await _claim(db, chain.doc, "first")
    delivery = asyncio.create_task(attempt(claimed, chain.ctx))
    await asyncio.sleep(1)
    # The claim is taken over (this sender looked dead): the fallback must not send it.
    await db["messages"].update_one(
        {"_id": chain.doc["_id"]}, {"$set": {"claim_token": secrets.token_hex(4)}}
    )
    decision = await delivery
    assert slow_backup.received == []
    [outcome] = await record([decision], chain.ctx)
    current = await messages.get_message(db, chain.doc["_id"])
    assert current is not None and current["status"] == "sending"  # the new holder's
    assert "lease ran out" in (outcome.error_message or "")


async def test_recording_survives_a_short_database_outage_without_a_second_send(
    db: Database, service_env: dict[str, Any], smtp: SmtpServer, caplog: pytest.LogCaptureFixture
) -> None:
    account_id = await make_account(db)
    provider = await add_provider(
        db, service_env, account_id, name="p", config=smtp_config(smtp.port), default=True
    )
    [warm_up, doc] = await insert_messages(db, account_id, provider["_id"], 2)
    async with StallingProxy(service_env["mongodb_url"]) as mongo:
        loop = asyncio.get_running_loop()
        # The database goes away as the provider accepts the message: between the send
        # and the record, the one window where a lost record means a second send.

        def cut_the_database(envelope: Envelope) -> None:
            loop.call_soon_threadsafe(mongo.cut)

        async with running_sender(service_env, mongodb_url=mongo.url, management_port=0):
            # A first message, so that what the sender reads before recording (which
            # accounts have webhook endpoints) is in its cache: the record is then the
            # first thing to meet the outage.
            await publish(service_env, [warm_up])
            await wait_for_status(db, warm_up["_id"], "sent", timeout=30)
            smtp.handler.on_data = cut_the_database
            await publish(service_env, [doc])
            await smtp.wait_for(2)
            smtp.handler.on_data = None
            await asyncio.sleep(1.5)  # the outage; the record is retried meanwhile
            mongo.restore()
            sent = await wait_for_status(db, doc["_id"], "sent", timeout=30)
    assert sent["attempts"] == 1
    assert len(smtp.received) == 2
    assert any(r.message == "recording failed; retrying" for r in caplog.records)
