"""A message that bounced later shows as such: its badge, and the bounce in its timeline
with the remote server's reply as given, after the send that preceded it; the status
endpoint says the same."""

from __future__ import annotations

from typing import Any, cast

import httpx

from mailpass_common.messages.models import MessageDocument
from mailpass_common.platform.db import Collections, Database
from mailpass_common.tenants.api_keys import Permission
from mailpass_inbound import flows
from mailpass_inbound.reports import DeliveryReport, parse_report
from tests.console.support import sign_in
from tests.console.test_isolation import page_of, send
from tests.inbound import samples
from tests.support.smtp import SmtpServer
from tests.support.tenants import make_tenant


async def test_a_bounced_message_shows_the_remote_servers_reply(
    console: httpx.AsyncClient, db: Database, service_env: dict[str, Any], smtp: SmtpServer
) -> None:
    acme = await make_tenant(
        db, service_env, "acme", smtp_port=smtp.port, permissions=tuple(Permission)
    )
    message_id = await send(console, acme, "Your receipt")
    message = await db[Collections.MESSAGES].find_one({"_id": message_id})
    assert message is not None and message["status"] == "sent"
    report = parse_report(samples.postfix("b@bounces.test", "ann@example.com", message_id))
    assert isinstance(report, DeliveryReport)
    await flows.record_delivery_report(db, cast(MessageDocument, message), report)

    await sign_in(console, acme.key)
    page = await console.get(page_of(message_id))
    assert page.status_code == 200
    assert 'badge badge-bounced">bounced<' in page.text
    assert "550 5.1.1 &lt;ann@example.com&gt;: Recipient address rejected: User unknown" in (
        page.text
    )
    assert page.text.index("badge-sent") < page.text.index('badge-bounce"')

    status = await console.get(f"/api/v1/mail/status/{message_id}", headers=acme.headers)
    body = status.json()["data"]
    assert body["message"]["status"] == "bounced"
    assert [e["event_type"] for e in body["events"]] == ["sent", "bounce"]
