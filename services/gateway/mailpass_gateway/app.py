"""The gateway's FastAPI application, built from explicit settings."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from opentelemetry import trace
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mailpass_common.acceptance.grouped import Grouped
from mailpass_common.messages import idempotency
from mailpass_common.platform import db as dbmod
from mailpass_common.platform import tracing
from mailpass_common.platform.broker import JobPublisher, Topology
from mailpass_common.platform.lifecycle import connect_rabbitmq, wait_for_mongodb
from mailpass_common.platform.management import management_server
from mailpass_common.platform.telemetry import log_fields
from mailpass_common.providers.service import ProviderCache
from mailpass_common.tenants.api_keys import ApiKeyCache
from mailpass_gateway import rate_limit
from mailpass_gateway.admin.views import router as admin_router
from mailpass_gateway.api_docs import docs_enabled, install_api_docs
from mailpass_gateway.audit.origin import AuditOrigin
from mailpass_gateway.audit.views import router as audit_router
from mailpass_gateway.bodies import BodySizeLimit
from mailpass_gateway.bounces.views import router as bounces_router
from mailpass_gateway.console import install_console
from mailpass_gateway.conventions import ApiConventions, RequestIds
from mailpass_gateway.domains.views import router as domains_router
from mailpass_gateway.errors import install_error_handlers, internal_error
from mailpass_gateway.keys.views import router as keys_router
from mailpass_gateway.mail.responses import (
    drop_framework_validation_responses,
    restore_null_examples,
)
from mailpass_gateway.mail.views import router as mail_router
from mailpass_gateway.members.views import router as members_router
from mailpass_gateway.messages.views import router as messages_router
from mailpass_gateway.metrics import REQUEST_COUNT, REQUEST_DURATION
from mailpass_gateway.openapi_style import document_conventions, operation_id
from mailpass_gateway.providers.views import router as providers_router
from mailpass_gateway.rpc import ReplyWaiter
from mailpass_gateway.settings import GatewaySettings
from mailpass_gateway.stats.service import StatsCache
from mailpass_gateway.stats.views import router as stats_router
from mailpass_gateway.suppressions.views import router as suppressions_router
from mailpass_gateway.templates.views import router as templates_router
from mailpass_gateway.webhooks.views import router as webhooks_router

log = logging.getLogger(__name__)


def create_app(settings: GatewaySettings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        client, db = dbmod.connect(settings)
        await wait_for_mongodb(db, settings.startup_timeout_seconds)
        await dbmod.ensure_indexes(db, settings)
        await idempotency.ensure_indexes(db)
        await rate_limit.ensure_indexes(db)
        connection = await connect_rabbitmq(settings.amqp_url, settings.startup_timeout_seconds)
        waiter = ReplyWaiter(connection, settings.amqp_prefix)
        await waiter.start()
        app.state.mongo_client = client
        app.state.db = db
        app.state.connection = connection
        app.state.publisher = JobPublisher(connection, Topology(settings.amqp_prefix))
        app.state.waiter = waiter
        app.state.keys = ApiKeyCache(db, settings.cache_ttl_seconds)
        app.state.providers = ProviderCache(db, settings.cache_ttl_seconds)
        app.state.grouped = Grouped.of(db)
        app.state.request_counter = rate_limit.RequestCounter(db)
        app.state.stats = StatsCache(db)
        try:
            async with management_server(
                readiness,
                settings.management_host,
                settings.management_port,
                reuse_port=settings.gateway_workers > 1,
            ) as management:
                app.state.management_port = management.port
                yield
        finally:
            await connection.close()
            await client.close()

    app = FastAPI(
        title="MailPass Mail Send API",
        version="1.0",
        description="Transactional email through one HTTP API. Bearer API keys; "
        "the `mail` permission sends. Errors share one envelope: "
        '`{"success": false, "error": {"code", "message", "details"}}`. '
        "Dates are UTC. Request bodies over 10 MiB are refused (413 PAYLOAD_TOO_LARGE).",
        lifespan=lifespan,
        generate_unique_id_function=operation_id,
        docs_url=None,
        redoc_url=None,
    )
    if docs_enabled(settings.api_docs, settings.environment):
        install_api_docs(app, app.title)
    app.state.settings = settings
    install_error_handlers(app)

    async def readiness() -> dict[str, str]:
        await dbmod.ping(app.state.db)
        if app.state.connection.is_closed:
            raise RuntimeError("RabbitMQ connection is down")
        return {"mongodb": "ok", "rabbitmq": "ok"}

    app.include_router(mail_router)
    app.include_router(messages_router)
    app.include_router(stats_router)
    app.include_router(providers_router)
    app.include_router(keys_router)
    app.include_router(members_router)
    app.include_router(suppressions_router)
    app.include_router(bounces_router)
    app.include_router(webhooks_router)
    app.include_router(templates_router)
    app.include_router(domains_router)
    app.include_router(audit_router)
    app.include_router(admin_router)
    install_console(app)
    app.add_middleware(AuditOrigin)
    # Added before the measuring, so they run inside it: refusals are measured too.
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_request_bytes)
    app.add_middleware(ApiConventions, policy=settings.rate_limit_policy)
    _measure(app)
    app.add_middleware(RequestIds)  # outside the measuring: its fault log has the id too
    tracing.instrument_app(app)
    _keep_example_nulls(app)
    return app


def _keep_example_nulls(app: FastAPI) -> None:
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            spec = generate()
            restore_null_examples(spec)
            drop_framework_validation_responses(spec)
            document_conventions(spec, app.state.settings.rate_limit_policy)
        return app.openapi_schema or {}

    app.openapi = openapi  # type: ignore[method-assign]


def _measure(app: FastAPI) -> None:
    app.add_middleware(MeasureRequests)


class MeasureRequests:
    """The RED metrics of every request (the request's span is the instrumentation's), and
    the envelope for a server fault. Pure ASGI: it neither copies nor wraps the body."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        answered = False

        async def observed_send(message: Message) -> None:
            nonlocal status, answered
            if message["type"] == "http.response.start":
                status, answered = message["status"], True
            await send(message)

        try:
            await self.app(scope, receive, observed_send)
        except Exception as exc:
            # A server fault, never a client's input: log it, answer in the envelope.
            log.exception(
                "unhandled error", extra=log_fields(method=scope["method"], path=scope["path"])
            )
            trace.get_current_span().record_exception(exc)
            if answered:  # too late for another answer: the connection is cut
                raise
            status = 500
            await internal_error()(scope, receive, send)
        finally:
            template = getattr(scope.get("route"), "path", "unmatched")
            REQUEST_COUNT(template, scope["method"], str(status)).inc()
            REQUEST_DURATION(template, scope["method"]).observe(time.perf_counter() - started)
