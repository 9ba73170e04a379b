"""Idempotency-Key on /send and /send-batch: replay, conflicts, concurrency, release."""

from __future__ import annotations

import asyncio
import threading
from datetime import timedelta
from typing import Any

import httpx
import pytest
from pymongo.errors import AutoReconnect

from mailpass_common.messages import idempotency
from mailpass_common.messages import service as messages
from mailpass_common.messages.ids import keyed_message_id
from mailpass_common.platform.db import Collections, Database
from mailpass_common.tenants.api_keys import Permission
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


def _lose_the_first_insert_reply(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The first keyed insert stores its messages, then its reply is lost (MongoDB went
    away after the write), as in the chaos run's MongoDB restart."""
    calls: list[int] = []
    insert = messages.insert_new_messages

    async def insert_then_fail(db: Database, docs: Any) -> set[str]:
        stored = await insert(db, docs)
        calls.append(len(docs))
        if len(calls) == 1:
            raise AutoReconnect("connection closed")
        return stored

    monkeypatch.setattr(messages, "insert_new_messages", insert_then_fail)
    return calls


async def test_a_retry_after_an_interrupted_send_finds_its_message_instead_of_a_second(
    api: httpx.AsyncClient,
    tenant: Tenant,
    smtp: SmtpServer,
    db: Database,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls = _lose_the_first_insert_reply(monkeypatch)
    headers = _keyed(tenant, "interrupted-send")
    first = await api.post(SEND, json=examples.SEND_REQUEST_CURL, headers=headers)
    assert first.status_code == 500
    stored = await db[Collections.MESSAGES].find({}, projection={"_id": 1}).to_list()
    assert len(stored) == 1  # stored, though the client was told nothing

    retried = await api.post(SEND, json=examples.SEND_REQUEST_CURL, headers=headers)
    assert retried.status_code == 200, retried.text
    assert "Idempotent-Replayed" not in retried.headers  # run again, not replayed
    assert retried.json()["data"]["message_id"] == stored[0]["_id"]
    assert calls == [1, 1]
    assert await db[Collections.MESSAGES].count_documents({}) == 1
    await smtp.wait_for(1)
    await asyncio.sleep(0.5)
    assert len(smtp.received) == 1
    replay = await api.post(SEND, json=examples.SEND_REQUEST_CURL, headers=headers)
    assert replay.json() == retried.json()


async def test_a_retry_after_an_interrupted_batch_keeps_what_was_stored(
    api: httpx.AsyncClient,
    tenant: Tenant,
    smtp: SmtpServer,
    db: Database,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _lose_the_first_insert_reply(monkeypatch)
    headers = _keyed(tenant, "interrupted-batch")
    first = await api.post(BATCH, json=examples.BATCH_REQUEST, headers=headers)
    assert first.status_code == 500
    stored = {
        doc["_id"]: doc["queue_id"]
        async for doc in db[Collections.MESSAGES].find({}, projection={"queue_id": 1})
    }
    assert len(stored) == 2

    retried = await api.post(BATCH, json=examples.BATCH_REQUEST, headers=headers)
    assert retried.status_code == 200, retried.text
    answered = {m["message_id"]: m["queue_id"] for m in retried.json()["data"]["messages"]}
    assert answered == stored
    assert await db[Collections.MESSAGES].count_documents({}) == 2
    await smtp.wait_for(2)


async def test_a_taken_over_key_keeps_its_message_ids_and_a_released_one_does_not(
    db: Database,
) -> None:
    fingerprint = idempotency.fingerprint("send", {"to": "a@example.com"})
    hour = timedelta(hours=1)

    async def begin(stale_after: timedelta) -> idempotency.Claim:
        return await idempotency.begin(db, "acct", "k", fingerprint, stale_after, test=False)

    first = await begin(hour)
    assert isinstance(first, idempotency.Started)
    assert await begin(hour) == idempotency.Conflict("in_progress")
    # Its gateway died (stale) or its request was interrupted: the retry takes over with
    # the same nonce, hence the same message ids.
    stale = await begin(timedelta(0))
    assert isinstance(stale, idempotency.Started) and stale.nonce == first.nonce
    await idempotency.interrupt(db, stale)
    resumed = await begin(hour)
    assert isinstance(resumed, idempotency.Started) and resumed.nonce == first.nonce
    assert keyed_message_id("d", resumed.nonce, 3) == keyed_message_id("d", first.nonce, 3)
    assert keyed_message_id("d", first.nonce, 3) != keyed_message_id("d", first.nonce, 4)
    # Released: nothing was stored, so the next run is a new request with new ids.
    await idempotency.release(db, resumed)
    fresh = await begin(hour)
    assert isinstance(fresh, idempotency.Started) and fresh.nonce != first.nonce
