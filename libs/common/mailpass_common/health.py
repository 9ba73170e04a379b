"""``/healthz`` (alive), ``/readyz`` (dependencies answer) and ``/metrics`` for every service."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

ReadinessCheck = Callable[[], Awaitable[dict[str, str]]]


def health_router(readiness: ReadinessCheck) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz")
    async def readyz(response: Response) -> dict[str, object]:
        try:
            checks = await asyncio.wait_for(readiness(), timeout=3)
        except Exception as exc:  # any failing dependency means not ready
            response.status_code = 503
            return {"status": "unavailable", "error": str(exc) or type(exc).__name__}
        return {"status": "ok", "checks": checks}

    @router.get("/metrics")
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router
