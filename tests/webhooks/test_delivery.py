"""Webhooks end to end on real parts: the gateway's API, the sender (or the outbox
directly), RabbitMQ, nx-27017, the webhooks service, and a local receiver that checks
every signature with the Standard Webhooks reference library."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from standardwebhooks import Webhook

from mailpass_common.platform.db import Database
from mailpass_common.tenants.api_keys import Permission
from mailpass_common.webhooks import outbox
from tests.support.smtp import SmtpServer
from tests.support.stack import running_sender
from tests.support.tenants import Tenant, make_admin, make_tenant
from tests.webhooks.support import Hook, Receiver, running_webhooks

ALL = ["sent", "deferred", "failed", "bounced", "complained", "open", "click"]


@pytest.fixture
async def webhooks(service_env: dict[str, Any], db: Database) -> AsyncIterator[Any]:
    async with running_webhooks(service_env) as service:
        yield service


async def add_endpoint(
    api: httpx.AsyncClient, tenant: Tenant, url: str, events: list[str] | None = None
) -> dict[str, Any]:
    response = await api.post(
        "/api/v1/webhooks", json={"url": url, "events": events or ALL}, headers=tenant.headers
    )
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


def verified(hook: Hook, secret: str) -> Any:
    return Webhook(secret).verify(hook.body, hook.headers)


async def test_a_sent_message_is_reported_signed(
    db: Database,
    service_env: dict[str, Any],
    smtp: SmtpServer,
    api: httpx.AsyncClient,
    webhooks: Any,
    receiver: Receiver,
) -> None:
    tenant = await make_tenant(
        db,
        service_env,
        "acme",
        smtp_port=smtp.port,
        permissions=(Permission.MAIL, Permission.WEBHOOKS),
    )
    endpoint = await add_endpoint(api, tenant, receiver.url("/acme"), ["sent"])
    assert endpoint["secret"].startswith("whsec_")
    async with running_sender(service_env, management_port=0):
        sent = await api.post(
            "/api/v1/mail/send",
            json={"to": "ann@example.com", "subject": "Hi", "text": "x", "tags": ["t1"]},
            headers=tenant.headers,
        )
        assert sent.status_code == 200, sent.text
        await receiver.wait_for(lambda: len(receiver.at("/acme")) == 1)
    [hook] = receiver.at("/acme")
    payload = verified(hook, endpoint["secret"])
    assert payload["type"] == "sent"
    assert payload["data"]["message_id"] == sent.json()["data"]["message_id"]
    assert payload["data"]["to"] == "ann@example.com"
    assert payload["data"]["tags"] == ["t1"]
    assert hook.headers["webhook-id"].startswith("msg_")
    # The secret is never shown again.
    again = await api.get(f"/api/v1/webhooks/{endpoint['id']}", headers=tenant.headers)
    assert "secret" not in again.json()["data"]


async def test_a_500_is_retried_with_the_same_id_and_the_attempts_are_listed(
    db: Database, api: httpx.AsyncClient, webhooks: Any, receiver: Receiver
) -> None:
    tenant = await make_admin(db, "acme")
    endpoint = await add_endpoint(api, tenant, receiver.url("/flaky"))
    receiver.statuses["/flaky"] = [500, 503]
    assert await outbox.emit(db, tenant.account_id, "bounced", {"message_id": "<m1@x>"})
    await receiver.wait_for(lambda: len(receiver.at("/flaky")) == 3)
    hooks = receiver.at("/flaky")
    assert len({hook.headers["webhook-id"] for hook in hooks}) == 1
    for hook in hooks:
        assert verified(hook, endpoint["secret"])["data"] == {"message_id": "<m1@x>"}

    page = await api.get(
        f"/api/v1/webhooks/{endpoint['id']}/attempts?limit=2", headers=tenant.headers
    )
    assert page.status_code == 200, page.text
    first = page.json()["data"]
    assert [a["outcome"] for a in first["attempts"]] == ["succeeded", "failed"]
    assert [a["attempt"] for a in first["attempts"]] == [3, 2]
    assert first["attempts"][1]["status_code"] == 503
    assert len(first["attempts"][1]["response"]) <= 300  # the body was 10,000 characters
    assert first["attempts"][1]["next_attempt_in_seconds"] == 0.3
    rest = await api.get(
        f"/api/v1/webhooks/{endpoint['id']}/attempts",
        params={"limit": 2, "cursor": first["next_cursor"]},
        headers=tenant.headers,
    )
    [oldest] = rest.json()["data"]["attempts"]
    assert (oldest["attempt"], oldest["status_code"]) == (1, 500)
    assert rest.json()["data"]["next_cursor"] is None


async def test_an_account_never_receives_another_accounts_events(
    db: Database, api: httpx.AsyncClient, webhooks: Any, receiver: Receiver
) -> None:
    acme, globex = await make_admin(db, "acme"), await make_admin(db, "globex")
    acme_test = await make_admin(db, "acme", test=True)
    secrets = {
        "/acme": (await add_endpoint(api, acme, receiver.url("/acme")))["secret"],
        "/globex": (await add_endpoint(api, globex, receiver.url("/globex")))["secret"],
        "/acme-test": (await add_endpoint(api, acme_test, receiver.url("/acme-test")))["secret"],
    }
    for n in range(3):
        await outbox.emit(db, acme.account_id, "open", {"who": "acme", "n": n})
        await outbox.emit(db, globex.account_id, "click", {"who": "globex", "n": n})
    await outbox.emit(db, acme.account_id, "sent", {"who": "acme-test"}, sandbox=True)
    await receiver.wait_for(lambda: len(receiver.received) == 7)
    for path, who, count in (("/acme", "acme", 3), ("/globex", "globex", 3)):
        hooks = receiver.at(path)
        assert len(hooks) == count
        assert {verified(h, secrets[path])["data"]["who"] for h in hooks} == {who}
    [sandboxed] = receiver.at("/acme-test")
    assert verified(sandboxed, secrets["/acme-test"])["data"]["who"] == "acme-test"

    # Nor can it see or touch another account's endpoint, or a live one with a test key.
    [acme_endpoint] = (await api.get("/api/v1/webhooks", headers=acme.headers)).json()["data"][
        "webhooks"
    ]
    for tenant in (globex, acme_test):
        for method, path in (
            ("GET", ""),
            ("GET", "/attempts"),
            ("DELETE", ""),
            ("POST", "/rotate-secret"),
        ):
            response = await api.request(
                method, f"/api/v1/webhooks/{acme_endpoint['id']}{path}", headers=tenant.headers
            )
            assert response.status_code == 404, (method, path, response.text)
    listed = (await api.get("/api/v1/webhooks", headers=acme_test.headers)).json()["data"][
        "webhooks"
    ]
    assert [e["url"] for e in listed] == [receiver.url("/acme-test")]


async def test_an_endpoint_failing_for_the_whole_window_is_disabled_with_an_event(
    db: Database, service_env: dict[str, Any], api: httpx.AsyncClient, receiver: Receiver
) -> None:
    tenant = await make_admin(db, "acme")
    down = await add_endpoint(api, tenant, receiver.url("/down"), ["failed"])
    watch = await add_endpoint(api, tenant, receiver.url("/watch"), ["endpoint.disabled"])
    receiver.statuses["/down"] = [500] * 50
    async with running_webhooks(
        service_env, webhook_retry_schedule="0.4,0.4,0.4,0.4,0.4", webhook_disable_after_seconds=0.7
    ):
        await outbox.emit(db, tenant.account_id, "failed", {"message_id": "<m@x>"})
        await receiver.wait_for(lambda: len(receiver.at("/watch")) == 1)
    [notice] = receiver.at("/watch")
    payload = verified(notice, watch["secret"])
    assert payload["type"] == "endpoint.disabled"
    assert payload["data"]["endpoint_id"] == down["id"]
    found = (await api.get(f"/api/v1/webhooks/{down['id']}", headers=tenant.headers)).json()
    assert found["data"]["enabled"] is False
    assert "failed" in found["data"]["disabled_reason"]
    attempts_made = len(receiver.at("/down"))
    assert 2 <= attempts_made < 6  # stopped before the schedule ran out
    # Enabled again, it starts over.
    enabled = await api.patch(
        f"/api/v1/webhooks/{down['id']}", json={"enabled": True}, headers=tenant.headers
    )
    assert enabled.json()["data"]["enabled"] is True
    assert enabled.json()["data"]["failing_since"] is None


async def test_after_a_rotation_both_secrets_verify_during_the_overlap(
    db: Database, api: httpx.AsyncClient, webhooks: Any, receiver: Receiver
) -> None:
    tenant = await make_admin(db, "acme")
    endpoint = await add_endpoint(api, tenant, receiver.url("/r"))
    path = f"/api/v1/webhooks/{endpoint['id']}/rotate-secret"
    rotated = (await api.post(path, headers=tenant.headers)).json()["data"]
    assert rotated["secret"] != endpoint["secret"]
    assert rotated["previous_secret_valid_until"] is not None
    await outbox.emit(db, tenant.account_id, "sent", {"n": 1})
    await receiver.wait_for(lambda: len(receiver.at("/r")) == 1)
    for secret in (endpoint["secret"], rotated["secret"]):
        verified(receiver.at("/r")[0], secret)

    # Without an overlap the old secret stops at once.
    third = (await api.post(path, params={"overlap_seconds": 0}, headers=tenant.headers)).json()
    await outbox.emit(db, tenant.account_id, "sent", {"n": 2})
    await receiver.wait_for(lambda: len(receiver.at("/r")) == 2)
    last = receiver.at("/r")[1]
    verified(last, third["data"]["secret"])
    assert len(last.headers["webhook-signature"].split(" ")) == 1


async def test_a_replayed_attempt_is_sent_again_with_its_webhook_id(
    db: Database, api: httpx.AsyncClient, webhooks: Any, receiver: Receiver
) -> None:
    tenant = await make_admin(db, "acme")
    endpoint = await add_endpoint(api, tenant, receiver.url("/again"))
    await outbox.emit(db, tenant.account_id, "complained", {"message_id": "<m@x>"})
    await receiver.wait_for(lambda: len(receiver.at("/again")) == 1)
    attempts_path = f"/api/v1/webhooks/{endpoint['id']}/attempts"
    [attempt] = (await api.get(attempts_path, headers=tenant.headers)).json()["data"]["attempts"]
    replay = await api.post(f"{attempts_path}/{attempt['id']}/replay", headers=tenant.headers)
    assert replay.status_code == 202, replay.text
    await receiver.wait_for(lambda: len(receiver.at("/again")) == 2)
    first, second = receiver.at("/again")
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    assert json.loads(first.body) == verified(second, endpoint["secret"])
    listed = (await api.get(attempts_path, headers=tenant.headers)).json()["data"]["attempts"]
    assert len(listed) == 2
    missing = await api.post(f"{attempts_path}/{'0' * 24}/replay", headers=tenant.headers)
    assert missing.status_code == 404


async def test_a_private_address_is_refused_when_saved_and_when_connecting(
    db: Database, service_env: dict[str, Any], api: httpx.AsyncClient, webhooks: Any
) -> None:
    tenant = await make_admin(db, "acme")
    for url in ("https://10.1.2.3/hook", "https://169.254.169.254/latest", "https://[fd00::1]/"):
        response = await api.post(
            "/api/v1/webhooks", json={"url": url, "events": ["sent"]}, headers=tenant.headers
        )
        assert response.status_code == 400, url
        [problem] = response.json()["error"]["details"]
        assert problem["field"] == "url" and "refused" in problem["message"]
    # Saved before the rule, or pointing at a name that now resolves privately: the
    # connection is refused, and the attempt says why.
    from mailpass_common.webhooks import endpoints
    from tests.support.tenants import cipher

    doc, _ = await endpoints.create_endpoint(
        db,
        cipher(service_env),
        account_id=tenant.account_id,
        url="http://10.1.2.3:8080/hook",
        events=["sent"],
        sandbox=False,
        limit=20,
    )
    await outbox.emit(db, tenant.account_id, "sent", {"n": 1})
    page = None
    for _ in range(100):
        page = (
            await api.get(f"/api/v1/webhooks/{doc['_id']}/attempts", headers=tenant.headers)
        ).json()["data"]
        if page["attempts"]:
            break
        import asyncio

        await asyncio.sleep(0.1)
    assert page is not None and page["attempts"], "no attempt recorded"
    first = page["attempts"][-1]
    assert first["status_code"] is None
    assert "egress" in first["error"] and "private" in first["error"]


async def test_a_deferral_then_a_failure_are_reported_by_the_sender(
    db: Database,
    service_env: dict[str, Any],
    smtp: SmtpServer,
    api: httpx.AsyncClient,
    webhooks: Any,
    receiver: Receiver,
) -> None:
    tenant = await make_tenant(
        db,
        service_env,
        "acme",
        smtp_port=smtp.port,
        permissions=(Permission.MAIL, Permission.WEBHOOKS),
    )
    endpoint = await add_endpoint(api, tenant, receiver.url("/outcomes"), ["deferred", "failed"])
    smtp.handler.fail_next = ["451 4.3.0 Try again later", "550 5.1.1 No such user"]
    async with running_sender(
        service_env, management_port=0, sender_retry_base_seconds=0.2, sender_retry_jitter=0
    ):
        sent = await api.post(
            "/api/v1/mail/send",
            json={"to": "ann@example.com", "subject": "Hi", "text": "x"},
            headers=tenant.headers,
        )
        assert sent.status_code == 202, sent.text
        await receiver.wait_for(lambda: len(receiver.at("/outcomes")) == 2)
    deferred, failed = (verified(h, endpoint["secret"]) for h in receiver.at("/outcomes"))
    assert deferred["type"] == "deferred" and "451" in deferred["data"]["error"]
    assert deferred["data"]["retry_in_seconds"] == 0.2
    assert failed["type"] == "failed" and "550" in failed["data"]["error"]
    assert failed["data"]["message_id"] == sent.json()["data"]["message_id"]

    # The service's metrics count the deliveries.
    port = webhooks.management.port
    async with httpx.AsyncClient() as client:
        metrics = (await client.get(f"http://127.0.0.1:{port}/metrics")).text
    assert 'mailpass_webhook_deliveries_total{outcome="succeeded"}' in metrics
    assert "mailpass_webhook_delivery_duration_seconds_bucket" in metrics
