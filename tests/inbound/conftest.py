"""A real ``mailpass-inbound`` process for the tests, on free ports, against the
session's MongoDB wire server, with a database of its own."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dns.asyncresolver
import httpx
import pytest

from mailpass_common.messages.ids import new_message_id
from mailpass_common.messages.models import new_message
from mailpass_common.mta import verp
from mailpass_common.mta.resolver import make_resolver
from mailpass_common.platform.db import Database, connect, ensure_indexes
from mailpass_common.platform.jobs import MessageKind
from mailpass_common.platform.settings import CommonSettings
from mailpass_dev.dns import free_udp_tcp_port
from tests.support.processes import BIN, process_env
from tests.support.services import free_port

DOMAIN = "bounces.mailpass.test"
SECRET = "inbound-tests-secret-" + "x" * 32
MESSAGE_ID_DOMAIN = "test.mailpass.local"


@dataclass
class Inbound:
    smtp_port: int
    management_port: int
    db: Database
    key: bytes

    async def sent_message(self, account_id: str, to: str, **fields: Any) -> str:
        """A message as the sender leaves it once delivered (``sent``), and its return path."""
        doc = new_message(
            message_id=new_message_id(MESSAGE_ID_DOMAIN),
            account_id=account_id,
            kind=MessageKind.IMMEDIATE,
            sandbox=False,
            provider_id="prv_mta",
            from_email="noreply@acme.test",
            from_name=None,
            to=to,
            subject="Your receipt",
            html=None,
            text="Thanks",
            **fields,
        )
        doc["status"] = "sent"
        await self.db["messages"].insert_one(dict(doc))
        return doc["_id"]

    def return_path(self, message_id: str) -> str:
        return verp.make(message_id, DOMAIN, self.key)

    async def metrics(self) -> str:
        async with httpx.AsyncClient() as client:
            found = await client.get(f"http://127.0.0.1:{self.management_port}/metrics")
        return found.text


async def start_inbound(env: dict[str, Any], **settings: Any) -> asyncio.subprocess.Process:
    process = await asyncio.create_subprocess_exec(
        str(BIN / "mailpass-inbound"),
        env=process_env(env, **settings),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{settings['management_port']}/readyz"
    async with httpx.AsyncClient() as client:
        for _ in range(300):
            if process.returncode is not None:
                _, err = await process.communicate()
                raise AssertionError(f"mailpass-inbound exited: {err.decode()[-2000:]}")
            try:
                if (await client.get(url)).status_code == 200:
                    return process
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.05)
    process.terminate()
    raise AssertionError("mailpass-inbound did not become ready within 15 s")


async def stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        process.terminate()
        try:
            await asyncio.wait_for(process.wait(), 10)
        except TimeoutError:
            process.kill()
            await process.wait()


@pytest.fixture(scope="session")
async def inbound_env(mongo_url: str) -> AsyncIterator[dict[str, Any]]:
    env: dict[str, Any] = {
        "mongodb_url": mongo_url,
        "mongodb_database": f"t_inbound_{secrets.token_hex(4)}",
        "message_id_domain": MESSAGE_ID_DOMAIN,
        "secret_key": SECRET,
        "mta_return_path_domain": DOMAIN,
        "inbound_smtp_host": "127.0.0.1",
    }
    yield env
    client, database = connect(CommonSettings(**env))
    await client.drop_database(database.name)
    await client.close()


@pytest.fixture(scope="session")
async def inbound_db(inbound_env: dict[str, Any]) -> AsyncIterator[Database]:
    client, database = connect(CommonSettings(**inbound_env))
    await ensure_indexes(database)
    yield database
    await client.close()


@contextlib.asynccontextmanager
async def running_inbound(
    env: dict[str, Any], db: Database, **settings: Any
) -> AsyncIterator[Inbound]:
    ports = {"inbound_smtp_port": free_port(), "management_port": free_port()}
    process = await start_inbound(env, **ports, **settings)
    try:
        yield Inbound(
            ports["inbound_smtp_port"],
            ports["management_port"],
            db,
            verp.keys_from_secrets(SECRET)[0],
        )
    finally:
        await stop(process)


@pytest.fixture(scope="session")
async def inbound(inbound_env: dict[str, Any], inbound_db: Database) -> AsyncIterator[Inbound]:
    async with running_inbound(inbound_env, inbound_db) as found:
        yield found


@contextlib.asynccontextmanager
async def running_dev_dns(
    env: dict[str, Any], data_dir: Path
) -> AsyncIterator[tuple[dns.asyncresolver.Resolver, str]]:
    """A real ``mailpass-dev dns`` process (unbound) on a free port, syncing every 0.2 s;
    a resolver that asks it, and its ``host:port``."""
    port = free_udp_tcp_port("127.0.0.1")
    process = await asyncio.create_subprocess_exec(
        str(BIN / "mailpass-dev"),
        *("dns", "--data-dir", str(data_dir), "--port", str(port), "--interval", "0.2"),
        env=process_env(env, log_level="INFO"),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    assert process.stdout is not None
    try:
        async with asyncio.timeout(30):
            while not (line := (await process.stdout.readline()).decode()).startswith("dev DNS"):
                assert line, "mailpass-dev dns exited before serving"
        yield make_resolver([f"127.0.0.1:{port}"]), f"127.0.0.1:{port}"
    finally:
        process.terminate()
        await process.wait()
