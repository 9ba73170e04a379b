"""POST /api/v1/providers/{id}/test connects and authenticates against real SMTP servers."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from mailpass_common.platform.db import Database
from tests.admin.support import FROM, SMTP_PASSWORD, SMTP_USER, AuthSmtpServer, smtp_body
from tests.support.fake_http_apis import FakeSendGrid
from tests.support.services import free_port
from tests.support.smtp import SmtpServer
from tests.support.tenants import make_admin

# The AUTH server runs without TLS on purpose (a local test server).
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")


async def _check(
    api: httpx.AsyncClient, auth: dict[str, str], body: dict[str, Any]
) -> httpx.Response:
    created = await api.post("/api/v1/providers", json=body, headers=auth)
    assert created.status_code == 201, created.text
    return await api.post(f"/api/v1/providers/{created.json()['data']['id']}/test", headers=auth)


async def test_a_reachable_server_is_ok(
    api: httpx.AsyncClient, db: Database, smtp: SmtpServer
) -> None:
    acme = await make_admin(db, "acme")
    response = await _check(api, acme.headers, smtp_body(smtp.port))
    assert response.status_code == 200
    assert response.json() == {"success": True, "data": {"ok": True}}
    assert smtp.received == []  # a test sends nothing
    [view] = (await api.get("/api/v1/providers", headers=acme.headers)).json()["data"]["providers"]
    assert view["last_check"]["ok"] is True and view["last_check"]["error"] is None
    assert view["last_check"]["checked_at"] and view["version"] == 1  # not a change


async def test_authentication_is_checked_and_a_refusal_carries_the_servers_reply(
    api: httpx.AsyncClient, db: Database, auth_smtp: AuthSmtpServer
) -> None:
    acme = await make_admin(db, "acme")
    good = smtp_body(
        auth_smtp.port, "good", config={"username": SMTP_USER, "password": SMTP_PASSWORD}
    )
    ok = await _check(api, acme.headers, good)
    assert ok.json() == {"success": True, "data": {"ok": True}}

    wrong = smtp_body(auth_smtp.port, "wrong", config={"username": SMTP_USER, "password": "nope"})
    refused = await _check(api, acme.headers, wrong)
    assert refused.status_code == 200
    data = refused.json()["data"]
    assert data["ok"] is False
    assert data["error"].startswith("535") and "Authentication credentials invalid" in data["error"]
    assert "nope" not in refused.text
    views = (await api.get("/api/v1/providers", headers=acme.headers)).json()["data"]["providers"]
    last = {view["name"]: view["last_check"] for view in views}
    assert last["good"]["ok"] is True
    assert last["wrong"]["ok"] is False and last["wrong"]["error"] == data["error"]


async def test_an_unreachable_server_is_not_ok(api: httpx.AsyncClient, db: Database) -> None:
    acme = await make_admin(db, "acme")
    response = await _check(api, acme.headers, smtp_body(free_port()))
    assert response.status_code == 200
    data = response.json()["data"]
    assert data["ok"] is False and "connect" in data["error"].lower()


async def test_an_http_provider_is_checked_with_its_stored_key(
    api: httpx.AsyncClient, db: Database
) -> None:
    acme = await make_admin(db, "acme")
    sendgrid = FakeSendGrid(api_key="SG.right-key").start()
    try:
        for name, api_key, ok in [("right", "SG.right-key", True), ("wrong", "SG.wrong", False)]:
            body = {
                "name": name,
                "type": "sendgrid",
                "config": {"api_key": api_key, "base_url": sendgrid.base_url},
                "from_email": FROM,
            }
            response = await _check(api, acme.headers, body)
            assert response.status_code == 200
            assert response.json()["data"]["ok"] is ok, response.text
            if not ok:
                assert "401" in response.json()["data"]["error"], response.text
            assert api_key not in response.text
    finally:
        sendgrid.stop()
