"""The tracker's FastAPI application, built from explicit settings."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from mailpass_common.messages.signed_links import TrackingSigner
from mailpass_common.platform import db as dbmod
from mailpass_common.platform import tracing
from mailpass_common.platform.errors import CODE_OF_STATUS, error_body
from mailpass_common.platform.lifecycle import wait_for_mongodb
from mailpass_common.platform.management import management_server
from mailpass_common.unsubscribe.links import UnsubscribeSigner
from mailpass_tracker.clientip import TrustedProxies
from mailpass_tracker.ingest import EventWriter
from mailpass_tracker.settings import TrackerSettings
from mailpass_tracker.unsubscribe import router as unsubscribe_router
from mailpass_tracker.views import NO_CACHE
from mailpass_tracker.views import router as tracking_router


def create_app(settings: TrackerSettings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        client, db = dbmod.connect(settings)
        app.state.db = db
        await wait_for_mongodb(db, settings.startup_timeout_seconds)
        writer = EventWriter(
            db,
            capacity=settings.tracker_buffer_size,
            batch_size=settings.tracker_batch_size,
            flush_interval=settings.tracker_flush_interval_seconds,
            write_timeout=settings.tracker_write_timeout_seconds,
            webhook_cache_seconds=settings.cache_ttl_seconds,
        )
        writer.start()
        app.state.writer = writer
        try:
            async with management_server(
                readiness, settings.management_host, settings.management_port
            ) as management:
                app.state.management_port = management.port
                yield
        finally:
            # uvicorn has finished the requests in flight by now: drain, then disconnect.
            await writer.close(settings.tracker_drain_timeout_seconds)
            await client.close()

    app = FastAPI(title="MailPass tracker", lifespan=lifespan, openapi_url=None)
    app.state.settings = settings
    app.state.signer = TrackingSigner(
        settings.secret_key.get_secret_value(), settings.previous_secrets()
    )
    app.state.unsubscribe_signer = UnsubscribeSigner(
        settings.secret_key.get_secret_value(), settings.previous_secrets()
    )
    app.state.trusted_proxies = TrustedProxies(settings.tracker_trusted_proxies)

    async def readiness() -> dict[str, str]:
        # Not MongoDB: the tracker answers pixels and redirects while the database is down
        # (events wait in the buffer), so taking it out of the ingress would only break
        # links in people's mailboxes.
        writer: EventWriter = app.state.writer
        if not writer.running:
            raise RuntimeError("the event writer has stopped")
        return {"writer": "running", "buffered_events": str(writer.depth)}

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        # Unknown paths and methods get the same envelope as a bad token.
        code = CODE_OF_STATUS.get(exc.status_code, "HTTP_ERROR")
        body = error_body(code, str(exc.detail))
        return JSONResponse(body, status_code=exc.status_code, headers=NO_CACHE)

    app.include_router(tracking_router)
    app.include_router(unsubscribe_router)
    tracing.instrument_app(app)
    return app
