"""The real gateway and sender (and, where a test starts one, the tracker) over this
test's database and queues; SMTP captures for the provider and the sandbox."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from mailpass_common.platform.db import Database
from mailpass_common.tenants.api_keys import Permission
from tests.support.smtp import SmtpServer
from tests.support.stack import running_gateway, running_sender
from tests.support.tenants import Tenant, make_tenant

TRACKER = "https://t.mailpass.test"


@pytest.fixture
def sandbox() -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture
async def tenant(db: Database, service_env: dict[str, Any], smtp: SmtpServer) -> Tenant:
    """An account with an SMTP provider and a key that may send and edit templates."""
    return await make_tenant(
        db,
        service_env,
        "acme",
        smtp_port=smtp.port,
        permissions=(Permission.MAIL, Permission.TEMPLATES),
    )


@pytest.fixture
async def api(
    db: Database, service_env: dict[str, Any], sandbox: SmtpServer
) -> AsyncIterator[httpx.AsyncClient]:
    async with (
        running_sender(
            service_env,
            management_port=0,
            sandbox_smtp_port=sandbox.port,
            tracker_base_url=TRACKER,
            unsubscribe_mailto="unsubscribe@mail.acme.test",
        ),
        running_gateway(service_env, send_timeout_seconds=10, tracker_base_url=TRACKER) as client,
    ):
        yield client
