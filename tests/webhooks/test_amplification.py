"""Webhooks cannot be turned into an amplifier: endpoints are capped per account
(WEBHOOK_MAX_ENDPOINTS_PER_ACCOUNT, a stable error code), and deliveries to one host are
bounded per second across endpoints, accounts and webhooks replicas."""

from __future__ import annotations

import asyncio
from typing import Any

from mailpass_common.platform.db import Database
from mailpass_common.platform.settings import CommonSettings
from mailpass_common.tenants.api_keys import Permission
from mailpass_common.webhooks import endpoints, outbox
from tests.support.stack import running_gateway
from tests.support.tenants import cipher, make_account, make_tenant
from tests.webhooks.support import Receiver, running_webhooks


async def test_endpoints_per_account_are_capped_even_when_created_at_once(
    db: Database, service_env: dict[str, Any]
) -> None:
    tenant = await make_tenant(
        db, service_env, "acme", smtp_port=None, permissions=(Permission.WEBHOOKS,)
    )
    other = await make_tenant(
        db, service_env, "globex", smtp_port=None, permissions=(Permission.WEBHOOKS,)
    )
    body = {"url": "https://hooks.example.com/x", "events": ["sent"]}
    async with running_gateway(
        service_env, webhook_allow_http=True, webhook_max_endpoints_per_account=4
    ) as api:
        first = await api.post("/api/v1/webhooks", json=body, headers=tenant.headers)
        assert first.status_code == 201, first.text
        answers = await asyncio.gather(
            *(api.post("/api/v1/webhooks", json=body, headers=tenant.headers) for _ in range(8))
        )
        assert sorted(a.status_code for a in answers) == [201] * 3 + [409] * 5
        refused = next(a for a in answers if a.status_code == 409).json()["error"]
        assert refused["code"] == "WEBHOOK_ENDPOINT_LIMIT" and refused["details"] == {"limit": 4}
        listed = await api.get("/api/v1/webhooks", headers=tenant.headers)
        assert len(listed.json()["data"]["webhooks"]) == 4
        # Another account's endpoints are its own.
        theirs = await api.post("/api/v1/webhooks", json=body, headers=other.headers)
        assert theirs.status_code == 201, theirs.text
        # Deleting one makes room again.
        gone = listed.json()["data"]["webhooks"][0]["id"]
        assert (await api.delete(f"/api/v1/webhooks/{gone}", headers=tenant.headers)).is_success
        again = await api.post("/api/v1/webhooks", json=body, headers=tenant.headers)
        assert again.status_code == 201, again.text


def test_the_default_cap_is_the_documented_one() -> None:
    from tests.support.readme import readme_text

    limit = CommonSettings.model_fields["webhook_max_endpoints_per_account"].default
    assert f"`WEBHOOK_MAX_ENDPOINTS_PER_ACCOUNT` ({limit})" in readme_text()


async def test_deliveries_to_one_host_are_bounded_per_second_across_replicas(
    db: Database, service_env: dict[str, Any], receiver: Receiver
) -> None:
    rate, count = 3, 12
    accounts = [await make_account(db, f"amplifier-{i}") for i in range(2)]
    for i in range(count):  # two accounts, six endpoints each, all on one host
        await endpoints.create_endpoint(
            db,
            cipher(service_env),
            account_id=accounts[i % 2],
            url=receiver.url(f"/e{i}"),
            events=["sent"],
            sandbox=False,
            limit=20,
        )
    async with (
        running_webhooks(service_env, webhook_host_rate_per_second=rate),
        running_webhooks(service_env, webhook_host_rate_per_second=rate),
    ):
        for account_id in accounts:
            await outbox.emit(db, account_id, "sent", {"message_id": "m1"})
        await receiver.wait_for(lambda: len(receiver.received) == count, timeout=30)
    times = sorted(hook.received_at for hook in receiver.received)
    # Slots are per second of the clock: any one-second span holds at most two seconds'.
    busiest = max(sum(1 for t in times if start <= t < start + 1) for start in times)
    assert busiest <= 2 * rate, times
    assert times[-1] - times[0] >= count / rate - 2, times
    assert len({hook.path for hook in receiver.received}) == count  # each delivered once


def test_the_default_host_rate_is_the_documented_one() -> None:
    from mailpass_webhooks.settings import WebhookSettings
    from tests.support.readme import readme_text

    rate = WebhookSettings.model_fields["webhook_host_rate_per_second"].default
    assert f"`WEBHOOK_HOST_RATE_PER_SECOND` ({rate})" in readme_text()
