"""The console's pages over HTTP: provider forms validated as the API validates, secrets
write-only, the provider's own replies, a message's timeline and next retry, resending,
the sandbox inbox, and the security headers of every page."""

from __future__ import annotations

import re
import urllib.parse
from datetime import datetime
from typing import Any

import httpx
import pytest

from mailpass_common.platform.db import Collections, Database
from mailpass_common.tenants import api_keys
from mailpass_common.tenants.api_keys import Permission
from tests.admin.support import SMTP_PASSWORD, SMTP_USER, AuthSmtpServer
from tests.console.support import post_form, sign_in
from tests.console.test_isolation import page_of, send
from tests.support.smtp import SmtpServer
from tests.support.tenants import Tenant, cipher, make_admin, make_tenant

pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")

SMTP_FORM = {
    "name": "relay",
    "from_email": "noreply@acme.example.com",
    "config.host": "127.0.0.1",
    "config.security": "none",
    "config.verify_tls": "on",
}


async def test_a_provider_form_is_validated_as_the_api_validates_it(
    console: httpx.AsyncClient, db: Database
) -> None:
    acme = await make_admin(db, "acme")
    await sign_in(console, acme.key)
    page = "/console/providers/new/smtp"
    bad = await post_form(
        console,
        page,
        page,
        **{**SMTP_FORM, "name": "-bad name", "config.port": "70000", "hourly_limit": "0"},
        **{"config.password": "s3cret"},
    )
    assert bad.status_code == 400
    errors = dict(re.findall(r'<li><a href="#f-([\w-]+)">[^<]+</a>: ([^<]+)</li>', bad.text))
    assert set(errors) == {"name", "hourly_limit", "config-port"}
    assert "less than or equal to 65535" in errors["config-port"]
    assert 'aria-invalid="true"' in bad.text and "s3cret" not in bad.text  # secrets never echo
    assert 'value="-bad name"' in bad.text  # what was typed stays
    no_user = await post_form(console, page, page, **SMTP_FORM, **{"config.password": "s3cret"})
    assert no_user.status_code == 400
    assert "<li>password given without username</li>" in no_user.text  # the model's own rule
    assert await db[Collections.PROVIDERS].find_one({}) is None

    unknown = await console.get("/console/providers/new/pigeon")
    assert unknown.status_code == 404


async def test_secrets_are_write_only_and_a_check_shows_the_providers_reply(
    console: httpx.AsyncClient,
    db: Database,
    service_env: dict[str, Any],
    auth_smtp: AuthSmtpServer,
) -> None:
    acme = await make_admin(db, "acme")
    await sign_in(console, acme.key)
    page = "/console/providers/new/smtp"
    fields = {
        **SMTP_FORM,
        "config.port": str(auth_smtp.port),
        "config.username": SMTP_USER,
        "config.password": "wrong-password",
        "is_default": "on",
    }
    added = await post_form(console, page, page, **fields)
    assert added.status_code == 303, added.text
    stored = await db[Collections.PROVIDERS].find_one({"name": "relay"})
    assert stored is not None and stored["is_default"]
    assert cipher(service_env).decrypt(stored["secret"]) == {"password": "wrong-password"}
    provider = stored["_id"]

    edit = await console.get(f"/console/providers/{provider}/edit")
    assert "wrong-password" not in edit.text and "Stored: leave empty to keep it" in edit.text

    tested = await post_form(console, "/console/providers", f"/console/providers/{provider}/test")
    assert tested.status_code == 303
    listing = await console.get("/console/providers")
    reply = re.search(r'<pre class="reply"[^>]*>([^<]+)</pre>', listing.text)
    assert reply and reply.group(1).startswith("535") and "Refused" in listing.text

    # An edit with the secret left empty keeps it; a new one replaces it.
    kept = await post_form(
        console,
        f"/console/providers/{provider}/edit",
        f"/console/providers/{provider}/edit",
        **{**fields, "config.password": "", "hourly_limit": "50"},
    )
    assert kept.status_code == 303, kept.text
    stored = await db[Collections.PROVIDERS].find_one({"_id": provider})
    assert stored is not None and stored["hourly_limit"] == 50
    assert cipher(service_env).decrypt(stored["secret"]) == {"password": "wrong-password"}
    await post_form(
        console,
        f"/console/providers/{provider}/edit",
        f"/console/providers/{provider}/edit",
        **{**fields, "config.password": SMTP_PASSWORD, "hourly_limit": "50"},
    )
    await post_form(console, "/console/providers", f"/console/providers/{provider}/test")
    listing = await console.get("/console/providers")
    assert "connected and authenticated" in listing.text and "535" not in listing.text
    assert auth_smtp.received == []

    # Delete asks first; then the provider is gone.
    confirm = await console.get(f"/console/providers/{provider}/delete")
    assert "It is the default provider" in confirm.text
    await post_form(
        console, f"/console/providers/{provider}/delete", f"/console/providers/{provider}/delete"
    )
    assert await db[Collections.PROVIDERS].find_one({"_id": provider}) is None


