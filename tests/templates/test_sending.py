"""Sending with a template on the real gateway, sender and SMTP capture: rendered once at
acceptance, escaped in html only, the template version kept; batches with one template
and per-message variables, parsed once; every refusal a VALIDATION_ERROR naming why."""

from __future__ import annotations

import time
import urllib.parse
from typing import Any

import httpx
import pytest

from mailpass_common.messages import service as messages
from mailpass_common.platform.db import Database
from mailpass_common.templates import rendering
from tests.support.messages import wait_for_status
from tests.support.smtp import SmtpServer
from tests.support.tenants import Tenant
from tests.templates.test_templates_api import create

HTML = '<p>Hi {{ name }}</p><p>{{ order.total }}</p><a href="{{ unsubscribe_url }}">Unsubscribe</a>'


async def test_send_renders_once_escapes_html_and_keeps_the_version(
    api: httpx.AsyncClient, tenant: Tenant, smtp: SmtpServer, db: Database
) -> None:
    made = await create(api, tenant, html=HTML)
    await api.patch(
        "/api/v1/templates/order",
        json={"subject": "Order {{ order.number }}!"},
        headers=tenant.headers,
    )
    response = await api.post(
        "/api/v1/mail/send",
        json={
            "to": "ann@example.com",
            "template_id": "order",
            "variables": {"name": "<Ann & Bob>", "order": {"number": "A<1>", "total": 12.5}},
            "tags": ["order"],
        },
        headers=tenant.headers,
    )
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert set(data) == {"message_id", "status", "to", "from"} and data["status"] == "sent"
    [received] = await smtp.wait_for(1)
    message = received.message
    assert message["Subject"] == "Order A<1>!"
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "<p>Hi &lt;Ann &amp; Bob&gt;</p><p>12.5</p>" in html
    assert 'href="https://t.mailpass.test/t/unsubscribe/' in html
    assert message.get_body(("plain",)).get_content().strip() == "Hi <Ann & Bob>"  # type: ignore[union-attr]
    doc = await messages.get_message(db, data["message_id"])
    assert doc is not None
    assert doc["template"] == {"id": made["id"], "version": 2}
    assert doc["subject"] == "Order A<1>!"
    assert "List-Unsubscribe" not in message  # not asked for, and the account's default is off


REFUSED: list[tuple[dict[str, Any], str]] = [
    ({"variables": {"name": "x"}}, "variables.order"),
    ({"variables": {"name": "x", "order": {}}}, "variables.order.total"),
    ({"variables": {"name": "x", "order": {"total": 1}}, "subject": "s"}, "subject"),
    ({"variables": []}, "variables"),
    ({"template_id": "nope"}, "template_id"),
    ({"template_id": "tpl_000000000000000000000000"}, "template_id"),
    ({"template_id": None, "subject": "s", "text": "t", "variables": {}}, "variables"),
]


async def test_send_refusals_name_the_field(
    api: httpx.AsyncClient, tenant: Tenant, smtp: SmtpServer
) -> None:
    await create(api, tenant, html=HTML, subject="Order")
    for body, field in REFUSED:
        request = {"to": "ann@example.com", "template_id": "order", **body}
        response = await api.post("/api/v1/mail/send", json=request, headers=tenant.headers)
        assert response.status_code == 400, (body, response.text)
        error = response.json()["error"]
        assert error["code"] == "VALIDATION_ERROR"
        assert error["details"][0]["field"] == field, body
    assert smtp.received == []


