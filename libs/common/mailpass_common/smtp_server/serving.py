"""An SMTP service's ports together: its listeners, the certificate they share (reloaded
as it changes), and the management port (probes, ``/metrics``) of
:mod:`mailpass_common.platform.management`, started and stopped as one.

Order on stop (SIGTERM): the listeners stop accepting and the handler calls under way
finish (a message being stored is answered), then every client still connected gets
``421 4.3.2`` and is closed (RFC 5321 lets a server say so at any time; the client tries
again later, elsewhere), then the management port goes, last, so probes answer until
the end. ``grace_seconds`` must stay below the pod's termination grace period.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence

from mailpass_common.platform.lifecycle import run_until_signalled
from mailpass_common.platform.management import ManagementServer
from mailpass_common.smtp_server.server import SmtpServer
from mailpass_common.smtp_server.tls import ReloadingTlsContext

log = logging.getLogger(__name__)

Step = Callable[[], Awaitable[None]]


class SmtpServing:
    def __init__(
        self,
        servers: Sequence[SmtpServer],
        *,
        management: ManagementServer,
        tls: ReloadingTlsContext | None = None,
        grace_seconds: float = 20.0,
    ) -> None:
        self.servers = list(servers)
        self.management = management
        self.tls = tls
        self.grace_seconds = grace_seconds

    def server(self, name: str) -> SmtpServer:
        """The server of the listener named ``name``."""
        return next(s for s in self.servers if s.listener.name == name)

    async def start(self) -> None:
        # The SMTP ports first: /readyz answering 200 means the ports accept connections
        # (a probe, or a test, that saw ready before the bind was refused).
        if self.tls is not None:
            self.tls.start()
        for server in self.servers:
            await server.start()
        await self.management.start()

    async def stop(self) -> None:
        await asyncio.gather(*(s.stop(self.grace_seconds) for s in self.servers))
        if self.tls is not None:
            await self.tls.stop()
        await self.management.stop()

    async def run(
        self, name: str, *, before: Step | None = None, after: Step | None = None
    ) -> None:
        """Until SIGTERM/SIGINT: ``before`` (connect the service's dependencies), the ports;
        on the signal, the ports, then ``after`` (close the dependencies)."""

        async def start() -> None:
            if before is not None:
                await before()
            await self.start()

        async def stop() -> None:
            try:
                await self.stop()
            finally:
                if after is not None:
                    await after()

        await run_until_signalled(name, start, stop)
