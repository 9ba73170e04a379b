"""``/send`` looks its recipients up on the suppression list while it stores the message
(the two round trips side by side): what the lookup finds still decides the request, as
if it had come first. The lookup is slowed down here, so the message is stored before
its answer arrives, the order these tests are about."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import httpx
import pytest
from pymongo.errors import AutoReconnect

from mailpass_common.messages import unpublished
from mailpass_common.platform.db import Collections, Database
from mailpass_common.suppressions import service as suppressions
from tests.support.smtp import SmtpServer
from tests.support.tenants import Tenant, make_tenant

SEND = "/api/v1/mail/send"
LIST = "/api/v1/suppressions"


@pytest.fixture
def late_lookup(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The lookup answers only after the message is stored; the calls' account ids."""
    real = suppressions.suppressed_each
    calls: list[str] = []

    async def late(db: Database, asks: Sequence[tuple[str, Sequence[str]]]) -> list[dict[str, str]]:
        calls.extend(account_id for account_id, _ in asks)
        found = await real(db, asks)
        await asyncio.sleep(0.3)
        return found

    monkeypatch.setattr(suppressions, "suppressed_each", late)
    return calls


async def _suppress(api: httpx.AsyncClient, tenant: Tenant, address: str) -> None:
    added = await api.post(LIST, json={"address": address}, headers=tenant.headers)
    assert added.status_code == 201, added.text


def _mail(to: str, **extra: Any) -> dict[str, Any]:
    return {"to": to, "subject": "Hi", "text": "Hello", **extra}


async def test_a_suppressed_to_withdraws_the_message_and_its_limit_reservation(
    api: httpx.AsyncClient,
    db: Database,
    service_env: dict[str, Any],
    smtp: SmtpServer,
    late_lookup: list[str],
) -> None:
    tenant = await make_tenant(db, service_env, "limited", smtp_port=smtp.port, hourly_limit=1)
    await _suppress(api, tenant, "gone@example.com")

    refused = await api.post(SEND, json=_mail("gone@example.com"), headers=tenant.headers)
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["code"] == "RECIPIENT_SUPPRESSED"
    assert late_lookup == [tenant.account_id]
    assert await db[Collections.MESSAGES].count_documents({}) == 0
    # The hour's one send is still there: the refused message gave its reservation back.
    sent = await api.post(SEND, json=_mail("ann@example.com"), headers=tenant.headers)
    assert sent.status_code == 200, sent.text
    [received] = await smtp.wait_for(1)
    assert received.rcpt_tos == ["ann@example.com"]


async def test_suppressed_copies_come_off_the_stored_message_before_it_is_published(
    api: httpx.AsyncClient, tenant: Tenant, smtp: SmtpServer, db: Database, late_lookup: list[str]
) -> None:
    await _suppress(api, tenant, "cc-gone@example.com")
    body = _mail("ann@example.com", cc=["cc-gone@example.com"], bcc=["bob@example.com"])
    response = await api.post(SEND, json=body, headers=tenant.headers)
    assert response.status_code == 200, response.text
    assert response.json()["data"]["suppressed"] == [
        {"address": "cc-gone@example.com", "field": "cc", "reason": "manual"}
    ]
    [received] = await smtp.wait_for(1)
    assert received.rcpt_tos == ["ann@example.com", "bob@example.com"]
    doc = await db[Collections.MESSAGES].find_one({"_id": response.json()["data"]["message_id"]})
    assert doc is not None and doc["cc"] == [] and doc["bcc"] == ["bob@example.com"]


async def test_a_suppressed_to_is_refused_before_another_refusal(
    api: httpx.AsyncClient,
    db: Database,
    service_env: dict[str, Any],
    smtp: SmtpServer,
    late_lookup: list[str],
) -> None:
    # No from address anywhere: a validation error, but the suppressed `to` comes first.
    tenant = await make_tenant(db, service_env, "nofrom", smtp_port=smtp.port, from_email=None)
    await _suppress(api, tenant, "gone@example.com")
    refused = await api.post(SEND, json=_mail("gone@example.com"), headers=tenant.headers)
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["code"] == "RECIPIENT_SUPPRESSED"
    other = await api.post(SEND, json=_mail("ann@example.com"), headers=tenant.headers)
    assert other.json()["error"]["code"] == "VALIDATION_ERROR", other.text
    assert await db[Collections.MESSAGES].count_documents({}) == 0


async def test_a_failed_lookup_withdraws_the_stored_message(
    api: httpx.AsyncClient,
    tenant: Tenant,
    smtp: SmtpServer,
    db: Database,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def failing(db: Database, asks: Sequence[tuple[str, Sequence[str]]]) -> list[Any]:
        await asyncio.sleep(0.3)  # the message is stored by now
        raise AutoReconnect("connection lost")

    monkeypatch.setattr(suppressions, "suppressed_each", failing)
    response = await api.post(SEND, json=_mail("ann@example.com"), headers=tenant.headers)
    # As when the lookup came first: the request fails (the database's error is logged).
    assert response.status_code == 500, response.text
    assert response.json()["error"]["code"] == "INTERNAL_ERROR"
    assert await db[Collections.MESSAGES].count_documents({}) == 0
    await asyncio.sleep(0.5)
    assert smtp.received == []


async def test_copies_that_cannot_be_removed_withdraw_the_message(
    api: httpx.AsyncClient,
    tenant: Tenant,
    smtp: SmtpServer,
    db: Database,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await _suppress(api, tenant, "cc-gone@example.com")

    async def failing(*args: Any) -> None:
        raise AutoReconnect("connection lost")

    monkeypatch.setattr(unpublished, "drop_copies", failing)
    body = _mail("ann@example.com", cc=["cc-gone@example.com"])
    response = await api.post(SEND, json=body, headers=tenant.headers)
    assert response.status_code == 500, response.text
    # Never left for the outbox recovery to deliver to the suppressed copy.
    assert await db[Collections.MESSAGES].count_documents({}) == 0
    await asyncio.sleep(0.5)
    assert smtp.received == []
