"""The console's fixtures: the real gateway and sender, an SMTP server, tenants."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, async_playwright

from mailpass_common.platform.db import Database
from tests.admin.support import SMTP_PASSWORD, SMTP_USER, AuthSmtpServer
from tests.console.browser import ARGS, ensure_chromium
from tests.support.smtp import SmtpServer
from tests.support.stack import running_gateway, running_sender


@pytest.fixture
def sandbox() -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture
async def console(
    db: Database, service_env: dict[str, Any], sandbox: SmtpServer
) -> AsyncIterator[httpx.AsyncClient]:
    """A browser-like client (it keeps cookies) of the real gateway, with a sender."""
    async with (
        running_sender(service_env, management_port=0, sandbox_smtp_port=sandbox.port),
        running_gateway(service_env, send_timeout_seconds=10, console_signin_attempts=5) as client,
    ):
        yield client


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """Debian's chromium, headless (installed first when missing)."""
    executable = ensure_chromium()
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(executable), headless=True, args=ARGS
        )
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture
def auth_smtp() -> Iterator[AuthSmtpServer]:
    """An SMTP server that requires AUTH (its credentials: tests.admin.support)."""
    server = AuthSmtpServer(SMTP_USER, SMTP_PASSWORD).start()
    yield server
    server.stop()
