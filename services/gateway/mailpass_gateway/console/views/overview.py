"""The overview: counts of the last 24 hours and 7 days, a chart, the default provider's
use of its limits."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response

from mailpass_common.platform.db import Database
from mailpass_common.providers import limits
from mailpass_common.providers import service as providers
from mailpass_common.providers.models import ProviderDocument
from mailpass_gateway.console.charts import bar_chart
from mailpass_gateway.console.deps import Session
from mailpass_gateway.console.pages import render
from mailpass_gateway.console.routing import ConsoleRoute
from mailpass_gateway.deps import Db
from mailpass_gateway.stats.views import Stats

router = APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)


async def provider_usage(db: Database, provider: ProviderDocument) -> list[dict[str, Any]]:
    """Each configured window of the provider: sends counted now against its limit."""
    used = await limits.usage(db, provider)
    return [
        {"window": window.name, "used": used.get(window.name, 0), "limit": window.limit}
        for window in limits.windows(provider)
    ]


@router.get("/overview")
async def overview(
    request: Request,
    session: Session,
    db: Db,
    stats: Stats,
    chart: Annotated[Literal["24h", "7d"], Query()] = "24h",
) -> Response:
    day, week = await asyncio.gather(stats.window(session, "24h"), stats.window(session, "7d"))
    # A test session sends through the sandbox only: the account's providers are live data.
    default = None if session.test else await providers.get_default_provider(db, session.account_id)
    usage = await provider_usage(db, default) if default else []
    return render(
        request,
        "overview.html",
        session=session,
        windows=[("Last 24 hours", day), ("Last 7 days", week)],
        chart_window=chart,
        chart=bar_chart(day if chart == "24h" else week),
        default_provider=default,
        usage=usage,
    )
