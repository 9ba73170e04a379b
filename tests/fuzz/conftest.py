"""The stack the fuzzer runs against: the real gateway and sender as processes (as in
production), RabbitMQ, the MongoDB wire server, and a capture SMTP server.

Mail goes out with a test key (``mp_test_``), so every message the fuzzer sends ends in
the capture server and never at a provider it may have created. Administration uses a
live key with every permission.
"""

from __future__ import annotations

import asyncio
import secrets
import subprocess
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from mailpass_common.platform.db import connect, ensure_indexes
from mailpass_common.platform.settings import CommonSettings
from mailpass_common.providers import service as providers
from mailpass_common.tenants import accounts, api_keys
from mailpass_common.tenants.api_keys import Permission
from tests.support.processes import BIN, process_env
from tests.support.services import free_port, wait_for_port
from tests.support.smtp import SmtpServer
from tests.support.stack import delete_topology
from tests.support.tenants import cipher


@dataclass(frozen=True)
class FuzzStack:
    base_url: str
    mail_key: str  # a test key: mail reaches the capture server only
    admin_key: str  # a live key with every permission
    sandbox: SmtpServer


async def _tenant(env: dict[str, Any], sandbox_port: int) -> tuple[str, str]:
    client, db = connect(CommonSettings(**env))
    try:
        await ensure_indexes(db, CommonSettings(**env))
        account = await accounts.create_account(db, "fuzz")
        await providers.add_provider(
            db,
            cipher(env),
            account_id=account["_id"],
            name="capture",
            type="smtp",
            config={"host": "127.0.0.1", "port": sandbox_port, "security": "none"},
            secrets_=None,
            from_email="fuzz@mailpass.local",
            from_name="Fuzz",
            hourly_limit=None,
            daily_limit=None,
            fallback_priority=None,
            default=True,
        )
        mail = await api_keys.create_api_key(db, account["_id"], [Permission.MAIL], test=True)
        admin = await api_keys.create_api_key(db, account["_id"], list(Permission))
        return mail.key, admin.key
    finally:
        await client.close()


async def _tear_down(env: dict[str, Any]) -> None:
    client, _ = connect(CommonSettings(**env))
    await client.drop_database(env["mongodb_database"])
    await client.close()
    await delete_topology(env["amqp_url"], env["amqp_prefix"])


@pytest.fixture(scope="module")
def fuzz_stack(mongo_url: str, amqp_url: str) -> Iterator[FuzzStack]:
    tag = secrets.token_hex(4)
    env: dict[str, Any] = {
        "mongodb_url": mongo_url,
        "mongodb_database": f"fuzz_{tag}",
        "amqp_url": amqp_url,
        "amqp_prefix": f"mailpass-fuzz-{tag}",
        "message_id_domain": "fuzz.mailpass.local",
    }
    sandbox = SmtpServer().start()
    mail_key, admin_key = asyncio.run(_tenant(env, sandbox.port))
    port = free_port()
    processes = [
        subprocess.Popen(
            [str(BIN / "mailpass-sender")],
            env=process_env(env, management_port=free_port(), sandbox_smtp_port=sandbox.port),
        ),
        subprocess.Popen(
            [str(BIN / "mailpass-gateway")],
            env=process_env(
                env, management_port=free_port(), gateway_port=port, send_timeout_seconds=10
            ),
        ),
    ]
    try:
        assert wait_for_port("127.0.0.1", port, 60), "the gateway did not start"
        base_url = f"http://127.0.0.1:{port}"
        with urllib.request.urlopen(f"{base_url}/openapi.json", timeout=10) as answer:
            assert answer.status == 200
        yield FuzzStack(base_url, mail_key, admin_key, sandbox)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
        sandbox.stop()
        asyncio.run(_tear_down(env))
