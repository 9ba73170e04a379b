"""Fixtures of the admin API tests: the real gateway with an admin token."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from mailpass_common.platform.db import Database
from tests.support.stack import running_gateway

TOKEN = "platform-admin-token-0123456789abcdef"
ADMIN = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
async def api(service_env: dict[str, Any], db: Database) -> AsyncIterator[httpx.AsyncClient]:
    async with running_gateway(service_env, admin_api_token=TOKEN) as client:
        yield client
