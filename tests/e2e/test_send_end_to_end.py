"""The first real path: HTTP → gateway → RabbitMQ → sender → SMTP, recorded in MongoDB."""

from __future__ import annotations

from typing import Any

from mailpass_common.platform.crypto import CredentialCipher
from mailpass_common.platform.db import Collections, Database
from mailpass_common.platform.settings import CommonSettings
from mailpass_common.providers import service as providers
from mailpass_common.tenants import accounts, api_keys
from mailpass_common.tenants.api_keys import Permission, hash_api_key
from tests.support.messages import event_types
from tests.support.smtp import SmtpServer
from tests.support.stack import running_gateway, running_sender

SPEC_EXAMPLE = {
    "to": "user@example.com",
    "subject": "Order Confirmation",
    "html": "<h1>Your order has been confirmed</h1>",
    "text": "Your order has been confirmed",
    "from_email": "support@yourdomain.com",
    "from_name": "Your App",
    "reply_to": "reply@yourdomain.com",
    "cc": ["cc@example.com"],
    "bcc": ["bcc@example.com"],
    "tags": ["order", "confirmation"],
    "metadata": {"order_id": "12345"},
}


async def make_account(db: Database, env: dict[str, Any], smtp_port: int) -> str:
    cipher = CredentialCipher(CommonSettings(**env).secret_key.get_secret_value())
    account = await accounts.create_account(db, "acme")
    await providers.add_provider(
        db,
        cipher,
        account_id=account["_id"],
        name="local",
        type="smtp",
        config={"host": "127.0.0.1", "port": smtp_port, "security": "none"},
        from_email="noreply@acme.test",
        default=True,
    )
    new_key = await api_keys.create_api_key(db, account["_id"], [Permission.MAIL])
    return new_key.key


async def test_spec_example_is_delivered_and_recorded(
    db: Database, service_env: dict[str, Any], smtp: SmtpServer
) -> None:
    key = await make_account(db, service_env, smtp.port)
    async with (
        running_sender(service_env, management_port=0),
        running_gateway(service_env) as api,
    ):
        response = await api.post(
            "/api/v1/mail/send", json=SPEC_EXAMPLE, headers={"Authorization": f"Bearer {key}"}
        )
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"success", "data"} and body["success"] is True
    data = body["data"]
    assert set(data) == {"message_id", "status", "to", "from"}
    assert data["status"] == "sent"
    assert data["to"] == "user@example.com"
    assert data["from"] == "support@yourdomain.com"
    message_id = data["message_id"]
    local, _, domain = message_id.strip("<>").partition("@")
    assert message_id.startswith("<") and message_id.endswith(">")
    assert domain == "test.mailpass.local"
    random_part, _, unixtime = local.partition(".")
    assert random_part and unixtime.isdigit()

    [received] = await smtp.wait_for(1)
    assert received.mail_from == "support@yourdomain.com"
    assert sorted(received.rcpt_tos) == ["bcc@example.com", "cc@example.com", "user@example.com"]
    msg = received.message
    assert msg["Message-ID"] == message_id
    assert msg["From"] == "Your App <support@yourdomain.com>"
    assert msg["To"] == "user@example.com"
    assert msg["Cc"] == "cc@example.com"
    assert msg["Reply-To"] == "reply@yourdomain.com"
    assert msg["Subject"] == "Order Confirmation"
    assert msg["Bcc"] is None
    assert b"bcc@example.com" not in received.data
    assert msg.get_content_type() == "multipart/alternative"
    parts = {part.get_content_type(): part.get_content() for part in msg.iter_parts()}
    assert parts["text/plain"].strip() == "Your order has been confirmed"
    assert parts["text/html"].strip() == "<h1>Your order has been confirmed</h1>"

    doc = await db[Collections.MESSAGES].find_one({"_id": message_id})
    assert doc is not None
    assert doc["status"] == "sent"
    assert doc["sent_at"] is not None and doc["sent_at"] >= doc["created_at"]
    assert doc["to"] == "user@example.com" and doc["bcc"] == ["bcc@example.com"]
    assert doc["tags"] == ["order", "confirmation"] and doc["metadata"] == {"order_id": "12345"}
    assert doc["attempts"] == 1 and doc["provider_type"] == "smtp"
    assert await event_types(db, message_id) == ["sent"]

    # The key is stored only as its hash.
    stored = await db[Collections.API_KEYS].find_one({"_id": hash_api_key(key)})
    assert stored is not None and key not in str(stored)
    assert stored["last_used_at"] is not None
