"""``GET /stats`` (``mail`` permission): counts over the last 24 hours or 7 days."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from mailpass_common.platform.errors import ErrorCode
from mailpass_gateway.deps import MailKey
from mailpass_gateway.mail.responses import error_responses
from mailpass_gateway.stats.models import StatsQuery, StatsResponse
from mailpass_gateway.stats.service import StatsCache, stats_view

router = APIRouter(prefix="/api/v1/stats", tags=["stats"])


def get_stats_cache(request: Request) -> StatsCache:
    cache: StatsCache = request.app.state.stats
    return cache


Stats = Annotated[StatsCache, Depends(get_stats_cache)]


@router.get(
    "",
    response_model=StatsResponse,
    summary="Counts over the last 24 hours (hourly) or 7 days (daily)",
    description="Per UTC-aligned bucket ending now: messages accepted and how many of "
    "them are sent, failed or still pending, and the deferrals, opens and clicks recorded. "
    "Live and test mail are counted apart (`sandbox`). Answers may be up to 10 s old.",
    responses=error_responses(
        ErrorCode.VALIDATION_ERROR, ErrorCode.UNAUTHORIZED, ErrorCode.FORBIDDEN
    ),
)
async def get_stats(
    query: Annotated[StatsQuery, Query()], key: MailKey, cache: Stats
) -> JSONResponse:
    found = await cache.window(key, query.window, query.sandbox)
    return JSONResponse({"success": True, "data": stats_view(found)})
