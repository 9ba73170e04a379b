"""The whole loop `make run` shows a newcomer, on real parts: a `.test` sending domain
verified through the dev DNS server, /send through a `mailpass` provider, the sender's
MTA finding the capture server as the recipient's MX and delivering DKIM-signed mail
from a signed return path, the capture server reporting a bounce to that return path,
and a real mailpass-inbound moving the message to bounced and suppressing the address."""

from __future__ import annotations

import asyncio
import secrets
from pathlib import Path
from typing import Any

from mailpass_common.mta.domains import create_domain
from mailpass_common.mta.verification import verify_domain
from mailpass_common.platform.db import Database, where
from mailpass_common.providers import service as providers
from mailpass_dev.bounces import BounceBack
from mailpass_dev.mailbox import start_mailbox
from tests.inbound.conftest import DOMAIN, running_dev_dns, running_inbound
from tests.support.messages import wait_for_status
from tests.support.services import free_port
from tests.support.stack import running_gateway, running_sender
from tests.support.tenants import cipher, make_tenant


async def test_a_bounce_comes_back_from_the_capture_server(
    db: Database, service_env: dict[str, Any], tmp_path: Path
) -> None:
    env = {**service_env, "mta_return_path_domain": DOMAIN}
    tenant = await make_tenant(db, env, "dev", smtp_port=None)
    await providers.add_provider(
        db,
        cipher(env),
        account_id=tenant.account_id,
        name="own",
        type="mailpass",
        config={},
        from_email="noreply@example.test",
        default=True,
    )
    domain = f"acme-{secrets.token_hex(3)}.test"
    mailbox_port = free_port()
    async with (
        running_dev_dns(env, tmp_path) as (resolver, nameserver),
        running_inbound({**env, "management_port": 0}, db) as inbound,
    ):
        doc = await create_domain(db, cipher(env), tenant.account_id, domain)
        for _ in range(50):  # the dev DNS publishes the domain's records
            verified = await verify_domain(db, resolver, doc, DOMAIN)
            if verified.domain["status"] == "verified":
                break
            await asyncio.sleep(0.2)
        assert verified.domain["status"] == "verified"
        back = BounceBack(DOMAIN, "127.0.0.1", inbound.smtp_port, delay_seconds=1.0)
        mailbox = start_mailbox(tmp_path / "mailbox", "127.0.0.1", mailbox_port, back)
        mta = {
            "mta_helo_hostname": "mta.mailpass.test",
            "mta_dns_nameservers": nameserver,
            "mta_smtp_port": mailbox_port,
        }
        try:
            async with running_sender({**env, **mta}), running_gateway(env) as api:
                sent = await api.post(
                    "/api/v1/mail/send",
                    json={
                        "to": "bounce@example.test",
                        "from_email": f"hello@{domain}",
                        "subject": "Hi",
                        "text": "Hello",
                    },
                    headers=tenant.headers,
                )
                assert sent.status_code == 200, sent.text
                message_id = sent.json()["data"]["message_id"]
                await wait_for_status(db, message_id, "bounced", timeout=30)
        finally:
            mailbox.stop()

    (captured,) = (tmp_path / "mailbox").glob("*.eml")
    text = captured.read_text()
    assert "X-Envelope-From: b" in text and f"@{DOMAIN}" in text.splitlines()[0]
    assert f"d={domain}" in text  # DKIM-signed with the sending domain's key
    suppression = await db["suppressions"].find_one(where(account_id=tenant.account_id))
    assert suppression is not None
    assert (suppression["address"], suppression["source"]) == ("bounce@example.test", "dsn")
