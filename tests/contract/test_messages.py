"""GET /api/v1/mail/messages: newest first, filters, cursor pages, live and test apart."""

from __future__ import annotations

from typing import Any

import httpx

from mailpass_common.messages.search import whole_second
from mailpass_common.platform.db import Collections, Database
from mailpass_common.tenants.api_keys import Permission
from tests.support.smtp import SmtpServer
from tests.support.tenants import Tenant, make_tenant

LIST = "/api/v1/mail/messages"


async def send(api: httpx.AsyncClient, tenant: Tenant, **fields: Any) -> str:
    body = {"to": "ann@example.com", "subject": "Hello", "text": "Hi", **fields}
    response = await api.post("/api/v1/mail/send", json=body, headers=tenant.headers)
    assert response.status_code in (200, 500), response.text
    data = response.json()
    return str(
        data["data"]["message_id"] if data["success"] else data["error"]["details"]["message_id"]
    )


async def listed(api: httpx.AsyncClient, tenant: Tenant, **params: Any) -> list[str]:
    response = await api.get(LIST, params=params, headers=tenant.headers)
    assert response.status_code == 200, response.text
    return [m["message_id"] for m in response.json()["data"]["messages"]]


async def newest_first(db: Database, ids: list[str]) -> list[str]:
    """The list's order: the second accepted, newest first, then the id (see message_search)."""
    docs = await db[Collections.MESSAGES].find({"_id": {"$in": ids}}).to_list()
    return [
        d["_id"]
        for d in sorted(docs, key=lambda d: (whole_second(d["created_at"]), d["_id"]), reverse=True)
    ]


async def test_pages_newest_first_with_the_status_fields_and_a_cursor(
    api: httpx.AsyncClient, tenant: Tenant, smtp: SmtpServer, db: Database
) -> None:
    sent = [await send(api, tenant, subject=f"Hello {n}", tags=["order"]) for n in range(3)]
    order = await newest_first(db, sent)
    first = await api.get(LIST, params={"limit": 2}, headers=tenant.headers)
    assert first.status_code == 200, first.text
    data = first.json()["data"]
    assert [m["message_id"] for m in data["messages"]] == order[:2]
    newest = data["messages"][0]
    assert newest == {
        "message_id": order[0],
        "from_email": "noreply@acme.example.com",
        "to_email": "ann@example.com",
        "subject": f"Hello {sent.index(order[0])}",
        "status": "sent",
        "error_message": None,
        "tags": ["order"],
        "sandbox": False,
        "resent_from": None,
        "resent_as": None,
        "sent_at": newest["sent_at"],
        "created_at": newest["created_at"],
        "body_purged_at": None,
    }
    assert newest["sent_at"] and newest["created_at"]
    second = await api.get(
        LIST, params={"limit": 2, "cursor": data["next_cursor"]}, headers=tenant.headers
    )
    assert [m["message_id"] for m in second.json()["data"]["messages"]] == order[2:]
    assert second.json()["data"]["next_cursor"] is None


async def test_filters_apply_together(
    api: httpx.AsyncClient, tenant: Tenant, smtp: SmtpServer, db: Database
) -> None:
    smtp.handler.fail_next.append("550 5.1.1 <bob@example.com>: Recipient address rejected")
    failed = await send(api, tenant, to="bob@example.com", tags=["order", "eu"])
    order = await send(api, tenant, to="ann@example.com", tags=["order"])
    other = await send(api, tenant, to="Ann@Example.COM", tags=["news"])

    assert await listed(api, tenant, status="failed") == [failed]
    assert await listed(api, tenant, tag="order") == await newest_first(db, [order, failed])
    assert await listed(api, tenant, tag="order", status="sent") == [order]
    # The recipient filter normalizes the address as sending did (the domain's case).
    assert await listed(api, tenant, to="ann@EXAMPLE.com") == [order]
    assert await listed(api, tenant, to="Ann@example.com") == [other]
    everything = await newest_first(db, [other, order, failed])
    assert await listed(api, tenant, created_after="2000-01-01T00:00:00") == everything
    assert await listed(api, tenant, created_before="2000-01-01T00:00:00Z") == []


async def test_live_and_test_messages_are_listed_apart_and_accounts_never_meet(
    api: httpx.AsyncClient,
    tenant: Tenant,
    db: Database,
    service_env: dict[str, Any],
    smtp: SmtpServer,
    sandbox: SmtpServer,
) -> None:
    live = await send(api, tenant)
    tester = await make_tenant(db, service_env, "acme", smtp_port=None, test_key=True)
    test = await send(api, tester)
    other = await make_tenant(db, service_env, "other", smtp_port=smtp.port)
    await send(api, other)

    assert await listed(api, tenant) == [live]
    assert await listed(api, tenant, sandbox="true") == [test]
    assert await listed(api, tester) == [test]
    refused = await api.get(LIST, params={"sandbox": "false"}, headers=tester.headers)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "FORBIDDEN"
    assert live not in await listed(api, other) and test not in await listed(api, other)


async def test_bad_filters_are_validation_errors_naming_the_field(
    api: httpx.AsyncClient, tenant: Tenant, db: Database, service_env: dict[str, Any]
) -> None:
    for params, field in (
        ({"status": "lost"}, "status"),
        ({"to": "not an address"}, "to"),
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"created_after": "yesterday"}, "created_after"),
        ({"cursor": "bm9wZQ"}, "cursor"),
        ({"color": "red"}, "color"),
    ):
        response = await api.get(LIST, params=params, headers=tenant.headers)
        assert response.status_code == 400, (params, response.text)
        error = response.json()["error"]
        assert error["code"] == "VALIDATION_ERROR"
        assert [d["field"] for d in error["details"]] == [field], error
    keys_only = await make_tenant(
        db, service_env, "keys-only", smtp_port=None, permissions=(Permission.KEYS,)
    )
    assert (await api.get(LIST, headers=keys_only.headers)).status_code == 403
    assert (await api.get(LIST)).status_code == 401
