"""Fixtures of the audit log tests: the real gateway over the test's database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from mailpass_common.platform.db import Database
from tests.support.stack import running_gateway


@pytest.fixture
async def api(service_env: dict[str, Any], db: Database) -> AsyncIterator[httpx.AsyncClient]:
    async with running_gateway(service_env) as client:
        yield client
