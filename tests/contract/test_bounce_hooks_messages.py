"""Provider event hooks record on the message what they report, as the inbound DSN path
does: a ``bounce`` (or ``complaint``) event, ``sent`` → ``bounced``; once for a
notification received twice, and never on another account's message. SES, SendGrid and
Mailgun, whose notifications carry our Message-ID; against the real gateway and database."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from typing import Any

import httpx
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from mailpass_common.messages import service as messages
from mailpass_common.messages.models import MessageDocument
from mailpass_common.platform.db import Collections, Database
from tests.contract import test_bounce_hooks as hooks
from tests.contract.test_bounce_hooks import SnsStandIn, sns_now
from tests.support.messages import event_types, insert_messages
from tests.support.tenants import Tenant, make_admin

# The hook tests' fixtures: the gateway trusting the SNS stand-in, and the account.
admin, gateway, sns = hooks.admin, hooks.gateway, hooks.sns
_hook = hooks._hook


async def _sent(db: Database, account_id: str, to: str) -> MessageDocument:
    [doc] = await insert_messages(db, account_id, "prv_hooks", 1)
    await db[Collections.MESSAGES].update_one(
        {"_id": doc["_id"]}, {"$set": {"status": "sent", "to": to}}
    )
    return doc


async def _status(db: Database, message_id: str) -> str:
    doc = await messages.get_message(db, message_id)
    assert doc is not None
    return doc["status"]


async def test_ses_bounce_is_recorded_on_the_message_once(
    gateway: httpx.AsyncClient,
    db: Database,
    service_env: dict[str, Any],
    admin: Tenant,
    sns: SnsStandIn,
) -> None:
    path = await _hook(
        gateway,
        db,
        service_env,
        admin,
        "ses",
        topic_arn="arn:aws:sns:us-east-1:123456789012:ses-bounces",
    )
    mine = await _sent(db, admin.account_id, "gone@example.com")
    other = await make_admin(db, "elsewhere")
    theirs = await _sent(db, other.account_id, "gone@example.com")

    def notification(message_id: str, n: str) -> dict[str, Any]:
        body = {
            "notificationType": "Bounce",
            "bounce": {
                "bounceType": "Permanent",
                "bouncedRecipients": [
                    {"emailAddress": "Gone@Example.com", "diagnosticCode": "smtp; 550 5.1.1 x"}
                ],
            },
            "mail": {"commonHeaders": {"messageId": message_id}},
        }
        return sns.signed(
            {
                "Type": "Notification",
                "MessageId": n,
                "Message": json.dumps(body),
                "Timestamp": sns_now(),
            }
        )

    for _ in range(2):  # the same notification twice (SNS delivers at least once)
        response = await gateway.post(path, content=json.dumps(notification(mine["_id"], "n1")))
        assert response.status_code == 200, response.text
    assert await _status(db, mine["_id"]) == "bounced"
    assert (await event_types(db, mine["_id"])).count("bounce") == 1
    stored = await messages.get_message(db, mine["_id"])
    assert stored is not None and "550 5.1.1" in str(stored["error_message"])

    # A notification through this account's hook naming another account's message.
    response = await gateway.post(path, content=json.dumps(notification(theirs["_id"], "n2")))
    assert response.status_code == 200, response.text
    assert await _status(db, theirs["_id"]) == "sent"
    assert "bounce" not in await event_types(db, theirs["_id"])


async def test_sendgrid_bounce_and_complaint_are_recorded(
    gateway: httpx.AsyncClient, db: Database, service_env: dict[str, Any], admin: Tenant
) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    public = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    path = await _hook(
        gateway, db, service_env, admin, "sendgrid", public_key=base64.b64encode(public).decode()
    )
    bounced = await _sent(db, admin.account_id, "bounced@example.com")
    liked = await _sent(db, admin.account_id, "angry@example.com")
    events = [
        {
            "email": "bounced@example.com",
            "event": "bounce",
            "type": "bounce",
            "reason": "550 5.1.1 no such user",
            "smtp-id": bounced["_id"],
        },
        {"email": "angry@example.com", "event": "spamreport", "smtp-id": liked["_id"]},
        # Not a recipient of that message: nothing recorded on it.
        {"email": "else@example.com", "event": "bounce", "smtp-id": liked["_id"]},
    ]
    body = json.dumps(events).encode()
    now = str(int(time.time()))
    signature = key.sign(now.encode() + body, ec.ECDSA(hashes.SHA256()))
    headers = {
        "X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(signature).decode(),
        "X-Twilio-Email-Event-Webhook-Timestamp": now,
        "Content-Type": "application/json",
    }
    for _ in range(2):
        response = await gateway.post(path, content=body, headers=headers)
        assert response.status_code == 200, response.text
    assert await _status(db, bounced["_id"]) == "bounced"
    assert (await event_types(db, bounced["_id"])).count("bounce") == 1
    assert await _status(db, liked["_id"]) == "sent"  # a complaint: it was delivered
    assert (await event_types(db, liked["_id"])).count("complaint") == 1
    assert "bounce" not in await event_types(db, liked["_id"])


async def test_mailgun_bounce_is_recorded_on_the_message(
    gateway: httpx.AsyncClient, db: Database, service_env: dict[str, Any], admin: Tenant
) -> None:
    path = await _hook(gateway, db, service_env, admin, "mailgun", signing_key="mg-key")
    mine = await _sent(db, admin.account_id, "nobody@example.com")
    timestamp, token = str(int(time.time())), secrets.token_hex(25)
    digest = hmac.new(b"mg-key", (timestamp + token).encode(), hashlib.sha256).hexdigest()
    failed = {
        "signature": {"timestamp": timestamp, "token": token, "signature": digest},
        "event-data": {
            "event": "failed",
            "severity": "permanent",
            "recipient": "nobody@example.com",
            "delivery-status": {"code": 550, "message": "5.1.1 mailbox unavailable"},
            "message": {"headers": {"message-id": mine["_id"].strip("<>")}},
        },
    }
    response = await gateway.post(path, json=failed)
    assert response.status_code == 200, response.text
    assert await _status(db, mine["_id"]) == "bounced"
    [event] = (
        await db[Collections.EVENTS]
        .find({"message_id": mine["_id"], "event_type": "bounce"})
        .to_list()
    )
    assert event["address"] == "nobody@example.com" and event["source"] == "mailgun"
    assert "5.1.1 mailbox unavailable" in event["detail"]
