"""The inbound process: the SMTP server for the return-path domain, the management port."""

from __future__ import annotations

import asyncio
import logging

from mailpass_common import db as dbmod
from mailpass_common.lifecycle import run_until_signalled, wait_for_mongodb
from mailpass_common.management import ManagementServer
from mailpass_common.mta import verp
from mailpass_inbound.limits import ConnectionLimits, RateLimits
from mailpass_inbound.server import InboundContext, start_server
from mailpass_inbound.settings import InboundSettings

log = logging.getLogger(__name__)
STOP_TIMEOUT_SECONDS = 25.0  # below Kubernetes' default 30 s grace period


class InboundService:
    def __init__(self, settings: InboundSettings) -> None:
        self.settings = settings
        self._client, self.db = dbmod.connect(settings)
        self.limits = ConnectionLimits(
            settings.inbound_max_connections, settings.inbound_max_connections_per_address
        )
        self.context = InboundContext(
            db=self.db,
            domain=settings.return_path_domain(),
            message_id_domains=settings.message_id_domains(),
            keys=verp.keys_from_secrets(
                settings.secret_key.get_secret_value(), settings.previous_secrets()
            ),
            max_recipients=settings.inbound_max_recipients,
            rates=RateLimits(settings.inbound_messages_per_minute_per_address),
        )
        self.management = ManagementServer(
            self._readiness, settings.management_host, settings.management_port
        )
        self._server: asyncio.Server | None = None

    async def _readiness(self) -> dict[str, str]:
        await dbmod.ping(self.db)
        if self._server is None or not self._server.is_serving():
            raise RuntimeError("the SMTP listener is not serving")
        return {"mongodb": "ok", "smtp": "ok"}

    @property
    def smtp_port(self) -> int:
        assert self._server is not None
        return int(self._server.sockets[0].getsockname()[1])

    async def start(self) -> None:
        settings = self.settings
        await wait_for_mongodb(self.db, settings.startup_timeout_seconds)
        await dbmod.ensure_indexes(self.db, settings)
        self._server = await start_server(
            self.context,
            self.limits,
            host=settings.inbound_smtp_host,
            port=settings.inbound_smtp_port,
            hostname=settings.inbound_hostname or self.context.domain,
            max_message_bytes=settings.inbound_max_message_bytes,
            timeout=settings.inbound_timeout_seconds,
        )
        await self.management.start()
        log.info("inbound started", extra={"smtp_port": self.smtp_port})

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()  # no new connections; those open finish their mail
            try:
                await asyncio.wait_for(self._server.wait_closed(), STOP_TIMEOUT_SECONDS)
            except TimeoutError:
                log.warning("inbound stopped with connections still open")
        await self.management.stop()
        await self._client.close()

    async def run(self) -> None:
        """Run until SIGTERM or SIGINT, then let the open sessions finish."""
        await run_until_signalled("inbound", self.start, self.stop)


def create_inbound(settings: InboundSettings) -> InboundService:
    return InboundService(settings)
