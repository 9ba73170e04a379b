"""The web console, served by the gateway under ``/console``: server-rendered pages
(Jinja2, a little plain JavaScript, no build step, nothing from another origin) over the
same service code as the API. The README's "The web console" tells what it does and
why it is built so."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles

from mailpass_common.platform.errors import ErrorCode
from mailpass_gateway.console.headers import install_console_headers
from mailpass_gateway.console.pages import STATIC
from mailpass_gateway.console.routing import ConsoleRoute
from mailpass_gateway.console.views import (
    audit,
    auth,
    domains,
    invitations,
    keys,
    members,
    messages,
    oidc,
    overview,
    providers,
    sandbox,
    suppressions,
    templates,
    user_signin,
    webhooks,
)
from mailpass_gateway.errors import ApiError

_unknown = APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)


@_unknown.get("/{path:path}")
async def unknown_page(path: str) -> None:
    raise ApiError(ErrorCode.NOT_FOUND, "There is no such page in the console")


def install_console(app: FastAPI) -> None:
    app.mount("/console/static", StaticFiles(directory=STATIC), name="console-static")
    for module in (
        auth,
        user_signin,
        overview,
        providers,
        keys,
        messages,
        sandbox,
        suppressions,
        webhooks,
        templates,
        domains,
        audit,
        members,
        invitations,
        oidc,
    ):
        app.include_router(module.router)
    app.include_router(_unknown)
    install_console_headers(app)
