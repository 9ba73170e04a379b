"""The bench's tenant (an account, its SMTP provider at the sink, a key) and its data.

The tenant is made with the library, as ``mailpass-dev`` and the contract tests do. The
preload of older messages builds each document with the gateway's own builder, so the
documents have whatever shape and indexes the live path uses today; only
:func:`older_message` knows the builder's signature and what a delivered message looks
like, so that is the one place to adapt when the schema changes.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from mailpass_common.messages.models import MessageStatus
from mailpass_common.messages.sequences import queue_id_sequence, reserve_range
from mailpass_common.platform.crypto import CredentialCipher
from mailpass_common.platform.db import Collections, Database, Document
from mailpass_common.platform.jobs import MessageKind
from mailpass_common.platform.settings import CommonSettings
from mailpass_common.providers import service as providers
from mailpass_common.providers.models import ProviderDocument
from mailpass_common.tenants import accounts, api_keys
from mailpass_common.tenants.api_keys import ApiKeyRecord, Permission
from mailpass_gateway.mail.models import SendRequest
from mailpass_gateway.mail.service import build_message

FROM_EMAIL = "bench@mailpass.local"
RECIPIENT = "rcpt@example.com"
# Generous limits for --limits: the limit path is taken, but never refuses.
HOURLY_LIMIT = 10_000_000
DAILY_LIMIT = 100_000_000
PRELOAD_CHUNK = 1000
# How far back the preloaded messages' sent_at go.
PRELOAD_SPAN = timedelta(days=30)


@dataclass(frozen=True)
class Tenant:
    account_id: str
    api_key: str
    key: ApiKeyRecord
    provider: ProviderDocument


def message_body(size: int) -> str:
    """``size`` bytes of plain ASCII text in short lines (sent as is, never re-encoded)."""
    line = "MailPass bench: a transactional message body of plain text.....\n"
    return (line * (size // len(line) + 1))[:size]


async def create_tenant(
    db: Database, settings: CommonSettings, *, sink_port: int, limits: bool
) -> Tenant:
    cipher = CredentialCipher(settings.secret_key.get_secret_value())
    account = await accounts.create_account(db, f"bench-{secrets.token_hex(4)}")
    provider = await providers.add_provider(
        db,
        cipher,
        account_id=account["_id"],
        name="smtp-sink",
        type="smtp",
        config={"host": "127.0.0.1", "port": sink_port, "security": "none"},
        from_email=FROM_EMAIL,
        from_name="MailPass Bench",
        hourly_limit=HOURLY_LIMIT if limits else None,
        daily_limit=DAILY_LIMIT if limits else None,
        default=True,
    )
    key = await api_keys.create_api_key(db, account["_id"], [Permission.MAIL], name="bench")
    record = ApiKeyRecord(
        key_hash=key.key_hash,
        account_id=account["_id"],
        permissions=frozenset({Permission.MAIL}),
        test=False,
    )
    return Tenant(account["_id"], key.key, record, provider)


def older_message(
    request: SendRequest, tenant: Tenant, *, domain: str, queue_id: int, sent_at: datetime
) -> Document:
    """One batch message delivered at ``sent_at``, as the gateway and the sender leave it."""
    doc: Document = dict(
        build_message(
            request, key=tenant.key, provider=tenant.provider, kind=MessageKind.BATCH, domain=domain
        )
    )
    created_at = sent_at - timedelta(seconds=2)
    doc.update(
        queue_id=queue_id,
        status=MessageStatus.SENT.value,
        attempts=1,
        created_at=created_at,
        published_at=created_at + timedelta(seconds=1),
        claimed_at=sent_at - timedelta(milliseconds=200),
        sent_at=sent_at,
        updated_at=sent_at,
        delivered_by=tenant.provider["_id"],
        provider_type=tenant.provider["type"],
        provider_message_id=doc["_id"],
        provider_reply="250 2.0.0 Ok: queued",
    )
    return doc


def _older_messages(
    tenant: Tenant, count: int, *, domain: str, first_queue_id: int, body: str
) -> Iterator[Document]:
    template = SendRequest(to=RECIPIENT, subject="older message", text=body)
    now = datetime.now(UTC).replace(microsecond=0)
    step = PRELOAD_SPAN / max(count, 1)
    for i in range(count):
        request = template.model_copy(update={"subject": f"older message {i}"})
        sent_at = now - PRELOAD_SPAN + step * i
        yield older_message(
            request, tenant, domain=domain, queue_id=first_queue_id + i, sent_at=sent_at
        )


async def preload(
    db: Database, tenant: Tenant, count: int, *, domain: str, body: str
) -> dict[str, Any]:
    """Insert ``count`` delivered messages of the tenant, 1,000 per ``insert_many``."""
    started = time.monotonic()
    first = await reserve_range(db, queue_id_sequence(tenant.account_id), count)
    chunk: list[Document] = []
    for doc in _older_messages(tenant, count, domain=domain, first_queue_id=first, body=body):
        chunk.append(doc)
        if len(chunk) == PRELOAD_CHUNK:
            await db[Collections.MESSAGES].insert_many(chunk, ordered=False)
            chunk = []
    if chunk:
        await db[Collections.MESSAGES].insert_many(chunk, ordered=False)
    return {"messages": count, "seconds": time.monotonic() - started}


async def clear_messages(db: Database, tenant: Tenant) -> None:
    """Remove the tenant's messages and events: the next run starts on an empty database."""
    for collection in (Collections.MESSAGES, Collections.EVENTS):
        await db[collection].delete_many({"account_id": tenant.account_id})
