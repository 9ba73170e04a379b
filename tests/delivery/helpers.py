"""What the delivery tests share: accounts, providers, messages, jobs, and waiting."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aio_pika
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from mailpass_common import accounts
from mailpass_common.broker import DeadLetter, JobPublisher, SendJob, Topology, read_dead_letters
from mailpass_common.db import Database, Document
from mailpass_common.documents import Collections, MessageKind
from mailpass_common.ids import new_message_id
from mailpass_common.security import CredentialCipher
from mailpass_common.settings import CommonSettings
from tests.support.smtp import CapturingHandler, SmtpServer

# Retries in about a second, three attempts: what the issue asks tests to use.
FAST_RETRIES: dict[str, Any] = {
    "management_port": 0,
    "sender_retry_base_seconds": 0.4,
    "sender_retry_max_seconds": 0.8,
    "sender_retry_jitter": 0.25,
    "sender_max_attempts": 3,
}
BIN = Path(sys.executable).parent


def cipher(env: dict[str, Any]) -> CredentialCipher:
    return CredentialCipher(CommonSettings(**env).secret_key.get_secret_value())


async def make_account(db: Database, name: str = "acme") -> str:
    account = await accounts.create_account(db, name)
    return str(account["_id"])


async def add_provider(
    db: Database,
    env: dict[str, Any],
    account_id: str,
    *,
    name: str,
    type: str = "smtp",
    config: dict[str, Any],
    secrets: dict[str, Any] | None = None,
    default: bool = False,
    fallback_priority: int | None = None,
    hourly_limit: int | None = None,
    daily_limit: int | None = None,
) -> Document:
    doc = await accounts.add_provider(
        db,
        cipher(env),
        account_id=account_id,
        name=name,
        type=type,
        config=config,
        secrets_=secrets,
        from_email="noreply@acme.test",
        hourly_limit=hourly_limit,
        daily_limit=daily_limit,
        default=default,
    )
    if fallback_priority is not None:
        await db[Collections.PROVIDERS].update_one(
            {"_id": doc["_id"]}, {"$set": {"fallback_priority": fallback_priority}}
        )
    return doc


def smtp_config(port: int) -> dict[str, Any]:
    return {"host": "127.0.0.1", "port": port, "security": "none"}


async def insert_messages(
    db: Database,
    account_id: str,
    provider_id: str,
    count: int,
    *,
    kind: MessageKind = MessageKind.IMMEDIATE,
    first_queue_id: int = 1,
) -> list[Document]:
    """Messages as the gateway stores them (``queued``; batch ones not yet published)."""
    now = datetime.now(UTC)
    docs = [
        {
            "_id": new_message_id("test.mailpass.local"),
            "account_id": account_id,
            "kind": kind.value,
            "status": "queued",
            "provider_id": provider_id,
            "sandbox": False,
            "from_email": "noreply@acme.test",
            "from_name": None,
            "to": f"user{first_queue_id + i}@example.com",
            "cc": [],
            "bcc": [],
            "reply_to": None,
            "subject": f"Hello {first_queue_id + i}",
            "html": None,
            "text": f"Message {first_queue_id + i}",
            "tags": [],
            "metadata": {},
            "error_message": None,
            "attempts": 0,
            "queue_id": first_queue_id + i if kind is MessageKind.BATCH else None,
            "created_at": now,
            "updated_at": now,
            "sent_at": None,
            "published_at": now if kind is MessageKind.IMMEDIATE else None,
        }
        for i in range(count)
    ]
    await db[Collections.MESSAGES].insert_many(docs)
    return docs


async def publish(
    env: dict[str, Any],
    docs: list[Document],
    *,
    reply_to: str | None = None,
) -> None:
    connection = await aio_pika.connect_robust(env["amqp_url"])
    async with connection:
        publisher = JobPublisher(connection, Topology(env["amqp_prefix"]))
        for doc in docs:
            await publisher.publish(
                SendJob(doc["_id"], doc["account_id"]),
                MessageKind(doc["kind"]),
                reply_to=reply_to,
                correlation_id=doc["_id"] if reply_to else None,
            )


async def wait_for_status(
    db: Database, message_id: str, *statuses: str, timeout: float = 20.0
) -> Document:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        doc = await db[Collections.MESSAGES].find_one({"_id": message_id})
        if doc is not None and doc["status"] in statuses:
            return doc
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{message_id} is {doc and doc['status']}, not {statuses}")
        await asyncio.sleep(0.05)


async def event_types(db: Database, message_id: str) -> list[str]:
    events = (
        await db[Collections.EVENTS]
        .find({"message_id": message_id})
        .sort([("created_at", 1), ("_id", 1)])
        .to_list()
    )
    return [e["event_type"] for e in events]


async def dead_letters(env: dict[str, Any]) -> list[DeadLetter]:
    """Peek at the dead-letter queue (everything read goes back when the channel closes)."""
    connection = await aio_pika.connect(env["amqp_url"])
    async with connection:
        channel = await connection.channel()
        return await read_dead_letters(channel, Topology(env["amqp_prefix"]))


def process_env(env: dict[str, Any], **extra: Any) -> dict[str, str]:
    """Environment variables for a real MailPass process with the test's settings."""
    variables = {key.upper(): str(value) for key, value in {**env, **extra}.items()}
    return {**os.environ, "LOG_LEVEL": "WARNING", **variables}


async def run_cli(env: dict[str, Any], *args: str) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        str(BIN / "mailpass"),
        *args,
        env=process_env(env),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await proc.communicate()
    return proc.returncode or 0, out.decode()


class ReplyQueue:
    """Stands in for the gateway's RPC reply queue."""

    def __init__(self, env: dict[str, Any]) -> None:
        self._url = env["amqp_url"]
        self.replies: list[dict[str, Any]] = []

    async def __aenter__(self) -> ReplyQueue:
        self._connection = await aio_pika.connect(self._url)
        channel = await self._connection.channel()
        self._queue = await channel.declare_queue(exclusive=True, auto_delete=True)
        self.name = self._queue.name
        await self._queue.consume(self._on_reply, no_ack=True)
        return self

    async def _on_reply(self, message: aio_pika.abc.AbstractIncomingMessage) -> None:
        self.replies.append({**json.loads(message.body), "_cid": message.correlation_id})

    async def __aexit__(self, *exc: object) -> None:
        await self._connection.close()


class DroppingHandler(CapturingHandler):
    """Hangs up in the middle of DATA ``drop_next`` times: a dropped connection."""

    drop_next: int = 0

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.drop_next > 0:
            self.drop_next -= 1
            assert server.transport is not None
            server.transport.close()
            return "421 4.4.2 connection dropped"
        return await super().handle_DATA(server, session, envelope)


class DroppingSmtpServer(SmtpServer):
    def __init__(self, drop_next: int) -> None:
        super().__init__()
        self.handler = DroppingHandler()
        self.handler.drop_next = drop_next
        self._controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)
