"""The sender process: the job consumer, and the management port for probes and metrics."""

from __future__ import annotations

import asyncio
import logging
import signal

from aio_pika.abc import AbstractRobustConnection

from mailpass_common import db as dbmod
from mailpass_common.broker import JobPublisher, Topology
from mailpass_common.lifecycle import connect_rabbitmq, wait_for_mongodb
from mailpass_common.management import ManagementServer
from mailpass_common.security import CredentialCipher
from mailpass_sender.circuit import CircuitBreakers
from mailpass_sender.consumer import BrokerJobRouter, JobConsumer
from mailpass_sender.failover import Failover
from mailpass_sender.flows import DeliveryContext
from mailpass_sender.providers.registry import ProviderPool
from mailpass_sender.retry import RetryPolicy
from mailpass_sender.settings import SenderSettings

log = logging.getLogger(__name__)


class SenderService:
    def __init__(self, settings: SenderSettings) -> None:
        self.settings = settings
        self._client, self.db = dbmod.connect(settings)
        self.pool = ProviderPool(settings, CredentialCipher(settings.secret_key.get_secret_value()))
        self.breakers = CircuitBreakers(
            settings.circuit_failure_threshold, settings.circuit_open_seconds
        )
        self._consumer: JobConsumer | None = None
        self._connection: AbstractRobustConnection | None = None
        self.management = ManagementServer(
            self._readiness, settings.management_host, settings.management_port
        )

    async def _readiness(self) -> dict[str, str]:
        await dbmod.ping(self.db)
        if self._connection is None or self._connection.is_closed:
            raise RuntimeError("RabbitMQ connection is down")
        return {"mongodb": "ok", "rabbitmq": "ok"}

    async def start(self) -> None:
        timeout = self.settings.startup_timeout_seconds
        await wait_for_mongodb(self.db, timeout)
        await dbmod.ensure_indexes(self.db)
        self._connection = connection = await connect_rabbitmq(self.settings.amqp_url, timeout)
        topology = Topology(self.settings.amqp_prefix)
        context = DeliveryContext(
            db=self.db,
            settings=self.settings,
            failover=Failover(self.db, self.pool, self.breakers),
            policy=RetryPolicy.from_settings(self.settings),
            router=BrokerJobRouter(JobPublisher(connection, topology)),
        )
        self._consumer = JobConsumer(
            connection, context, topology=topology, prefetch=self.settings.sender_prefetch
        )
        await self._consumer.start()
        await self.management.start()
        log.info("sender started")

    async def stop(self) -> None:
        await self.management.stop()
        if self._consumer is not None:
            await self._consumer.stop()
        if self._connection is not None:
            await self._connection.close()
        await self.pool.close()
        await self._client.close()

    async def run(self) -> None:
        """Run until SIGTERM or SIGINT, then stop taking jobs and finish those in flight."""
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stopping.set)
        await self.start()
        try:
            await stopping.wait()
            log.info("sender stopping")
        finally:
            await self.stop()


def create_sender(settings: SenderSettings) -> SenderService:
    return SenderService(settings)
