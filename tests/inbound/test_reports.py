"""Reports sent with smtplib to a real mailpass-inbound: what each does to its message,
as stored in MongoDB (status, events, suppressions, the webhook outbox)."""

from __future__ import annotations

import secrets
import smtplib
from dataclasses import dataclass
from typing import Any, TypeVar

import pytest

from mailpass_common.platform.crypto import CredentialCipher
from mailpass_common.platform.db import Document, where
from mailpass_common.webhooks.endpoints import create_endpoint
from tests.inbound import samples
from tests.inbound.conftest import SECRET, Inbound

T = TypeVar("T")


def send(inbound: Inbound, rcpt: str, data: bytes) -> None:
    with smtplib.SMTP("127.0.0.1", inbound.smtp_port, timeout=10) as client:
        client.sendmail("", [rcpt], data)  # MAIL FROM:<>, as bounces come


async def account_with_webhooks(inbound: Inbound) -> str:
    account_id = f"acc_{secrets.token_hex(4)}"
    await create_endpoint(
        inbound.db,
        CredentialCipher(SECRET),
        account_id=account_id,
        url="https://hooks.example.com/mailpass",
        events=["bounced", "complained"],
        sandbox=False,
        limit=20,
    )
    return account_id


@dataclass
class Stored:
    status: str
    error: str | None
    events: list[Document]
    suppressions: list[Document]
    webhooks: list[tuple[str, dict[str, Any]]]  # (type, data)


async def stored(inbound: Inbound, message_id: str, account_id: str) -> Stored:
    db = inbound.db
    message = await db["messages"].find_one({"_id": message_id})
    assert message is not None
    webhooks = await db["webhook_events"].find(where(account_id=account_id)).to_list()
    return Stored(
        status=message["status"],
        error=message.get("error_message"),
        events=await db["events"].find(where(message_id=message_id)).to_list(),
        suppressions=await db["suppressions"].find(where(account_id=account_id)).to_list(),
        webhooks=[(w["type"], w["payload"]["data"]) for w in webhooks],
    )


def only(items: list[T]) -> T:
    assert len(items) == 1, items
    return items[0]


@pytest.mark.parametrize("shape", ["postfix", "gmail"])
async def test_a_hard_bounce_bounces_suppresses_and_reports_once(
    inbound: Inbound, shape: str
) -> None:
    account_id = await account_with_webhooks(inbound)
    message_id = await inbound.sent_message(account_id, "Ann@Example.com")
    return_path = inbound.return_path(message_id)
    report = getattr(samples, shape)(return_path, "ann@example.com", message_id)

    send(inbound, return_path, report)
    send(inbound, return_path, report)  # the same DSN twice records one bounce

    found = await stored(inbound, message_id, account_id)
    assert found.status == "bounced"
    assert "5.1.1" in (found.error or "")
    event = only(found.events)
    assert event["event_type"] == "bounce"
    assert event["address"] == "ann@example.com"
    assert event["status"] == "5.1.1"
    assert event["detail"].startswith("550")  # the remote server's reply, unfolded
    suppression = only(found.suppressions)
    assert (suppression["address"], suppression["reason"], suppression["source"]) == (
        "ann@example.com",
        "bounce",
        "dsn",
    )
    assert suppression["message_id"] == message_id
    kind, data = only(found.webhooks)
    assert kind == "bounced"
    assert (data["address"], data["message_id"]) == ("ann@example.com", message_id)


async def test_a_soft_failure_bounces_without_suppressing(inbound: Inbound) -> None:
    account_id = await account_with_webhooks(inbound)
    message_id = await inbound.sent_message(account_id, "bob@example.org")
    return_path = inbound.return_path(message_id)

    send(inbound, return_path, samples.exim(return_path, "bob@example.org", message_id))

    found = await stored(inbound, message_id, account_id)
    assert found.status == "bounced"
    event = only(found.events)
    assert (event["event_type"], event["status"]) == ("bounce", "4.2.2")
    assert "mailbox is full" in event["detail"]
    assert found.suppressions == []
    kind, data = only(found.webhooks)
    assert (kind, data["address"], data["source"]) == ("bounced", "bob@example.org", "dsn")


async def test_a_delay_is_recorded_and_nothing_more(inbound: Inbound) -> None:
    account_id = await account_with_webhooks(inbound)
    message_id = await inbound.sent_message(account_id, "bob@example.org")
    return_path = inbound.return_path(message_id)

    send(
        inbound,
        return_path,
        samples.exim(return_path, "bob@example.org", message_id, action="delayed"),
    )

    found = await stored(inbound, message_id, account_id)
    assert found.status == "sent"
    assert only(found.events)["event_type"] == "delayed"
    assert found.suppressions == [] and found.webhooks == []


async def test_an_abuse_report_is_a_complaint(inbound: Inbound) -> None:
    account_id = await account_with_webhooks(inbound)
    message_id = await inbound.sent_message(account_id, "carol@example.net")
    return_path = inbound.return_path(message_id)
    report = samples.arf(return_path, "carol@example.net", message_id)

    send(inbound, return_path, report)
    send(inbound, return_path, report)

    found = await stored(inbound, message_id, account_id)
    assert found.status == "sent"  # it was delivered; the recipient complained
    assert only(found.events)["event_type"] == "complaint"
    suppression = only(found.suppressions)
    assert (suppression["reason"], suppression["source"]) == ("complaint", "arf")
    kind, data = only(found.webhooks)
    assert (kind, data["address"]) == ("complained", "carol@example.net")


async def test_a_report_about_an_address_the_message_was_not_sent_to_suppresses_nothing(
    inbound: Inbound,
) -> None:
    account_id = await account_with_webhooks(inbound)
    message_id = await inbound.sent_message(account_id, "ann@example.com", cc=["dan@example.com"])
    return_path = inbound.return_path(message_id)

    send(inbound, return_path, samples.postfix(return_path, "eve@example.com", message_id))

    found = await stored(inbound, message_id, account_id)
    assert found.status == "sent"
    assert found.events == [] and found.suppressions == []


async def test_an_auto_reply_to_the_return_path_is_accepted_and_dropped(
    inbound: Inbound,
) -> None:
    account_id = await account_with_webhooks(inbound)
    message_id = await inbound.sent_message(account_id, "ann@example.com")
    return_path = inbound.return_path(message_id)

    send(inbound, return_path, samples.auto_reply(return_path))

    found = await stored(inbound, message_id, account_id)
    assert (found.status, found.events, found.suppressions) == ("sent", [], [])
