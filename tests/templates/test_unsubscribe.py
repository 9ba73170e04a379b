"""One-click unsubscribe end to end: the gateway and sender put RFC 8058's headers in the
delivered message (a real SMTP capture), the real tracker serves the link, a POST
suppresses the recipient at once with an ``unsubscribed`` webhook event, a GET changes
nothing, and the next send to the address is refused."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote, urlsplit

import httpx

from mailpass_common.platform.db import Collections, Database
from mailpass_common.platform.settings import CommonSettings
from mailpass_common.suppressions import service as suppressions
from mailpass_common.tenants import accounts
from mailpass_common.unsubscribe.links import UnsubscribeLink, UnsubscribeSigner
from mailpass_common.webhooks import endpoints
from tests.support.smtp import SmtpServer
from tests.support.tenants import Tenant, cipher
from tests.templates.conftest import TRACKER
from tests.templates.test_templates_api import create
from tests.tracking.support import StallingProxy, running_tracker

FOOTER = '<p>Hi</p><a href="{{ unsubscribe_url }}">Unsubscribe</a>'


def _forged(path: str) -> str:
    """The path with one character of its token's tag changed (always a different token)."""
    head, char, tail = path[:-8], path[-8], path[-7:]
    return head + ("B" if char != "B" else "C") + tail


def _path(url: str) -> str:
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}" == TRACKER
    return parts.path