async def test_a_failed_message_shows_the_reply_and_is_resent_from_its_page(
    console: httpx.AsyncClient, db: Database, service_env: dict[str, Any], smtp: SmtpServer
) -> None:
    acme = await make_tenant(
        db, service_env, "acme", smtp_port=smtp.port, permissions=tuple(Permission)
    )
    smtp.handler.fail_next.append("550 5.1.1 <ann@example.com>: Recipient address rejected")
    failed = await send(console, acme, "Your receipt")
    await sign_in(console, acme.key)
    page = await console.get(page_of(failed))
    assert page.status_code == 200
    assert "550 5.1.1 &lt;ann@example.com&gt;: Recipient address rejected" in page.text
    assert ">Resend</button>" in page.text

    resent = await post_form(console, page_of(failed), page_of(failed) + "/resend")
    assert resent.status_code == 303
    new_page = await console.get(resent.headers["location"])
    assert (
        "Resend of" in new_page.text
        and urllib.parse.quote(failed.strip("<>"), safe="@") in new_page.text
    )
    old_page = await console.get(page_of(failed))
    assert "Resent as" in old_page.text and ">Resend</button>" not in old_page.text
    await smtp.wait_for(1)


async def test_a_deferred_message_shows_its_next_attempt(
    console: httpx.AsyncClient, db: Database, service_env: dict[str, Any], smtp: SmtpServer
) -> None:
    acme = await make_tenant(
        db, service_env, "acme", smtp_port=smtp.port, permissions=tuple(Permission)
    )
    smtp.handler.fail_next.append("451 4.3.0 Try again later")
    deferred = await send(console, acme, "Later")
    await sign_in(console, acme.key)
    page = await console.get(page_of(deferred))
    doc = await db[Collections.MESSAGES].find_one({"_id": deferred})
    event = await db[Collections.EVENTS].find_one({"message_id": deferred})
    assert doc is not None and event is not None and doc["status"] == "deferred"
    expected = doc["updated_at"].timestamp() + event["retry_in_seconds"]
    shown = re.search(r'Next attempt at <time datetime="([^"]+)"', page.text)
    assert shown, page.text
    assert abs(datetime.fromisoformat(shown.group(1)).timestamp() - expected) <= 1
    assert "451 4.3.0 Try again later" in page.text and "Attempt 1" in page.text


async def test_message_filters_pages_and_the_sandbox_inbox(
    console: httpx.AsyncClient,
    db: Database,
    service_env: dict[str, Any],
    smtp: SmtpServer,
    sandbox: SmtpServer,
) -> None:
    acme = await make_tenant(
        db, service_env, "acme", smtp_port=smtp.port, permissions=tuple(Permission)
    )
    tester = Tenant(
        acme.account_id,
        (await api_keys.create_api_key(db, acme.account_id, [Permission.MAIL], test=True)).key,
    )
    for n in range(3):
        await send(console, acme, f"Live {n}")
    await send(console, tester, "Sandboxed hello")
    await sign_in(console, acme.key)

    everything = await console.get("/console/messages")
    assert all(f"Live {n}" in everything.text for n in range(3))
    assert "Sandboxed hello" not in everything.text  # test mail is in the sandbox inbox
    bad = await console.get("/console/messages", params={"to": "not an address"})
    assert bad.status_code == 200 and "The filters are not right" in bad.text
    none = await console.get("/console/messages", params={"status": "failed"})
    assert "No message matches these filters" in none.text

    from mailpass_gateway.console.views import messages as message_views

    original = message_views.PAGE_SIZE
    message_views.PAGE_SIZE = 2
    try:
        first = await console.get("/console/messages")
        older = re.search(r'href="(/console/messages\?[^"]*cursor=[^"]+)" rel="next"', first.text)
        assert older, first.text
        second = await console.get(older.group(1).replace("&amp;", "&"))
    finally:
        message_views.PAGE_SIZE = original
    shown = re.findall(r">(Live \d)</a>", first.text + second.text)
    assert sorted(shown) == ["Live 0", "Live 1", "Live 2"]

    inbox = await console.get("/console/sandbox")
    assert "Sandboxed hello" in inbox.text and "Live 0" not in inbox.text
    assert 'sandbox="" title=' in inbox.text  # rendered in a sandboxed frame


async def test_every_page_carries_the_security_headers(
    console: httpx.AsyncClient, db: Database, service_env: dict[str, Any], smtp: SmtpServer
) -> None:
    acme = await make_tenant(
        db, service_env, "acme", smtp_port=smtp.port, permissions=tuple(Permission)
    )
    message = await send(console, acme, "Headers")
    signin = await console.get("/console/sign-in")
    await sign_in(console, acme.key)
    for response in (
        signin,
        await console.get("/console/overview"),
        await console.get("/console/nope"),
    ):
        csp = response.headers["content-security-policy"]
        assert "unsafe-inline" not in csp and "script-src 'self'" in csp
        assert "frame-ancestors 'none'" in csp and "default-src 'none'" in csp
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["cache-control"] == "no-store"
        assert response.headers["x-content-type-options"] == "nosniff"
    html = await console.get(page_of(message) + "/html")
    csp = html.headers["content-security-policy"]
    assert "sandbox" in csp and "script-src" not in csp and "img-src data:;" in csp
    assert html.headers["x-frame-options"] == "SAMEORIGIN" and html.text == "<p>Hi</p>"
    with_images = await console.get(page_of(message) + "/html", params={"images": "true"})
    assert "img-src data: https: http:" in with_images.headers["content-security-policy"]
    script = await console.get("/console/static/console.js")
    assert script.status_code == 200 and script.headers["cache-control"] == "no-cache"
    assert (await console.get("/console/nope")).status_code == 404


def test_the_keys_page_explains_every_permission() -> None:
    """A permission added to the API and not to the keys page would make it answer 500."""
    from mailpass_common.tenants.api_keys import Permission
    from mailpass_gateway.console.views.keys import PERMISSION_HELP

    assert set(PERMISSION_HELP) == set(Permission)
