"""Idempotency-Key on /send and /send-batch: replay, conflicts, concurrency, release."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import httpx

from mailpass_common.db import Database
from mailpass_common.documents import Collections
from mailpass_common.security import Permission
from mailpass_gateway.mail import examples
from tests.support.smtp import SmtpServer
from tests.support.tenants import Tenant, make_tenant

SEND = "/api/v1/mail/send"
BATCH = "/api/v1/mail/send-batch"


def _keyed(tenant: Tenant, key: str) -> dict[str, str]:
    return {**tenant.headers, "Idempotency-Key": key}


async def test_same_key_and_body_replays_the_first_response_without_sending(
    api: httpx.AsyncClient, tenant: Tenant, smtp: SmtpServer, db: Database
) -> None:
    first = await api.post(SEND, json=examples.SEND_REQUEST, headers=_keyed(tenant, "order-1"))
    assert first.status_code == 200, first.text
    await smtp.wait_for(1)
    # Same body with its keys in another order: the same request.
    reordered = dict(reversed(list(examples.SEND_REQUEST.items())))
    again = await api.post(SEND, json=reordered, headers=_keyed(tenant, "order-1"))
    assert again.status_code == 200
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert await db[Collections.MESSAGES].count_documents({}) == 1
    assert len(smtp.received) == 1


async def test_different_body_with_the_same_key_is_409(
    api: httpx.AsyncClient, tenant: Tenant
) -> None:
    await api.post(SEND, json=examples.SEND_REQUEST_CURL, headers=_keyed(tenant, "k"))
    other = {**examples.SEND_REQUEST_CURL, "subject": "Another"}
    response = await api.post(SEND, json=other, headers=_keyed(tenant, "k"))
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "IDEMPOTENCY_CONFLICT"
    assert response.json()["error"]["details"] == {"reason": "different_request"}
    # The same key on the other endpoint is a different request too.
    response = await api.post(BATCH, json=examples.BATCH_REQUEST, headers=_keyed(tenant, "k"))
    assert response.status_code == 409


async def test_a_duplicate_while_the_first_still_runs_is_409_then_replayed(
    api: httpx.AsyncClient, tenant: Tenant, smtp: SmtpServer, db: Database
) -> None:
    entered, release = threading.Event(), threading.Event()

    def hold(envelope: object) -> str | None:
        entered.set()
        return None if release.wait(10) else "451 4.3.0 held"

    # The SMTP server runs in its own thread: holding DATA there keeps the first send open.
    smtp.handler.on_data = hold
    headers = _keyed(tenant, "dup")
    first = asyncio.create_task(api.post(SEND, json=examples.SEND_REQUEST_CURL, headers=headers))
    assert await asyncio.to_thread(entered.wait, 10)
    duplicates = await asyncio.gather(
        *(api.post(SEND, json=examples.SEND_REQUEST_CURL, headers=headers) for _ in range(5))
    )
    assert [r.status_code for r in duplicates] == [409] * 5
    assert all(r.json()["error"]["details"] == {"reason": "in_progress"} for r in duplicates)
    release.set()
    done = await first
    assert done.status_code == 200, done.text
    replay = await api.post(SEND, json=examples.SEND_REQUEST_CURL, headers=headers)
    assert replay.json() == done.json()
    assert await db[Collections.MESSAGES].count_documents({}) == 1
    assert len(smtp.received) == 1


async def test_concurrent_duplicates_send_once(
    api: httpx.AsyncClient, tenant: Tenant, smtp: SmtpServer, db: Database
) -> None:
    headers = _keyed(tenant, "burst")
    responses = await asyncio.gather(
        *(api.post(SEND, json=examples.SEND_REQUEST_CURL, headers=headers) for _ in range(10))
    )
    ok = [r for r in responses if r.status_code == 200]
    assert ok and all(r.status_code in (200, 409) for r in responses)
    assert len({r.json()["data"]["message_id"] for r in ok}) == 1
    assert await db[Collections.MESSAGES].count_documents({}) == 1


async def test_batch_replay_and_send_failed_replay(
    api: httpx.AsyncClient, tenant: Tenant, smtp: SmtpServer, db: Database
) -> None:
    first = await api.post(BATCH, json=examples.BATCH_REQUEST, headers=_keyed(tenant, "b1"))
    again = await api.post(BATCH, json=examples.BATCH_REQUEST, headers=_keyed(tenant, "b1"))
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert await db[Collections.MESSAGES].count_documents({}) == 2
    await smtp.wait_for(2)  # the batch goes out at once: its provider has no limits

    smtp.handler.fail_next.append("550 5.1.1 no such user")
    failed = await api.post(SEND, json=examples.SEND_REQUEST_CURL, headers=_keyed(tenant, "f"))
    replayed = await api.post(SEND, json=examples.SEND_REQUEST_CURL, headers=_keyed(tenant, "f"))
    assert failed.status_code == replayed.status_code == 500
    assert replayed.json() == failed.json()
    assert await db[Collections.MESSAGES].count_documents({}) == 3


async def test_refusals_before_acceptance_release_the_key(
    api: httpx.AsyncClient, db: Database, service_env: dict[str, Any], smtp: SmtpServer
) -> None:
    tenant = await make_tenant(
        db,
        service_env,
        "limited",
        smtp_port=smtp.port,
        hourly_limit=1,
        permissions=(Permission.MAIL, Permission.PROVIDERS),
    )
    assert tenant.provider is not None
    first = await api.post(SEND, json=examples.SEND_REQUEST_CURL, headers=tenant.headers)
    assert first.status_code == 200, first.text
    headers = _keyed(tenant, "retry-me")
    refused = await api.post(SEND, json=examples.SEND_REQUEST_CURL, headers=headers)
    assert refused.status_code == 429
    # The limit is raised: the retry with the same key is really tried, not replayed.
    raised = await api.patch(
        f"/api/v1/providers/{tenant.provider['_id']}",
        json={"hourly_limit": 5},
        headers=tenant.headers,
    )
    assert raised.status_code == 200, raised.text
    retried = await api.post(SEND, json=examples.SEND_REQUEST_CURL, headers=headers)
    assert retried.status_code == 200, retried.text


async def test_keys_are_per_account(
    api: httpx.AsyncClient,
    tenant: Tenant,
    db: Database,
    service_env: dict[str, Any],
    smtp: SmtpServer,
) -> None:
    other = await make_tenant(db, service_env, "other", smtp_port=smtp.port)
    a = await api.post(SEND, json=examples.SEND_REQUEST_CURL, headers=_keyed(tenant, "same"))
    b = await api.post(SEND, json=examples.SEND_REQUEST_CURL, headers=_keyed(other, "same"))
    assert a.status_code == b.status_code == 200
    assert a.json()["data"]["message_id"] != b.json()["data"]["message_id"]


async def test_invalid_key_header_is_400(api: httpx.AsyncClient, tenant: Tenant) -> None:
    for value in (b"x" * 256, b"has space", "ü".encode()):
        headers = [(k.encode(), v.encode()) for k, v in tenant.headers.items()]
        response = await api.post(
            SEND,
            json=examples.SEND_REQUEST_CURL,
            headers=[*headers, (b"Idempotency-Key", value)],
        )
        assert response.status_code == 400, value
        assert response.json()["error"]["details"][0]["field"] == "Idempotency-Key"


async def test_records_expire_after_24_hours(api: httpx.AsyncClient, db: Database) -> None:
    indexes = await db["idempotency_keys"].index_information()
    assert any(
        spec.get("expireAfterSeconds") == 86400 and spec["key"] == [("created_at", 1)]
        for spec in indexes.values()
    )