async def test_one_click_unsubscribe_from_header_to_suppression(
    api: httpx.AsyncClient,
    tenant: Tenant,
    smtp: SmtpServer,
    db: Database,
    service_env: dict[str, Any],
) -> None:
    await endpoints.create_endpoint(
        db,
        cipher(service_env),
        account_id=tenant.account_id,
        url="https://hooks.example.com/x",
        events=["unsubscribed"],
        sandbox=False,
        limit=20,
    )
    await create(api, tenant, subject="News", html=FOOTER, text=None)
    sent = await api.post(
        "/api/v1/mail/send",
        json={"to": "Ann@Example.com", "template_id": "order", "unsubscribe": True},
        headers=tenant.headers,
    )
    assert sent.status_code == 200, sent.text
    message_id = sent.json()["data"]["message_id"]
    [received] = await smtp.wait_for(1)
    message = received.message
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    https, mailto = (uri.strip().strip("<>") for uri in str(message["List-Unsubscribe"]).split(","))
    assert https.startswith(f"{TRACKER}/t/unsubscribe/")
    token = _path(https).rsplit("/", 1)[1]
    assert mailto == f"mailto:unsubscribe@mail.acme.test?subject=unsubscribe%20{token}"
    assert unquote(mailto.split("subject=")[1]) == f"unsubscribe {token}"
    # The footer link of the template is the same signed link (not click-tracked).
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert f'href="{https}"' in html
    # Both headers are in the header block the message was delivered with (what DKIM signs).
    head = received.data.split(b"\r\n\r\n", 1)[0]
    assert b"\r\nList-Unsubscribe: <https://" in head
    assert b"\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click" in head

    async with running_tracker(service_env) as tracker, httpx.AsyncClient(base_url=tracker) as web:
        page = await web.get(_path(https))
        assert page.status_code == 200
        assert 'name="List-Unsubscribe" value="One-Click"' in page.text
        assert "ann@example.com" in page.text
        assert await suppressions.get(db, tenant.account_id, "ann@example.com") is None

        refused = await web.post(_path(https), content=b"List-Unsubscribe=Maybe")
        assert refused.status_code == 400
        forged = await web.post(_forged(_path(https)), data={"List-Unsubscribe": "One-Click"})
        assert forged.status_code == 404
        assert await suppressions.get(db, tenant.account_id, "ann@example.com") is None

        done = await web.post(
            _path(https),
            content=b"List-Unsubscribe=One-Click",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert done.status_code == 200, done.text
        entry = await suppressions.get(db, tenant.account_id, "ann@example.com")
        assert entry is not None
        assert (entry["reason"], entry["source"], entry["message_id"]) == (
            "unsubscribed",
            "unsubscribe",
            message_id,
        )
        again = await web.post(_path(https), data={"List-Unsubscribe": "One-Click"})
        assert again.status_code == 200

        # RFC 8058's preferred form: multipart/form-data (another recipient's link).
        settings = CommonSettings(**service_env)
        signer = UnsubscribeSigner(settings.secret_key.get_secret_value())
        other = signer.token(UnsubscribeLink(tenant.account_id, message_id, "bob@example.com"))
        multipart = await web.post(
            f"/t/unsubscribe/{other}", files={"List-Unsubscribe": (None, "One-Click")}
        )
        assert multipart.status_code == 200, multipart.text
        assert await suppressions.get(db, tenant.account_id, "bob@example.com") is not None
        too_big = await web.post(f"/t/unsubscribe/{other}", content=b"x" * 5000)
        assert too_big.status_code == 413

    [event] = await db[Collections.WEBHOOK_EVENTS].find({"type": "unsubscribed"}).to_list(1)
    assert event["account_id"] == tenant.account_id
    assert event["payload"]["data"]["address"] == "ann@example.com"
    assert event["payload"]["data"]["message_id"] == message_id
    assert await db[Collections.WEBHOOK_EVENTS].count_documents({"type": "unsubscribed"}) == 2

    listed = await api.get("/api/v1/suppressions?prefix=ann", headers=tenant.headers)
    assert listed.status_code == 200, listed.text
    assert [(s["address"], s["reason"]) for s in listed.json()["data"]["suppressions"]] == [
        ("ann@example.com", "unsubscribed")
    ]
    blocked = await api.post(
        "/api/v1/mail/send",
        json={"to": "ann@example.com", "subject": "x", "text": "y"},
        headers=tenant.headers,
    )
    assert blocked.status_code == 422
    assert blocked.json()["error"]["code"] == "RECIPIENT_SUPPRESSED"


async def test_the_account_default_adds_the_headers_and_a_message_can_opt_out(
    api: httpx.AsyncClient, tenant: Tenant, smtp: SmtpServer, db: Database
) -> None:
    await accounts.set_tracking(db, "acme", opens=None, clicks=None, unsubscribe=True)
    for to, unsubscribe in (("a@example.com", None), ("b@example.com", False)):
        body: dict[str, Any] = {"to": to, "subject": "s", "text": "t"}
        if unsubscribe is not None:
            body["unsubscribe"] = unsubscribe
        response = await api.post("/api/v1/mail/send", json=body, headers=tenant.headers)
        assert response.status_code == 200, response.text
    received = {r.rcpt_tos[0]: r.message for r in await smtp.wait_for(2)}
    assert "List-Unsubscribe" in received["a@example.com"]
    assert "List-Unsubscribe" not in received["b@example.com"]


async def test_a_database_out_of_reach_is_503_not_a_false_success(
    db: Database, service_env: dict[str, Any]
) -> None:
    signer = UnsubscribeSigner(CommonSettings(**service_env).secret_key.get_secret_value())
    token = signer.token(UnsubscribeLink("acc_a", "<m.1@x>", "ann@example.com"))
    one_click = {"List-Unsubscribe": "One-Click"}
    async with (
        StallingProxy(service_env["mongodb_url"]) as mongo,
        running_tracker(
            service_env, mongodb_url=mongo.url, tracker_write_timeout_seconds=1.0
        ) as tracker,
        httpx.AsyncClient(base_url=tracker, timeout=10) as web,
    ):
        mongo.pause()
        down = await web.post(f"/t/unsubscribe/{token}", data=one_click)
        assert down.status_code == 503
        mongo.resume()
        up = await web.post(f"/t/unsubscribe/{token}", data=one_click)
        assert up.status_code == 200
    assert await suppressions.get(db, "acc_a", "ann@example.com") is not None
