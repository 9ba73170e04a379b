"""Attachments through the API: stored apart from the message, sent as MIME parts,
sanitised, executables refused, the size capped; against the real gateway, sender, broker
and database."""

from __future__ import annotations

import base64
import os
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import httpx

from mailpass_common.messages import attachment_store as bodies
from mailpass_common.platform.db import Collections, Database
from tests.support.smtp import SmtpServer
from tests.support.stack import running_gateway
from tests.support.tenants import Tenant

SEND = "/api/v1/mail/send"
BATCH = "/api/v1/mail/send-batch"
REPORT = b"%PDF-1.4\n" + os.urandom(3 * 1024 * 1024)  # three chunks and a bit
LOGO = b"\x89PNG\r\n\x1a\n" + os.urandom(2000)


def _file(filename: str, data: bytes, content_type: str, **extra: Any) -> dict[str, Any]:
    return {
        "filename": filename,
        "content": base64.b64encode(data).decode(),
        "content_type": content_type,
        **extra,
    }


def _mail(*files: dict[str, Any], to: str = "ann@example.com") -> dict[str, Any]:
    return {
        "to": to,
        "subject": "Report",
        "html": '<p>See attached</p><img src="cid:logo">',
        "attachments": list(files),
    }


async def test_files_are_stored_apart_and_sent_as_mime_parts(
    api: httpx.AsyncClient, tenant: Tenant, smtp: SmtpServer, db: Database
) -> None:
    body = _mail(
        _file("../../reports/Q3 <final>.pdf", REPORT, "application/PDF"),
        _file("logo.png", LOGO, "image/png", content_id="<logo>"),
    )
    response = await api.post(SEND, json=body, headers=tenant.headers)
    assert response.status_code == 200, response.text
    message_id = response.json()["data"]["message_id"]

    doc = await db[Collections.MESSAGES].find_one({"_id": message_id})
    assert doc is not None and doc["body_chunks"] == 4
    assert [
        (a["filename"], a["content_type"], a["content_id"], a["size"]) for a in doc["attachments"]
    ] == [
        ("Q3 _final_.pdf", "application/pdf", None, len(REPORT)),
        ("logo.png", "image/png", "logo", len(LOGO)),
    ]
    assert all("content" not in a for a in doc["attachments"])  # descriptions only
    assert await bodies.load(db, message_id, 4) == REPORT + LOGO

    [received] = await smtp.wait_for(1)
    mime = message_from_bytes(received.data, policy=policy.default)
    assert isinstance(mime, EmailMessage)
    assert mime.get_content_type() == "multipart/mixed"
    related, report = mime.iter_parts()
    html, logo = related.iter_parts()
    assert 'src="cid:logo"' in html.get_content()
    assert logo["Content-ID"] == "<logo>" and logo.get_content() == LOGO
    assert report.get_filename() == "Q3 _final_.pdf" and report.get_content() == REPORT


async def test_executables_are_refused_by_name_type_or_content(
    api: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    for given, reason in (
        (_file("setup.EXE", b"hello", "application/octet-stream"), ".exe extension"),
        (_file("tool", b"hello", "application/x-msdownload"), "application/x-msdownload"),
        (_file("invoice.pdf", b"MZ\x90\x00" + b"\x00" * 60, "application/pdf"), "Windows program"),
    ):
        response = await api.post(SEND, json=_mail(given), headers=tenant.headers)
        assert response.status_code == 400, response.text
        error = response.json()["error"]
        assert error["code"] == "ATTACHMENT_REFUSED", error
        assert error["details"]["reason"] == "executable" and reason in error["message"]
    assert await db[Collections.MESSAGES].find_one({"account_id": tenant.account_id}) is None
    assert await db[Collections.MESSAGE_BODIES].find_one({}) is None


async def test_content_must_be_base64(api: httpx.AsyncClient, tenant: Tenant) -> None:
    bad = {"filename": "a.txt", "content": "not base64!", "content_type": "text/plain"}
    response = await api.post(SEND, json=_mail(bad), headers=tenant.headers)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert error["details"][0]["field"] == "attachments.0.content"


async def test_the_encoded_message_is_capped(
    tenant: Tenant, service_env: dict[str, Any], smtp: SmtpServer
) -> None:
    async with running_gateway(service_env, max_message_bytes=200_000) as api:
        big = _file("data.bin", os.urandom(150_000), "application/octet-stream")
        response = await api.post(SEND, json=_mail(big), headers=tenant.headers)
        assert response.status_code == 413, response.text
        error = response.json()["error"]
        assert error["code"] == "MESSAGE_TOO_LARGE"
        assert error["details"]["max_bytes"] == 200_000
        assert error["details"]["size_bytes"] > 200_000

        batch = {"messages": [_mail(big, to="a@example.com"), _mail(to="b@example.com")]}
        response = await api.post(BATCH, json=batch, headers=tenant.headers)
        assert response.status_code == 200, response.text
        failed, queued = response.json()["data"]["messages"]
        assert failed["error"]["code"] == "MESSAGE_TOO_LARGE" and queued["status"] == "queued"
