"""International addresses end to end (gateway → RabbitMQ → sender → a real aiosmtpd):
domains travel as IDNA in headers and envelope; a non-ASCII local part goes out with
SMTPUTF8 when the server offers it, and fails permanently, with a clear reason, when not."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from mailpass_common.messages import service as messages
from mailpass_common.platform.db import Database
from tests.support.smtp import SmtpServer
from tests.support.stack import running_gateway, running_sender
from tests.support.tenants import Tenant, make_tenant


@pytest.fixture
async def api(db: Database, service_env: dict[str, Any]) -> AsyncIterator[httpx.AsyncClient]:
    async with (
        running_sender(service_env, management_port=0),
        running_gateway(service_env, send_timeout_seconds=10) as client,
    ):
        yield client


async def _tenant(db: Database, env: dict[str, Any], server: SmtpServer) -> Tenant:
    return await make_tenant(db, env, "acme", smtp_port=server.port, from_email="hi@bücher.example")


async def test_international_domains_travel_as_idna(
    db: Database, service_env: dict[str, Any], smtp: SmtpServer, api: httpx.AsyncClient
) -> None:
    tenant = await _tenant(db, service_env, smtp)
    request = {
        "to": "user@例え.jp",
        "cc": ["ivan@пример.рф"],
        "reply_to": "help@BÜCHER.example",
        "subject": "Hallo",
        "text": "x",
    }
    response = await api.post("/api/v1/mail/send", json=request, headers=tenant.headers)
    assert response.status_code == 200, response.text
    [received] = smtp.received
    assert received.mail_from == "hi@xn--bcher-kva.example"
    assert received.rcpt_tos == ["user@xn--r8jz45g.jp", "ivan@xn--e1afmkfd.xn--p1ai"]
    assert "SMTPUTF8" not in received.mail_options  # nothing in it needs UTF-8
    assert received.data.isascii()
    message = received.message
    assert message["To"] == "user@xn--r8jz45g.jp"
    assert message["Cc"] == "ivan@xn--e1afmkfd.xn--p1ai"
    assert message["From"] == "Acme <hi@xn--bcher-kva.example>"
    assert message["Reply-To"] == "help@xn--bcher-kva.example"


async def test_a_non_ascii_local_part_goes_out_with_smtputf8(
    db: Database, service_env: dict[str, Any], smtp: SmtpServer, api: httpx.AsyncClient
) -> None:
    tenant = await _tenant(db, service_env, smtp)
    request = {"to": "jösé@例え.jp", "subject": "Olá", "text": "x"}
    response = await api.post("/api/v1/mail/send", json=request, headers=tenant.headers)
    assert response.status_code == 200, response.text
    [received] = smtp.received
    assert "SMTPUTF8" in received.mail_options
    # The local part as it is (UTF-8), the domain as IDNA.
    assert received.rcpt_tos == ["jösé@xn--r8jz45g.jp"]
    assert b"\r\nTo: j\xc3\xb6s\xc3\xa9@xn--r8jz45g.jp\r\n" in received.data


async def test_a_server_without_smtputf8_is_a_clear_permanent_failure(
    db: Database, service_env: dict[str, Any], api: httpx.AsyncClient
) -> None:
    server = SmtpServer(smtputf8=False).start()
    try:
        tenant = await _tenant(db, service_env, server)
        request = {"to": "jösé@example.com", "subject": "Olá", "text": "x"}
        response = await api.post("/api/v1/mail/send", json=request, headers=tenant.headers)
        # The same message to an ASCII address still goes through this server.
        ascii_request = {**request, "to": "jose@example.com"}
        ascii_response = await api.post(
            "/api/v1/mail/send", json=ascii_request, headers=tenant.headers
        )
    finally:
        server.stop()
    assert response.status_code == 500, response.text
    error = response.json()["error"]
    assert error["code"] == "SEND_FAILED"
    assert "non-ASCII local part" in error["message"] and "SMTPUTF8" in error["message"]
    failed = await messages.get_message(db, error["details"]["message_id"])
    assert failed is not None and failed["status"] == "failed" and failed["attempts"] == 1
    assert ascii_response.status_code == 200, ascii_response.text
    assert [r.rcpt_tos for r in server.received] == [["jose@example.com"]]
