"""The sender process: one pipeline per work queue, and the management port."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from aio_pika.abc import AbstractRobustConnection

from mailpass_common.platform import broker
from mailpass_common.platform import db as dbmod
from mailpass_common.platform.broker import JobPublisher, Topology
from mailpass_common.platform.cache import TtlCache
from mailpass_common.platform.crypto import CredentialCipher
from mailpass_common.platform.jobs import MessageKind
from mailpass_common.platform.lifecycle import (
    connect_rabbitmq,
    run_until_signalled,
    wait_for_mongodb,
)
from mailpass_common.platform.management import ManagementServer
from mailpass_common.providers.delivery.pool import ProviderPool
from mailpass_common.providers.service import ProviderCache
from mailpass_common.webhooks.endpoints import EndpointDirectory
from mailpass_sender.circuit import CircuitBreakers, CircuitReporter
from mailpass_sender.failover import Failover
from mailpass_sender.metrics import IN_FLIGHT, MTA_SESSIONS, SMTP_CONNECTIONS
from mailpass_sender.models import DeliveryContext
from mailpass_sender.mta import build_engine
from mailpass_sender.pipeline import QueuePipeline
from mailpass_sender.retry import RetryPolicy
from mailpass_sender.router import BrokerJobRouter
from mailpass_sender.settings import SenderSettings

log = logging.getLogger(__name__)

# On SIGTERM, how long jobs in flight may take to finish: below Kubernetes' default
# 30 s grace period, so the pod is not killed mid-delivery.
STOP_TIMEOUT_SECONDS = 25.0
GAUGE_REFRESH_SECONDS = 1.0


class SenderService:
    def __init__(self, settings: SenderSettings) -> None:
        self.settings = settings
        self._client, self.db = dbmod.connect(settings)
        cipher = CredentialCipher(
            settings.secret_key.get_secret_value(), settings.previous_secrets()
        )
        # MailPass SMTP: one engine shared by every `mailpass` provider (None: not enabled).
        self.mta = build_engine(settings, self.db, cipher)
        self.pool = ProviderPool(settings.delivery_options(self.mta), cipher)
        self.breakers = CircuitBreakers(
            settings.circuit_failure_threshold, settings.circuit_open_seconds
        )
        self.circuit_reports = CircuitReporter(self.db, settings.circuit_open_seconds)
        self.pipelines: list[QueuePipeline] = []
        self._connection: AbstractRobustConnection | None = None
        self._gauges: asyncio.Task[None] | None = None
        self.management = ManagementServer(
            self._readiness,
            settings.management_host,
            settings.management_port,
            reuse_port=settings.sender_workers > 1,
            before_scrape=self._set_gauges,
        )

    async def _readiness(self) -> dict[str, str]:
        await dbmod.ping(self.db)
        if self._connection is None or self._connection.is_closed:
            raise RuntimeError("RabbitMQ connection is down")
        return {"mongodb": "ok", "rabbitmq": "ok"}

    async def start(self) -> None:
        settings = self.settings
        timeout = settings.startup_timeout_seconds
        await wait_for_mongodb(self.db, timeout)
        await dbmod.ensure_indexes(self.db, settings)
        if self.mta is not None:
            await self.mta.start()
        self._connection = connection = await connect_rabbitmq(settings.amqp_url, timeout)
        topology = Topology(settings.amqp_prefix)
        context = DeliveryContext(
            db=self.db,
            settings=settings,
            failover=Failover(
                self.db,
                self.pool,
                self.breakers,
                ProviderCache(self.db, settings.cache_ttl_seconds),
                self.circuit_reports,
            ),
            policy=RetryPolicy.from_settings(settings),
            router=BrokerJobRouter(JobPublisher(connection, topology)),
            accounts=TtlCache(settings.cache_ttl_seconds),
            webhooks=EndpointDirectory(self.db, settings.cache_ttl_seconds),
            suspensions=TtlCache(settings.cache_ttl_seconds),
        )
        for kind in (MessageKind.IMMEDIATE, MessageKind.BATCH):
            # A channel per queue: its own prefetch, and one queue's acks never wait on
            # the other's deliveries. Its only publishes are the replies to /send, which
            # are best effort (unanswered, the gateway's wait ends in 202 and the status
            # endpoint tells the rest): no confirm to wait for before the job's ack. Jobs
            # (retries, dead letters) go through the JobPublisher's confirmed channel.
            channel = await connection.channel(publisher_confirms=False)
            await channel.set_qos(
                prefetch_count=settings.sender_batch_prefetch
                if kind is MessageKind.BATCH
                else settings.sender_prefetch
            )
            queues = await broker.declare(channel, topology)
            pipeline = QueuePipeline(kind, context)
            await pipeline.start(channel, queues[kind])
            self.pipelines.append(pipeline)
        if settings.sender_workers > 1:
            self._gauges = asyncio.create_task(self._refresh_gauges(), name="sender-gauges")
        await self.management.start()
        log.info("sender started")

    def _set_gauges(self) -> None:
        """The live gauges, set by whichever worker answers a scrape just before it reads
        them. (Not ``set_function``: in multiprocess mode a scrape reads every worker's
        values from files that only ``set`` writes.)"""
        IN_FLIGHT.set(sum(p.in_flight for p in self.pipelines))
        SMTP_CONNECTIONS.set(self.pool.smtp_connections())
        MTA_SESSIONS.set(self.mta.pool.open_sessions if self.mta is not None else 0)

    async def _refresh_gauges(self) -> None:
        """With several workers, the others' values are read from their files: each
        worker refreshes its own every second."""
        while True:
            self._set_gauges()
            await asyncio.sleep(GAUGE_REFRESH_SECONDS)

    async def stop(self) -> None:
        if self._gauges is not None:
            self._gauges.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._gauges
        await self.management.stop()
        await asyncio.gather(*(p.stop(STOP_TIMEOUT_SECONDS) for p in self.pipelines))
        await self.circuit_reports.drain()
        if self._connection is not None:
            await self._connection.close()
        await self.pool.close()
        if self.mta is not None:
            await self.mta.close()
        await self._client.close()

    async def run(self) -> None:
        """Run until SIGTERM or SIGINT, then stop taking jobs and finish those in flight."""
        await run_until_signalled("sender", self.start, self.stop)


def create_sender(settings: SenderSettings) -> SenderService:
    return SenderService(settings)
