"""Postmark and Resend end to end: added and tested through the REST API, then a
``/mail/send`` goes through the real gateway, broker and sender to the fake API."""

from __future__ import annotations

from typing import Any

import pytest

from mailpass_common.platform.db import Database
from tests.support.fake_postmark_resend import FakePostmark, FakeResend
from tests.support.stack import running_gateway, running_sender
from tests.support.tenants import make_admin

FROM = "orders@acme.example.com"


@pytest.mark.parametrize("type_", ["postmark", "resend"])
async def test_a_message_goes_out_through_the_type(
    db: Database, service_env: dict[str, Any], type_: str
) -> None:
    fake = (FakePostmark() if type_ == "postmark" else FakeResend()).start()
    secret_name = "server_token" if type_ == "postmark" else "api_key"
    secret = {secret_name: fake.api_key}
    admin = await make_admin(db, "acme")
    try:
        async with running_gateway(service_env) as api, running_sender(service_env):
            created = await api.post(
                "/api/v1/providers",
                json={
                    "name": type_,
                    "type": type_,
                    "config": {"base_url": fake.base_url, **secret},
                    "from_email": FROM,
                    "is_default": True,
                },
                headers=admin.headers,
            )
            assert created.status_code == 201, created.text
            view = created.json()["data"]
            assert view["config"] == {"base_url": fake.base_url, f"has_{secret_name}": True}
            check = await api.post(f"/api/v1/providers/{view['id']}/test", headers=admin.headers)
            assert check.json()["data"]["ok"] is True, check.text

            sent = await api.post(
                "/api/v1/mail/send",
                json={"to": "ana@example.com", "subject": "Hello", "text": "Hi Ana"},
                headers=admin.headers,
            )
            assert sent.status_code == 200, sent.text
            assert sent.json()["data"]["status"] == "sent"
            message_id = sent.json()["data"]["message_id"]
            status = await api.get(f"/api/v1/mail/status/{message_id}", headers=admin.headers)
            assert status.status_code == 200, status.text
    finally:
        fake.stop()

    [body] = fake.received
    if type_ == "postmark":
        assert (body["From"], body["To"], body["TextBody"]) == (FROM, "ana@example.com", "Hi Ana")
        assert body["Headers"] == [{"Name": "Message-ID", "Value": message_id}]
    else:
        assert (body["from"], body["to"], body["text"]) == (FROM, ["ana@example.com"], "Hi Ana")
    doc = await db["messages"].find_one({"_id": message_id})
    assert doc is not None and doc["provider_type"] == type_


async def test_a_wrong_key_fails_the_provider_test(
    db: Database, service_env: dict[str, Any]
) -> None:
    fake = FakeResend().start()
    admin = await make_admin(db, "acme")
    try:
        async with running_gateway(service_env) as api:
            created = await api.post(
                "/api/v1/providers",
                json={
                    "name": "resend",
                    "type": "resend",
                    "config": {"base_url": fake.base_url, "api_key": "re_wrong"},
                    "from_email": FROM,
                },
                headers=admin.headers,
            )
            provider_id = created.json()["data"]["id"]
            check = await api.post(f"/api/v1/providers/{provider_id}/test", headers=admin.headers)
    finally:
        fake.stop()
    data = check.json()["data"]
    assert data["ok"] is False and "403" in data["error"] and "re_wrong" not in check.text
