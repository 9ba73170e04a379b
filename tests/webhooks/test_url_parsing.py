"""A webhook URL is read by the parser that sends it, so what is saved can be used; a URL
the client cannot use anyway (saved before the rules) is a recorded, failed attempt, not
an exception; and a DNS name with an empty or over-long label is a 400 naming the field,
for webhook URLs and provider hosts alike, never a 500."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from mailpass_common.platform.db import Database
from mailpass_common.webhooks import endpoints, outbox
from tests.admin.support import smtp_body
from tests.support.stack import running_gateway
from tests.support.tenants import cipher, make_admin
from tests.webhooks.support import running_webhooks

LONG_LABEL = "a" * 64
UNUSABLE = [
    "https://a..b.example.com/hook",  # an empty label
    "https://.example.com/hook",
    f"https://{LONG_LABEL}.example.com/hook",  # a label over 63 octets
    "https://" + ".".join(["a" * 63] * 4) + "/hook",  # a name over 253
    "https://exa\u00admple.com/hook",  # a soft hyphen: IDNA refuses it
    "https://ex\u200dample.com/hook",  # a zero-width joiner
    "https://\u2488.example.com/hook",  # a character IDNA 2008 disallows
    "https://xn--a.example.com/hook",  # punycode that does not decode
    "https://[v1.x]/hook",  # an IPvFuture literal
    "https://[::1/hook",  # an unclosed IPv6 literal
]


@pytest.mark.parametrize("url", UNUSABLE)
async def test_a_url_the_client_cannot_use_is_refused_when_saved(
    api: httpx.AsyncClient, db: Database, url: str
) -> None:
    tenant = await make_admin(db, "acme")
    response = await api.post(
        "/api/v1/webhooks", json={"url": url, "events": ["sent"]}, headers=tenant.headers
    )
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR" and error["details"][0]["field"] == "url"


async def test_a_saved_url_the_client_cannot_use_is_a_recorded_failed_attempt(
    api: httpx.AsyncClient, db: Database, service_env: dict[str, Any]
) -> None:
    tenant = await make_admin(db, "acme")
    saved = []
    for url in ("https://exa\u00admple.com/hook", "https://a..b.example.com/hook"):
        doc, _ = await endpoints.create_endpoint(
            db,
            cipher(service_env),
            account_id=tenant.account_id,
            url=url,
            events=["sent"],
            sandbox=False,
            limit=20,
        )
        saved.append(doc["_id"])
    async with running_webhooks(service_env):
        await outbox.emit(db, tenant.account_id, "sent", {"message_id": "m1"})
        pages: dict[str, list[dict[str, Any]]] = {}
        for _ in range(200):  # the first attempt and three fast retries, each recorded
            for endpoint_id in saved:
                page = await api.get(
                    f"/api/v1/webhooks/{endpoint_id}/attempts", headers=tenant.headers
                )
                pages[endpoint_id] = page.json()["data"]["attempts"]
            if all(len(found) == 4 for found in pages.values()):
                break
            await asyncio.sleep(0.1)
    for found in pages.values():
        assert len(found) == 4, found
        assert all(a["status_code"] is None and a["error"] for a in found)
        assert found[-1]["next_attempt_in_seconds"] is not None
        assert found[0]["next_attempt_in_seconds"] is None  # the last: given up, not requeued


@pytest.mark.parametrize("host", ["a..b.example.com", f"{LONG_LABEL}.example.com", ".example"])
async def test_a_provider_host_with_a_bad_dns_label_is_a_400(
    db: Database, service_env: dict[str, Any], host: str
) -> None:
    acme = await make_admin(db, "acme")
    async with running_gateway(service_env) as client:
        body = smtp_body(587, config={"host": host, "security": "starttls"})
        response = await client.post("/api/v1/providers", json=body, headers=acme.headers)
        assert response.status_code == 400, response.text
        [detail] = response.json()["error"]["details"]
        assert detail["field"] == "config.host" and "label" in detail["message"], detail