async def test_a_variable_cannot_inject_headers_and_a_hostile_template_cannot_stall(
    api: httpx.AsyncClient, tenant: Tenant, smtp: SmtpServer
) -> None:
    await create(api, tenant, subject="Hi {{ name }}", html="<p>{{ name }}</p>")
    injected = await api.post(
        "/api/v1/mail/send",
        json={
            "to": "a@example.com",
            "template_id": "order",
            "variables": {"name": "x\r\nBcc: e@x"},
        },
        headers=tenant.headers,
    )
    assert injected.status_code == 400
    assert injected.json()["error"]["details"][0]["field"] == "subject"
    await create(
        api,
        tenant,
        alias="stall",
        subject="Stall",
        html="{% for a in (1..9999) %}{% assign q = a %}{% endfor %}" * 80,
    )
    started = time.monotonic()
    stalled = await api.post(
        "/api/v1/mail/send-batch",
        json={
            "template_id": "stall",
            "messages": [{"to": f"u{i}@example.com", "variables": {}} for i in range(5)],
        },
        headers=tenant.headers,
    )
    assert time.monotonic() - started < 5
    body = stalled.json()["data"]
    assert (body["queued"], body["failed"]) == (0, 5)
    # The first message spends the request's budget in its html; the others find it spent.
    problems = [m["error"]["details"][0] for m in body["messages"]]
    assert problems[0]["field"] == "html"
    assert all("the template takes too" in p["message"] for p in problems), problems
    assert smtp.received == []


async def test_a_batch_names_one_template_with_variables_per_message_parsed_once(
    api: httpx.AsyncClient,
    tenant: Tenant,
    smtp: SmtpServer,
    db: Database,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    made = await create(api, tenant, html="<b>{{ name }}</b>", subject="For {{ name }}")
    parsed: list[str] = []
    real_compile = rendering.compile_template

    def counting(subject: str, html: str | None, text: str | None) -> rendering.CompiledTemplate:
        parsed.append(subject)
        return real_compile(subject, html, text)

    monkeypatch.setattr(rendering, "compile_template", counting)
    response = await api.post(
        "/api/v1/mail/send-batch",
        json={
            "template_id": "order",
            "from_name": "Shop",
            "messages": [
                {"to": "a@example.com", "variables": {"name": "A&"}},
                {"to": "b@example.com", "variables": {"name": "B", "unused": [1, 2]}},
                {"to": "c@example.com", "variables": {}},
                {"to": "d@example.com", "subject": "Own", "text": "own content"},
                {"to": "e@example.com", "template_id": "nope"},
            ],
        },
        headers=tenant.headers,
    )
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert (data["total"], data["queued"], data["failed"]) == (5, 3, 2)
    statuses = [m["status"] for m in data["messages"]]
    assert statuses == ["queued", "queued", "failed", "queued", "failed"]
    assert data["messages"][2]["error"]["details"][0]["field"] == "variables.name"
    assert data["messages"][4]["error"]["details"][0]["field"] == "template_id"
    assert parsed == ["For {{ name }}"]  # one parse for the batch

    received = {r.rcpt_tos[0]: r.message for r in await smtp.wait_for(3)}
    assert received["a@example.com"]["Subject"] == "For A&"
    assert "<b>A&amp;</b>" in received["a@example.com"].get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert received["d@example.com"]["Subject"] == "Own"
    first = await wait_for_status(db, data["messages"][0]["message_id"], "sent")
    assert first.get("template") == {"id": made["id"], "version": 1}
    own = await wait_for_status(db, data["messages"][3]["message_id"], "sent")
    assert "template" not in own


async def test_a_resend_keeps_the_template_version_and_the_unsubscribe_choice(
    api: httpx.AsyncClient, tenant: Tenant, smtp: SmtpServer, db: Database
) -> None:
    made = await create(api, tenant, subject="Hi", html="<p>{{ name }}</p>", text=None)
    smtp.handler.fail_next.append("554 5.7.1 Message rejected")
    refused = await api.post(
        "/api/v1/mail/send",
        json={
            "to": "ann@example.com",
            "template_id": "order",
            "variables": {"name": "Ann"},
            "unsubscribe": True,
        },
        headers=tenant.headers,
    )
    assert refused.status_code == 500, refused.text
    failed = refused.json()["error"]["details"]["message_id"]
    path = f"/api/v1/mail/messages/{urllib.parse.quote(failed, safe='')}/resend"
    resent = await api.post(path, headers=tenant.headers)
    assert resent.status_code == 202, resent.text
    again = await wait_for_status(db, resent.json()["data"]["message_id"], "sent")
    assert again.get("template") == {"id": made["id"], "version": 1}
    assert again.get("unsubscribe") is True
    [received] = await smtp.wait_for(1)
    assert "List-Unsubscribe" in received.message
