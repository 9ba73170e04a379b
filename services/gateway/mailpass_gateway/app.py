"""The gateway's FastAPI application, built from explicit settings."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response
from opentelemetry import trace

from mailpass_common import db as dbmod
from mailpass_common.broker import JobPublisher, Topology
from mailpass_common.health import health_router
from mailpass_common.lifecycle import connect_rabbitmq, wait_for_mongodb
from mailpass_common.telemetry import extract_trace_context, tracer
from mailpass_gateway.errors import install_error_handlers
from mailpass_gateway.mail.views import router as mail_router
from mailpass_gateway.metrics import REQUEST_SECONDS, REQUESTS
from mailpass_gateway.rpc import ReplyWaiter
from mailpass_gateway.settings import GatewaySettings


def create_app(settings: GatewaySettings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        client, db = dbmod.connect(settings)
        await wait_for_mongodb(db, settings.startup_timeout_seconds)
        await dbmod.ensure_indexes(db)
        connection = await connect_rabbitmq(settings.amqp_url, settings.startup_timeout_seconds)
        waiter = ReplyWaiter(connection, settings.amqp_prefix)
        await waiter.start()
        app.state.db = db
        app.state.connection = connection
        app.state.publisher = JobPublisher(connection, Topology(settings.amqp_prefix))
        app.state.waiter = waiter
        try:
            yield
        finally:
            await connection.close()
            await client.close()

    app = FastAPI(
        title="MailPass Mail Send API",
        version="1.0",
        description="Transactional email through one HTTP API. Bearer API keys; "
        "the `mail` permission sends.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    install_error_handlers(app)

    async def readiness() -> dict[str, str]:
        await dbmod.ping(app.state.db)
        if app.state.connection.is_closed:
            raise RuntimeError("RabbitMQ connection is down")
        return {"mongodb": "ok", "rabbitmq": "ok"}

    app.include_router(health_router(readiness))
    app.include_router(mail_router)
    _instrument(app)
    return app


def _instrument(app: FastAPI) -> None:
    server_tracer = tracer("mailpass.gateway")

    @app.middleware("http")
    async def observe(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        started = time.perf_counter()
        context = extract_trace_context(dict(request.headers))
        with server_tracer.start_as_current_span(
            f"{request.method} {request.url.path}", context=context, kind=trace.SpanKind.SERVER
        ) as span:
            response = await call_next(request)
            route = request.scope.get("route")
            template = getattr(route, "path", "unmatched")
            span.update_name(f"{request.method} {template}")
            span.set_attribute("http.response.status_code", response.status_code)
        REQUESTS.labels(template, request.method, str(response.status_code)).inc()
        REQUEST_SECONDS.labels(template, request.method).observe(time.perf_counter() - started)
        return response
