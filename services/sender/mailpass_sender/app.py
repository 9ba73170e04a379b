"""The sender process: the job consumer plus a small HTTP server for probes and metrics."""

from __future__ import annotations

import logging

import uvicorn
from aio_pika.abc import AbstractRobustConnection
from fastapi import FastAPI

from mailpass_common import db as dbmod
from mailpass_common.broker import JobPublisher, Topology
from mailpass_common.health import health_router
from mailpass_common.lifecycle import connect_rabbitmq, wait_for_mongodb
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
        self.http = FastAPI(title="mailpass-sender", openapi_url=None)
        self.http.include_router(health_router(self._readiness))

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
        log.info("sender started")

    async def stop(self) -> None:
        if self._consumer is not None:
            await self._consumer.stop()
        if self._connection is not None:
            await self._connection.close()
        await self.pool.close()
        await self._client.close()

    async def run(self) -> None:
        """Run until cancelled (SIGTERM/SIGINT via uvicorn), then shut down gracefully."""
        await self.start()
        config = uvicorn.Config(
            self.http,
            host=self.settings.sender_health_host,
            port=self.settings.sender_health_port,
            log_config=None,
            access_log=False,
        )
        server = uvicorn.Server(config)
        try:
            await server.serve()
        finally:
            await self.stop()


def create_sender(settings: SenderSettings) -> SenderService:
    return SenderService(settings)
