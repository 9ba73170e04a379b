"""The admin API's first-owner invitation is mailed through the platform's own account
when ``CONSOLE_MAIL_ACCOUNT`` names one, as the Members page's are (real gateway, sender
and SMTP server); the link still comes back once, and works."""

from __future__ import annotations

import re
from typing import Any

import httpx

from mailpass_common.platform.db import Database
from mailpass_common.tenants import invitations
from tests.platform_admin.conftest import ADMIN, TOKEN
from tests.support.smtp import SmtpServer
from tests.support.stack import running_gateway, running_sender
from tests.support.tenants import make_tenant

LINK = re.compile(r"(/console/invitations/[A-Za-z0-9_-]+)")


async def test_the_first_owner_invitation_is_mailed_by_the_platform_account(
    db: Database, service_env: dict[str, Any], smtp: SmtpServer
) -> None:
    await make_tenant(
        db, service_env, "mailpass", smtp_port=smtp.port, from_email="team@mailpass.test"
    )
    async with (
        running_sender(service_env, management_port=0),
        running_gateway(
            service_env,
            admin_api_token=TOKEN,
            send_timeout_seconds=10,
            console_mail_account="mailpass",
            console_public_url="https://console.example.test",
        ) as api,
    ):
        made = await api.post("/admin/v1/accounts", json={"name": "acme"}, headers=ADMIN)
        assert made.status_code == 201, made.text
        account_id = made.json()["data"]["id"]
        response = await api.post(
            f"/admin/v1/accounts/{account_id}/invitations",
            json={"email": "Owner@Acme.example"},
            headers=ADMIN,
        )
        assert response.status_code == 201, response.text
        data = response.json()["data"]
        assert data["mailed"] is True and data["role"] == "owner"
        assert data["url"].startswith("https://console.example.test/console/invitations/")

        [mail] = await smtp.wait_for(1)
        assert mail.message["To"] == "owner@acme.example" and "acme" in mail.message["Subject"]
        assert mail.mail_from == "team@mailpass.test"
        body = mail.message.get_body(("plain",))
        assert body is not None
        found = LINK.search(body.get_content())
        assert found and data["url"].endswith(found.group(1))
        pending = await invitations.peek_invitation(db, found.group(1).rsplit("/", 1)[1])
        assert pending is not None and pending["account_id"] == account_id
        assert pending["role"] == "owner"


async def test_without_a_platform_account_the_link_is_returned_unmailed(
    api: httpx.AsyncClient, db: Database, smtp: SmtpServer
) -> None:
    made = await api.post("/admin/v1/accounts", json={"name": "acme"}, headers=ADMIN)
    account_id = made.json()["data"]["id"]
    response = await api.post(
        f"/admin/v1/accounts/{account_id}/invitations",
        json={"email": "owner@acme.example"},
        headers=ADMIN,
    )
    assert response.status_code == 201, response.text
    data = response.json()["data"]
    assert data["mailed"] is False
    assert await invitations.peek_invitation(db, data["url"].rsplit("/", 1)[1]) is not None
    assert smtp.received == []
