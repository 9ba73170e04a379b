"""MailPass SMTP through the whole pipeline: /send and /send-batch through a `mailpass`
provider, the sender's engine, a DKIM key made and verified by the domains library, the
test DNS and MX servers; replies recorded as for any provider."""

from __future__ import annotations

from typing import Any

from mailpass_common.mta import dkim, verp
from mailpass_common.mta.domains import create_domain
from mailpass_common.mta.resolver import make_resolver
from mailpass_common.mta.verification import verify_domain
from mailpass_common.platform.db import Collections, Database
from mailpass_common.providers import service as providers
from mailpass_common.suppressions import service as suppressions
from tests.mta.conftest import RETURN_PATH_DOMAIN, Internet
from tests.mta.support import dkim_verifies, new_domain
from tests.support.messages import wait_for_status
from tests.support.stack import running_gateway, running_sender
from tests.support.tenants import cipher, make_tenant


async def _verified_domain(internet: Internet, env: dict[str, Any], account_id: str) -> str:
    domain = new_domain()
    doc = await create_domain(internet.db, cipher(env), account_id, domain)
    for key in await dkim.domain_keys(internet.db, account_id, domain):
        value = dkim.record_value(dkim.Algorithm(key["algorithm"]), key["public_key"])
        internet.dns.add(dkim.record_name(key["selector"], domain), "TXT", value)
    resolver = make_resolver([internet.dns.nameserver])
    verified = await verify_domain(internet.db, resolver, doc, RETURN_PATH_DOMAIN)
    assert verified.domain["status"] == "verified"
    return domain


async def test_send_through_mailpass_smtp(internet: Internet, service_env: dict[str, Any]) -> None:
    db: Database = internet.db
    tenant = await make_tenant(db, service_env, "shop", smtp_port=None)
    await providers.add_provider(
        db,
        cipher(service_env),
        account_id=tenant.account_id,
        name="own",
        type="mailpass",
        config={},
        from_email="noreply@unverified.example.com",
        default=True,
    )
    domain = await _verified_domain(internet, service_env, tenant.account_id)
    shop = new_domain()
    mx = internet.mx(shop, 10, refuse_rcpt={f"gone@{shop}": "550 5.1.1 no such user"})
    later = new_domain()
    internet.mx(later, 10, fail_next=["451 4.3.0 try again later"])
    mta = {
        "mta_helo_hostname": "mta.mailpass.test",
        "mta_return_path_domain": RETURN_PATH_DOMAIN,
        "mta_dns_nameservers": internet.dns.nameserver,
        "mta_smtp_port": internet.port,
        "sender_retry_base_seconds": 30,
        # One deferral would open the circuit if a recipient domain's trouble counted as
        # the provider's: the batch sent after the deferral shows it does not.
        "circuit_failure_threshold": 1,
    }
    headers = tenant.headers
    async with running_sender({**service_env, **mta}), running_gateway(service_env) as api:
        refused = await api.post(
            "/api/v1/mail/send",
            json={"to": f"a@{shop}", "subject": "Hi", "text": "Hello"},
            headers=headers,
        )
        assert refused.status_code == 422, refused.text
        assert refused.json()["error"]["code"] == "DOMAIN_NOT_VERIFIED"
        assert await db[Collections.MESSAGES].count_documents({}) == 0  # nothing stored

        sent = await api.post(
            "/api/v1/mail/send",
            json={
                "to": f"a@{shop}",
                "from_email": f"orders@{domain}",
                "subject": "Hi",
                "text": "Hello",
            },
            headers=headers,
        )
        assert sent.status_code == 200, sent.text
        assert sent.json()["data"]["status"] == "sent"

        bounced = await api.post(
            "/api/v1/mail/send",
            json={
                "to": f"gone@{shop}",
                "from_email": f"orders@{domain}",
                "subject": "Hi",
                "text": "Hello",
            },
            headers=headers,
        )
        assert bounced.status_code == 500, bounced.text  # SEND_FAILED, as the spec says
        assert "550 gone@" in bounced.json()["error"]["message"]

        deferred = await api.post(
            "/api/v1/mail/send",
            json={
                "to": f"a@{later}",
                "from_email": f"orders@{domain}",
                "subject": "Hi",
                "text": "Hello",
            },
            headers=headers,
        )
        assert deferred.status_code == 202, deferred.text
        deferred_id = deferred.json()["data"]["message_id"]
        doc = await wait_for_status(db, deferred_id, "deferred")
        assert "451 4.3.0" in str(doc["error_message"])

        batch = await api.post(
            "/api/v1/mail/send-batch",
            json={
                "messages": [
                    {
                        "to": f"b@{shop}",
                        "from_email": f"orders@{domain}",
                        "subject": "1",
                        "text": "x",
                    },
                    {
                        "to": f"c@{shop}",
                        "from_email": "orders@elsewhere.example.com",
                        "subject": "2",
                        "text": "x",
                    },
                ]
            },
            headers=headers,
        )
        assert batch.status_code == 200, batch.text
        items = batch.json()["data"]["messages"]
        assert items[0]["status"] == "queued"
        assert items[1]["status"] == "failed"
        assert "DOMAIN_NOT_VERIFIED" in str(items[1])
        await wait_for_status(db, items[0]["message_id"], "sent")

    [first] = [r for r in mx.received if r.rcpt_tos == [f"a@{shop}"]]
    assert dkim_verifies(first.data, internet.dns.nameserver)
    assert verp.parse(first.mail_from, RETURN_PATH_DOMAIN) is not None
    suppressed = await suppressions.suppressed(db, tenant.account_id, [f"gone@{shop}"])
    assert f"gone@{shop}" in suppressed
