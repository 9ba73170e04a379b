"""The management port every service serves apart from its public one.

``/healthz`` (the process is alive), ``/readyz`` (its dependencies answer) and
``/metrics`` (Prometheus) live on a port of their own (gateway 9100, sender 9101,
tracker 9102, the scheduler's dev loop 9103): the ingress routes only the public ports,
so probes and metrics are never reachable from outside the cluster, and a NetworkPolicy
can open the management port to the kubelet and Prometheus alone.

The server runs in the service's own event loop, so ``/readyz`` checks the same
connections the service uses. With several worker processes, each serves the port
(SO_REUSEPORT) and ``/metrics`` answers for all of them (prometheus-client's
multiprocess mode, see :mod:`mailpass_common.platform.metrics`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

import uvicorn
from fastapi import FastAPI, Response
from opentelemetry.instrumentation.utils import suppress_instrumentation
from prometheus_client import CollectorRegistry

from mailpass_common.platform.metrics import exposition
from mailpass_common.platform.workers import listening_socket

ReadinessCheck = Callable[[], Awaitable[dict[str, str]]]
# Sets the service's live gauges (what is in flight now...) just before a scrape reads them.
BeforeScrape = Callable[[], None]
READINESS_TIMEOUT_SECONDS = 3.0


def management_app(
    readiness: ReadinessCheck,
    *registries: CollectorRegistry,
    before_scrape: BeforeScrape | None = None,
) -> FastAPI:
    app = FastAPI(title="mailpass-management", openapi_url=None, docs_url=None, redoc_url=None)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz")
    async def readyz(response: Response) -> dict[str, object]:
        try:
            # Probes come every few seconds: their database pings are not worth a trace.
            with suppress_instrumentation():
                checks = await asyncio.wait_for(readiness(), timeout=READINESS_TIMEOUT_SECONDS)
        except Exception as exc:  # any failing dependency means not ready
            response.status_code = 503
            return {"status": "unavailable", "error": str(exc) or type(exc).__name__}
        return {"status": "ok", "checks": checks}

    @app.get("/metrics")
    async def metrics() -> Response:
        if before_scrape is not None:
            before_scrape()
        body, content_type = exposition(*registries)
        return Response(body, media_type=content_type)

    return app


class EmbeddedServer(uvicorn.Server):
    """A uvicorn server that leaves the process's signals to its owner (the service)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class ManagementServer:
    """A uvicorn server for :func:`management_app`, started and stopped by its service."""

    def __init__(
        self,
        readiness: ReadinessCheck,
        host: str,
        port: int,
        *registries: CollectorRegistry,
        reuse_port: bool = False,
        before_scrape: BeforeScrape | None = None,
    ) -> None:
        # With several workers each binds the port too (see mailpass_common.platform.workers).
        self._socket = listening_socket(host, port, reuse_port=True) if reuse_port else None
        config = uvicorn.Config(
            management_app(readiness, *registries, before_scrape=before_scrape),
            host=host,
            port=port,
            log_config=None,
            access_log=False,
            lifespan="off",
        )
        self._server = EmbeddedServer(config)
        self._task: asyncio.Task[None] | None = None

    @property
    def port(self) -> int:
        """The bound port (useful when configured as 0: any free port)."""
        for server in self._server.servers:
            for sock in server.sockets:
                return int(sock.getsockname()[1])
        raise RuntimeError("the management server is not listening")

    async def start(self) -> None:
        sockets = [self._socket] if self._socket is not None else None
        self._task = asyncio.create_task(
            self._server.serve(sockets=sockets), name="management-server"
        )
        while not self._server.started:
            if self._task.done():
                self._task.result()  # raises why it could not start (port taken...)
                raise RuntimeError("the management server stopped while starting")
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        if self._task is None:
            return
        self._server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None


@contextlib.asynccontextmanager
async def management_server(
    readiness: ReadinessCheck,
    host: str,
    port: int,
    *registries: CollectorRegistry,
    reuse_port: bool = False,
) -> AsyncIterator[ManagementServer]:
    server = ManagementServer(readiness, host, port, *registries, reuse_port=reuse_port)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()
