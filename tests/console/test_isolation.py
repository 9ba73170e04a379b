"""What a console session may touch: forms need their CSRF token, another account's ids
are not there, a test key's session sees test data only, and a key's permissions bound
what its session may change."""

from __future__ import annotations

import urllib.parse
from typing import Any

import httpx

from mailpass_common.platform.db import Collections, Database
from mailpass_common.tenants import api_keys
from mailpass_common.tenants.api_keys import Permission
from tests.console.support import csrf_token, post_form, sign_in
from tests.support.smtp import SmtpServer
from tests.support.tenants import Tenant, make_tenant


def page_of(message_id: str) -> str:
    return "/console/messages/" + urllib.parse.quote(message_id.strip("<>"), safe="@")


async def send(client: httpx.AsyncClient, tenant: Tenant, subject: str) -> str:
    body = {"to": "ann@example.com", "subject": subject, "html": "<p>Hi</p>"}
    sent = await client.post("/api/v1/mail/send", json=body, headers=tenant.headers)
    assert sent.status_code in (200, 202, 500), sent.text
    data = sent.json()
    return str(
        data["data"]["message_id"] if data["success"] else data["error"]["details"]["message_id"]
    )


async def test_posts_without_the_sessions_csrf_token_change_nothing(
    console: httpx.AsyncClient, db: Database, service_env: dict[str, Any], smtp: SmtpServer
) -> None:
    acme = await make_tenant(
        db, service_env, "acme", smtp_port=smtp.port, permissions=tuple(Permission)
    )
    other = await make_tenant(db, service_env, "other", smtp_port=smtp.port)
    assert acme.provider is not None
    spare = await db[Collections.PROVIDERS].insert_one(
        {**acme.provider, "_id": "prv_spare", "name": "spare", "is_default": False}
    )
    await sign_in(console, acme.key)
    own_token = csrf_token(await console.get("/console/keys"))

    # Another session's token (of another account, signed in elsewhere) is no token.
    async with httpx.AsyncClient(base_url=str(console.base_url)) as elsewhere:
        await sign_in(
            elsewhere,
            (await api_keys.create_api_key(db, other.account_id, [Permission.CONSOLE])).key,
        )
        foreign_token = csrf_token(await elsewhere.get("/console/overview"))

    attempts = [
        ("/console/keys", {"name": "sneaky", "permissions": "mail", "mode": "live"}),
        (f"/console/providers/{spare.inserted_id}/default", {}),
        (f"/console/providers/{spare.inserted_id}/delete", {}),
        ("/console/sign-out", {}),
    ]
    for path, fields in attempts:
        for token in (None, "", "forged", foreign_token):
            data = fields if token is None else {**fields, "csrf_token": token}
            refused = await console.post(path, data=data)
            assert refused.status_code == 403, (path, token, refused.status_code)
            assert "CSRF_INVALID" in refused.text
    # A post the browser marks cross-site is refused even with the right token.
    cross = await console.post(
        "/console/keys",
        data={"csrf_token": own_token, "name": "x", "permissions": "mail"},
        headers={"Sec-Fetch-Site": "cross-site"},
    )
    assert cross.status_code == 403 and "CSRF_INVALID" in cross.text
    # The sign-in form has a token of its own, tied to its cookie.
    console.cookies.delete("mailpass_console_signin")
    login = await console.post("/console/sign-in", data={"csrf_token": "x", "api_key": acme.key})
    assert login.status_code == 403

    assert await db[Collections.API_KEYS].find_one({"name": "sneaky"}) is None
    spare_doc = await db[Collections.PROVIDERS].find_one({"_id": "prv_spare"})
    assert spare_doc is not None and not spare_doc["is_default"]
    assert (await console.get("/console/overview")).status_code == 200  # still signed in


