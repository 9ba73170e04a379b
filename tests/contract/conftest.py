"""Contract tests: the Mail Send API against the real gateway, sender, broker and database."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from mailpass_common.platform.db import Database
from tests.support.smtp import SmtpServer
from tests.support.stack import running_gateway, running_sender
from tests.support.tenants import Tenant, make_tenant


@pytest.fixture
def sandbox() -> Iterator[SmtpServer]:
    """The sandbox capture test keys deliver to."""
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture
async def tenant(db: Database, service_env: dict[str, Any], smtp: SmtpServer) -> Tenant:
    return await make_tenant(db, service_env, "acme", smtp_port=smtp.port)


@pytest.fixture
async def api(
    db: Database, service_env: dict[str, Any], sandbox: SmtpServer
) -> AsyncIterator[httpx.AsyncClient]:
    """The real gateway and sender, serving this test's database and queues."""
    async with (
        running_sender(
            service_env,
            management_port=0,
            sandbox_smtp_port=sandbox.port,
            sender_retry_base_seconds=60,
        ),
        running_gateway(service_env, send_timeout_seconds=10) as client,
    ):
        yield client
