"""A front (as a load balancer would be) that answers the first try of every request with
503 and ``Retry-After: 0`` and forwards the retries to the real gateway, recording what
each try carried; ``GET /_front/seen`` lists them. The SDKs' retry tests go through it."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

DROPPED_HEADERS = {"host", "content-length", "transfer-encoding", "connection"}


def flaky_front(gateway_url: str) -> FastAPI:
    seen: list[dict[str, Any]] = []
    failed: set[tuple[str, str, str]] = set()
    client = httpx.AsyncClient(base_url=gateway_url, timeout=60)

    async def forward(request: Request) -> Response:
        key = request.headers.get("idempotency-key", "")
        record: dict[str, Any] = {
            "method": request.method,
            "path": request.url.path,
            "idempotency_key": key,
            "user_agent": request.headers.get("user-agent", ""),
        }
        seen.append(record)
        first_try = (request.method, request.url.path, key)
        if first_try not in failed:
            failed.add(first_try)
            record["status"] = 503
            return JSONResponse(
                {"success": False, "error": {"code": "UNAVAILABLE", "message": "try again"}},
                status_code=503,
                headers={"Retry-After": "0"},
            )
        upstream = await client.request(
            request.method,
            request.url.path,
            params=request.query_params,
            content=await request.body(),
            headers={k: v for k, v in request.headers.items() if k not in DROPPED_HEADERS},
        )
        record["status"] = upstream.status_code
        headers = {k: v for k, v in upstream.headers.items() if k not in DROPPED_HEADERS}
        headers.pop("content-encoding", None)
        return Response(upstream.content, upstream.status_code, headers)

    async def list_seen(request: Request) -> JSONResponse:
        return JSONResponse(seen)

    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    app.add_route("/_front/seen", list_seen)
    app.add_route("/{path:path}", forward, methods=["GET", "POST", "PATCH", "PUT", "DELETE"])
    return app
