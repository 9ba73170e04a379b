"""Poison messages: a character that cannot go into a header is refused by the API, and a
message stored with one anyway (an older version's data, a direct insert) fails alone:
once, permanently, without blaming the provider or holding an SMTP session."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from mailpass_common.platform.db import Database
from mailpass_common.platform.jobs import MessageKind
from tests.support.broker import dead_letters, publish
from tests.support.messages import event_types, insert_messages, wait_for_status
from tests.support.smtp import SmtpServer
from tests.support.stack import running_gateway, running_sender
from tests.support.tenants import make_tenant

# Each of these ends a line for some mail software, or cannot be written in a header.
UNFIT = ["\u2028", "\u2029", "\x85", "\x0b", "\x1c", "\x7f", "\x9b"]


@pytest.mark.parametrize("character", UNFIT)
async def test_the_api_refuses_a_subject_that_cannot_be_a_header(
    db: Database, service_env: dict[str, Any], character: str
) -> None:
    tenant = await make_tenant(db, service_env, "acme", smtp_port=2525)
    async with running_gateway(service_env) as api:
        for endpoint, body in [
            ("/send", {"to": "a@example.com", "subject": f"a{character}b", "text": "x"}),
            (
                "/send-batch",
                {"messages": [{"to": "a@example.com", "subject": f"a{character}b", "text": "x"}]},
            ),
        ]:
            response = await api.post(f"/api/v1/mail{endpoint}", json=body, headers=tenant.headers)
            error = _error_of(response, endpoint)
            assert error["code"] == "VALIDATION_ERROR"
            assert [d["field"] for d in error["details"]] == ["subject"]
            assert "control characters or line separators" in error["details"][0]["message"]
    assert await db["messages"].find_one({}) is None


def _error_of(response: httpx.Response, endpoint: str) -> dict[str, Any]:
    if endpoint == "/send":
        assert response.status_code == 400, response.text
        return dict(response.json()["error"])
    assert response.status_code == 200, response.text  # a batch fails message by message
    [item] = response.json()["data"]["messages"]
    assert item["status"] == "failed"
    return dict(item["error"])


async def test_a_stored_poison_message_fails_once_and_alone(
    db: Database, service_env: dict[str, Any], smtp: SmtpServer
) -> None:
    tenant = await make_tenant(db, service_env, "acme", smtp_port=smtp.port)
    assert tenant.provider is not None
    poison, healthy = await insert_messages(
        db, tenant.account_id, tenant.provider["_id"], 2, kind=MessageKind.IMMEDIATE
    )
    await db["messages"].update_one({"_id": poison["_id"]}, {"$set": {"subject": "a\u2028b"}})
    async with running_sender(
        service_env,
        management_port=0,
        circuit_failure_threshold=1,  # one provider failure would open the circuit
        sender_retry_base_seconds=0.2,
    ) as sender:
        await publish(service_env, [poison])
        failed = await wait_for_status(db, poison["_id"], "failed")
        # The provider is not to blame: its circuit stays closed, no session was opened
        # for the poison message, and the next message goes out through it.
        assert not sender.breakers.is_open(tenant.provider["_id"])
        assert sender.pool.smtp_connections() == 0
        await publish(service_env, [healthy])
        await wait_for_status(db, healthy["_id"], "sent")
    assert failed["attempts"] == 1 and not failed.get("dead_lettered")
    assert "could not be built" in (failed["error_message"] or "")
    assert await event_types(db, poison["_id"]) == ["failed"]  # no deferral, no retry
    assert await dead_letters(service_env) == []
    assert [r.message["Message-ID"] for r in smtp.received] == [healthy["_id"]]
