"""The mailpass-smtp process: the submission listeners (587 STARTTLS, 465 implicit TLS),
MongoDB, the publisher of send jobs, and the management port (9106)."""

from __future__ import annotations

import logging
import socket

from aio_pika.abc import AbstractRobustConnection

from mailpass_common.acceptance.grouped import Grouped
from mailpass_common.platform import broker
from mailpass_common.platform import db as dbmod
from mailpass_common.platform.lifecycle import connect_rabbitmq, wait_for_mongodb
from mailpass_common.platform.management import ManagementServer
from mailpass_common.providers.service import ProviderCache
from mailpass_common.smtp_server import (
    FailureWindow,
    Listener,
    ReloadingTlsContext,
    SmtpOptions,
    SmtpServer,
    SmtpServing,
    TlsMode,
)
from mailpass_common.tenants.api_keys import ApiKeyCache
from mailpass_smtp.handler import SubmissionContext, SubmissionHandler
from mailpass_smtp.settings import SubmissionSettings

log = logging.getLogger(__name__)

SUBMISSION = "submission"
SUBMISSIONS = "submissions"


class SubmissionService:
    def __init__(self, settings: SubmissionSettings) -> None:
        self.settings = settings
        self._client, self.db = dbmod.connect(settings)
        self._connection: AbstractRobustConnection | None = None
        self.handler = SubmissionHandler()
        tls = ReloadingTlsContext(
            settings.smtp_tls_cert_file,
            settings.smtp_tls_key_file,
            check_interval=settings.smtp_tls_reload_seconds,
        )
        options = SmtpOptions(
            hostname=settings.smtp_hostname or socket.getfqdn(),
            max_message_bytes=settings.max_message_bytes,
            max_connections=settings.smtp_max_connections,
            max_connections_per_client=settings.smtp_max_connections_per_client,
            idle_timeout_seconds=settings.smtp_idle_timeout_seconds,
            auth_required=True,
            auth_mechanisms=True,
        )
        # One window for both ports: guessing on 465 counts as much as on 587.
        failures = FailureWindow(
            settings.smtp_auth_failures, settings.smtp_auth_failure_window_seconds
        )
        host = settings.smtp_host
        listeners = [
            Listener(SUBMISSION, host, settings.smtp_submission_port, TlsMode.STARTTLS, True),
            Listener(SUBMISSIONS, host, settings.smtp_submissions_port, TlsMode.IMPLICIT),
        ]
        self.serving = SmtpServing(
            [SmtpServer(listener, self.handler, options, tls, failures) for listener in listeners],
            management=ManagementServer(
                self._readiness, settings.management_host, settings.management_port
            ),
            tls=tls,
            grace_seconds=settings.smtp_shutdown_grace_seconds,
        )

    async def _readiness(self) -> dict[str, str]:
        await dbmod.ping(self.db)
        if self._connection is None or self._connection.is_closed:
            raise RuntimeError("RabbitMQ connection is down")
        return {"mongodb": "ok", "rabbitmq": "ok"}

    async def connect(self) -> None:
        """MongoDB and RabbitMQ, waited for; then the handler can store and publish."""
        settings = self.settings
        await wait_for_mongodb(self.db, settings.startup_timeout_seconds)
        await dbmod.ensure_indexes(self.db, settings)
        self._connection = await connect_rabbitmq(
            settings.amqp_url, settings.startup_timeout_seconds
        )
        publisher = broker.JobPublisher(self._connection, broker.Topology(settings.amqp_prefix))
        self.handler.ctx = SubmissionContext(
            db=self.db,
            keys=ApiKeyCache(self.db, settings.cache_ttl_seconds),
            providers=ProviderCache(self.db, settings.cache_ttl_seconds),
            publisher=publisher,
            message_id_domain=settings.message_id_domain,
            max_recipients=settings.smtp_max_recipients,
            allow_executables=settings.attachments_allow_executables,
            grouped=Grouped.of(self.db),
        )

    async def start(self) -> None:
        await self.connect()
        await self.serving.start()

    async def close(self) -> None:
        if self._connection is not None:
            await self._connection.close()
            self._connection = None
        await self._client.close()

    async def stop(self) -> None:
        try:
            await self.serving.stop()
        finally:
            await self.close()

    async def run(self) -> None:
        await self.serving.run("mailpass-smtp", before=self.connect, after=self.close)
