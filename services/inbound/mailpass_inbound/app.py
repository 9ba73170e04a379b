"""The inbound process: the SMTP listener for the return-path domain and the management
port, run by :class:`mailpass_common.smtp_server.SmtpServing`."""

from __future__ import annotations

from mailpass_common.mta import verp
from mailpass_common.platform import db as dbmod
from mailpass_common.platform.lifecycle import wait_for_mongodb
from mailpass_common.platform.management import ManagementServer
from mailpass_common.smtp_server import (
    Listener,
    ReloadingTlsContext,
    SmtpOptions,
    SmtpServer,
    SmtpServing,
    TlsMode,
)
from mailpass_inbound.limits import RateLimits
from mailpass_inbound.server import InboundContext, InboundHandler
from mailpass_inbound.settings import InboundSettings

LISTENER = "inbound"
GRACE_SECONDS = 20.0  # below Kubernetes' default 30 s termination grace period


class InboundService:
    def __init__(self, settings: InboundSettings) -> None:
        self.settings = settings
        self._client, self.db = dbmod.connect(settings)
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
        # STARTTLS offered when a certificate is given (senders use it opportunistically).
        tls = None
        if settings.inbound_tls_cert_file and settings.inbound_tls_key_file:
            tls = ReloadingTlsContext(settings.inbound_tls_cert_file, settings.inbound_tls_key_file)
        self.smtp = SmtpServer(
            Listener(
                LISTENER,
                settings.inbound_smtp_host,
                settings.inbound_smtp_port,
                TlsMode.STARTTLS if tls else TlsMode.NONE,
            ),
            InboundHandler(self.context),
            SmtpOptions(
                hostname=settings.inbound_hostname or self.context.domain,
                max_message_bytes=settings.inbound_max_message_bytes,
                max_connections=settings.inbound_max_connections,
                max_connections_per_client=settings.inbound_max_connections_per_address,
                idle_timeout_seconds=settings.inbound_timeout_seconds,
            ),
            tls,
        )
        self.serving = SmtpServing(
            [self.smtp],
            management=ManagementServer(
                self._readiness, settings.management_host, settings.management_port
            ),
            tls=tls,
            grace_seconds=GRACE_SECONDS,
        )

    async def _readiness(self) -> dict[str, str]:
        await dbmod.ping(self.db)
        if self.smtp.closing:
            raise RuntimeError("the SMTP listener is stopping")
        return {"mongodb": "ok", "smtp": "ok"}

    async def _connect(self) -> None:
        await wait_for_mongodb(self.db, self.settings.startup_timeout_seconds)
        await dbmod.ensure_indexes(self.db, self.settings)

    async def _close(self) -> None:
        await self._client.close()

    async def run(self) -> None:
        """Until SIGTERM or SIGINT; then the reports being recorded finish, the clients
        still connected get 421, and the database connection closes."""
        await self.serving.run("inbound", before=self._connect, after=self._close)


def create_inbound(settings: InboundSettings) -> InboundService:
    return InboundService(settings)