async def test_another_accounts_ids_are_not_there(
    console: httpx.AsyncClient, db: Database, service_env: dict[str, Any], smtp: SmtpServer
) -> None:
    acme = await make_tenant(
        db, service_env, "acme", smtp_port=smtp.port, permissions=tuple(Permission)
    )
    other = await make_tenant(db, service_env, "other", smtp_port=smtp.port)
    assert other.provider is not None
    smtp.handler.fail_next.append("550 5.1.1 <ann@example.com>: Recipient address rejected")
    theirs = await send(console, other, "Their receipt")
    their_key = await api_keys.create_api_key(
        db, other.account_id, [Permission.MAIL], name="theirs"
    )
    await sign_in(console, acme.key)
    token = csrf_token(await console.get("/console/overview"))
    provider = other.provider["_id"]

    for path in (
        page_of(theirs),
        page_of(theirs) + "/html",
        f"/console/providers/{provider}/edit",
        f"/console/providers/{provider}/delete",
        f"/console/keys/{their_key.id}/revoke",
    ):
        page = await console.get(path)
        assert page.status_code == 404, path
        assert "NOT_FOUND" in page.text and "Their receipt" not in page.text
    for path, fields in (
        (page_of(theirs) + "/resend", {}),
        (f"/console/providers/{provider}/test", {}),
        (f"/console/providers/{provider}/default", {}),
        (f"/console/providers/{provider}/delete", {}),
        (f"/console/providers/{provider}/edit", {"name": "mine-now"}),
        (f"/console/keys/{their_key.id}/revoke", {}),
    ):
        refused = await console.post(path, data={"csrf_token": token, **fields})
        assert refused.status_code == 404, (path, refused.status_code)

    stored = await db[Collections.PROVIDERS].find_one({"_id": provider})
    assert stored is not None and stored["name"] == "local" and "last_check_at" not in stored
    assert await api_keys.authenticate(db, their_key.key) is not None
    message = await db[Collections.MESSAGES].find_one({"_id": theirs})
    assert message is not None and "resent_as" not in message
    listing = await console.get("/console/messages")
    assert "Their receipt" not in listing.text


async def test_a_test_keys_session_sees_and_touches_test_data_only(
    console: httpx.AsyncClient, db: Database, service_env: dict[str, Any], smtp: SmtpServer
) -> None:
    acme = await make_tenant(db, service_env, "acme", smtp_port=smtp.port)
    assert acme.provider is not None
    live_message = await send(console, acme, "A live receipt")
    tester = await api_keys.create_api_key(
        db,
        acme.account_id,
        [Permission.MAIL, Permission.KEYS, Permission.CONSOLE],
        test=True,
        name="tester",
    )
    test_sender = Tenant(acme.account_id, tester.key)
    test_message = await send(console, test_sender, "A test receipt")
    live_key = await api_keys.create_api_key(
        db, acme.account_id, [Permission.MAIL], name="live-one"
    )

    await sign_in(console, tester.key)
    messages = await console.get("/console/messages")
    assert "A test receipt" in messages.text and "A live receipt" not in messages.text
    assert (await console.get(page_of(live_message))).status_code == 404
    assert (await console.get(page_of(test_message))).status_code == 200
    providers = await console.get("/console/providers")
    assert acme.provider["name"] not in providers.text and "Test mode" in providers.text
    assert (await console.get(f"/console/providers/{acme.provider['_id']}/edit")).status_code == 403
    keys = await console.get("/console/keys")
    assert "tester" in keys.text and "live-one" not in keys.text
    assert 'value="live"' not in keys.text  # no live mode to choose
    assert (await console.get(f"/console/keys/{live_key.id}/revoke")).status_code == 404

    live = await post_form(
        console, "/console/keys", "/console/keys", name="escalate", permissions="mail", mode="live"
    )
    assert live.status_code == 403
    created = await post_form(
        console, "/console/keys", "/console/keys", name="fine", permissions="mail", mode="test"
    )
    assert created.status_code == 201 and "mp_test_" in created.text
    assert await db[Collections.API_KEYS].find_one({"name": "escalate"}) is None
    overview = await console.get("/console/overview")
    assert overview.status_code == 200 and "test mail" in overview.text


async def test_a_session_does_what_its_key_may_and_nothing_more(
    console: httpx.AsyncClient, db: Database, service_env: dict[str, Any], smtp: SmtpServer
) -> None:
    acme = await make_tenant(
        db,
        service_env,
        "acme",
        smtp_port=smtp.port,
        permissions=(Permission.CONSOLE, Permission.KEYS),
    )
    assert acme.provider is not None
    await sign_in(console, acme.key)
    providers = await console.get("/console/providers")
    assert providers.status_code == 200 and acme.provider["name"] in providers.text
    assert (
        "Send test" not in providers.text and "lacks the <code>providers</code>" in providers.text
    )
    token = csrf_token(providers)
    for path in (
        f"/console/providers/{acme.provider['_id']}/default",
        f"/console/providers/{acme.provider['_id']}/test",
    ):
        refused = await console.post(path, data={"csrf_token": token})
        assert refused.status_code == 403 and "FORBIDDEN" in refused.text
    # It grants only what it has.
    beyond = await console.post(
        "/console/keys",
        data={"csrf_token": token, "name": "more", "permissions": ["keys", "providers"]},
    )
    assert (
        beyond.status_code == 403 and "cannot grant permissions it lacks: providers" in beyond.text
    )
    keys = await console.get("/console/keys")
    assert 'value="providers"' not in keys.text and 'value="keys"' in keys.text
