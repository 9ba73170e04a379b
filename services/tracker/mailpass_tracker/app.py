"""The tracker's FastAPI application, built from explicit settings."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from mailpass_common import db as dbmod
from mailpass_common.health import health_router
from mailpass_common.lifecycle import wait_for_mongodb
from mailpass_tracker.settings import TrackerSettings


def create_app(settings: TrackerSettings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        client, db = dbmod.connect(settings)
        await wait_for_mongodb(db, settings.startup_timeout_seconds)
        app.state.db = db
        try:
            yield
        finally:
            await client.close()

    app = FastAPI(title="MailPass tracker", lifespan=lifespan)
    app.state.settings = settings

    async def readiness() -> dict[str, str]:
        await dbmod.ping(app.state.db)
        return {"mongodb": "ok"}

    app.include_router(health_router(readiness))
    return app
