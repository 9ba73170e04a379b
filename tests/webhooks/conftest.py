from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from mailpass_common.platform.db import Database
from tests.support.stack import running_gateway
from tests.webhooks.support import Receiver, running_receiver


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with running_receiver() as found:
        yield found


@pytest.fixture
async def api(service_env: dict[str, Any], db: Database) -> AsyncIterator[httpx.AsyncClient]:
    async with running_gateway(service_env, webhook_allow_http=True) as client:
        yield client
