"""Fixtures of the admin tests: the real gateway and SMTP servers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from mailpass_common.platform.db import Database
from tests.admin.support import SMTP_PASSWORD, SMTP_USER, AuthSmtpServer
from tests.support.stack import running_gateway


@pytest.fixture
async def api(service_env: dict[str, Any], db: Database) -> AsyncIterator[httpx.AsyncClient]:
    async with running_gateway(service_env) as client:
        yield client


@pytest.fixture
def auth_smtp() -> Iterator[AuthSmtpServer]:
    server = AuthSmtpServer(SMTP_USER, SMTP_PASSWORD).start()
    yield server
    server.stop()
