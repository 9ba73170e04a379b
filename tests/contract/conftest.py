"""Contract tests: the Mail Send API against the real gateway, sender, broker and database."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from mailpass_common import accounts
from mailpass_common.db import Database
from mailpass_common.security import CredentialCipher, Permission
from mailpass_common.settings import CommonSettings
from tests.support.smtp import SmtpServer
from tests.support.stack import running_gateway, running_sender


@dataclass(frozen=True)
class Tenant:
    account_id: str
    key: str
    provider: dict[str, Any] | None

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


async def make_tenant(
    db: Database,
    env: dict[str, Any],
    name: str,
    *,
    smtp_port: int | None,
    permissions: tuple[str, ...] = (Permission.MAIL,),
    test_key: bool = False,
    from_email: str | None = "noreply@acme.example.com",
    hourly_limit: int | None = None,
) -> Tenant:
    """An account, optionally a default SMTP provider at ``smtp_port``, and one API key."""
    cipher = CredentialCipher(CommonSettings(**env).secret_key.get_secret_value())
    account = await accounts.create_account(db, name)
    provider = None
    if smtp_port is not None:
        provider = await accounts.add_provider(
            db,
            cipher,
            account_id=account["_id"],
            name="local",
            type="smtp",
            config={"host": "127.0.0.1", "port": smtp_port, "security": "none"},
            from_email=from_email,
            from_name="Acme",
            hourly_limit=hourly_limit,
            default=True,
        )
    key = await accounts.create_api_key(db, account["_id"], permissions, test=test_key)
    return Tenant(account["_id"], key.key, provider)


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
