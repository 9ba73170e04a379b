"""A deferral caused by MailPass's own destination back-off is not an attempt: the message
waits for the back-off to end without spending its retry budget, and a message that waits
on back-offs too long in total fails with an error saying so."""

from __future__ import annotations

from typing import Any

from mailpass_common.platform.db import Collections, Database
from mailpass_common.providers import service as providers
from mailpass_common.webhooks import endpoints
from tests.mta.conftest import RETURN_PATH_DOMAIN, Internet
from tests.mta.support import new_domain
from tests.mta.test_pipeline import _verified_domain
from tests.support.messages import wait_for_status
from tests.support.stack import running_gateway, running_sender
from tests.support.tenants import cipher, make_tenant


async def _send(internet: Internet, env: dict[str, Any], **settings: Any) -> tuple[str, Any]:
    """One message to a domain whose only MX answers 421 4.7.0 once, then accepts."""
    db: Database = internet.db
    tenant = await make_tenant(db, env, "shop", smtp_port=None)
    await providers.add_provider(
        db,
        cipher(env),
        account_id=tenant.account_id,
        name="own",
        type="mailpass",
        config={},
        from_email="noreply@unverified.example.com",
        default=True,
    )
    domain = await _verified_domain(internet, env, tenant.account_id)
    await endpoints.create_endpoint(  # what the account's webhooks are told (the outbox)
        db,
        cipher(env),
        account_id=tenant.account_id,
        url="https://hooks.example.com/mail",
        events=["deferred", "failed", "sent"],
        sandbox=False,
        limit=20,
    )
    shop = new_domain()
    mx = internet.mx(shop, 10, fail_next=["421 4.7.0 too many messages, come back later"])
    mta = {
        "mta_helo_hostname": "mta.mailpass.test",
        "mta_return_path_domain": RETURN_PATH_DOMAIN,
        "mta_dns_nameservers": internet.dns.nameserver,
        "mta_smtp_port": internet.port,
        "mta_backoff_seconds": 4,
        "sender_max_attempts": 2,
        "sender_retry_base_seconds": 1,
        "sender_retry_max_seconds": 1,
        "sender_retry_jitter": 0,
        **settings,
    }
    async with running_sender({**env, **mta}), running_gateway(env) as api:
        sent = await api.post(
            "/api/v1/mail/send",
            json={
                "to": f"a@{shop}",
                "from_email": f"orders@{domain}",
                "subject": "Hi",
                "text": "x",
            },
            headers=tenant.headers,
        )
        assert sent.status_code == 202, sent.text
        message_id = sent.json()["data"]["message_id"]
        doc = await wait_for_status(db, message_id, "sent", "failed", timeout=30)
    return message_id, (doc, mx)


async def test_backoff_deferrals_spend_no_attempts(
    internet: Internet, service_env: dict[str, Any]
) -> None:
    message_id, (doc, mx) = await _send(internet, service_env)
    # Two attempts allowed: the 421 spent one, the back-off waits none, the last delivered.
    assert doc["status"] == "sent", doc.get("error_message")
    assert doc["attempts"] == 2
    assert len(mx.received) == 1
    deferrals = await (
        internet.db[Collections.EVENTS]
        .find({"message_id": message_id, "event_type": "deferred"})
        .sort("created_at", 1)
        .to_list()
    )
    assert "421 4.7.0" in deferrals[0]["detail"] and "attempted" not in deferrals[0]
    waits = deferrals[1:]
    assert len(waits) >= 2  # ~1 s steps through a 4 s back-off
    assert all(e["attempted"] is False and e["attempt"] == 1 for e in waits)
    assert all("asked us to slow down" in e["detail"] for e in waits)
    assert 2 <= doc["backoff_waited_seconds"] <= 6
    told = await _webhook_data(internet.db, message_id)
    assert [(t, d["attempt"], d.get("attempted")) for t, d in told] == [
        ("deferred", 1, None),  # the 421
        *[("deferred", 1, False)] * len(waits),  # the waits: no attempt, one made so far
        ("sent", 2, None),
    ]


async def test_waiting_on_backoffs_ends_past_the_limit(
    internet: Internet, service_env: dict[str, Any]
) -> None:
    message_id, (doc, mx) = await _send(
        internet, service_env, sender_backoff_wait_limit_seconds=1.5
    )
    assert doc["status"] == "failed"
    assert doc["dead_lettered"]
    assert doc["attempts"] == 1  # the 421; the waits on the back-off were not attempts
    assert "stayed backed off for over 1.5 s" in doc["error_message"]
    assert "asked us to slow down" in doc["error_message"]
    assert len(mx.received) == 0
    told = await _webhook_data(internet.db, message_id)
    assert (told[-1][0], told[-1][1]["attempt"], told[-1][1]["attempted"]) == ("failed", 1, False)


async def _webhook_data(db: Database, message_id: str) -> list[tuple[str, dict[str, Any]]]:
    """The webhook events written for ``message_id``, oldest first: (type, data)."""
    found = await db[Collections.WEBHOOK_EVENTS].find().sort([("created_at", 1)]).to_list()
    return [
        (e["type"], e["payload"]["data"])
        for e in found
        if e["payload"]["data"].get("message_id") == message_id
    ]
