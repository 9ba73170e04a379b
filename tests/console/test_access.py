"""Who gets into the console, and for how long: API keys with the console permission,
one-time links, the session cookie, sign-out and revocation, and the sign-in limit."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import httpx

from mailpass_common.platform.db import Collections, Database
from mailpass_common.tenants import api_keys, console_auth
from mailpass_common.tenants.api_keys import Permission
from tests.admin.test_cli import mailpass
from tests.console.support import csrf_token, post_form, sign_in
from tests.support.stack import running_gateway
from tests.support.tenants import make_account
from tests.tracking.support import client_from


async def owner_key(db: Database, name: str = "acme", *permissions: str, test: bool = False) -> str:
    account_id = await make_account(db, name)
    chosen = permissions or tuple(Permission)
    return (await api_keys.create_api_key(db, account_id, chosen, test=test)).key


async def test_a_key_with_the_console_permission_opens_a_server_side_session(
    console: httpx.AsyncClient, db: Database
) -> None:
    key = await owner_key(db)
    planted = "planted-by-someone-else"
    console.cookies.set("mailpass_console", planted, domain="127.0.0.1", path="/")
    signed_in = await sign_in(console, key)
    assert signed_in.status_code == 303 and signed_in.headers["location"] == "/console/overview"
    cookie = signed_in.headers["set-cookie"]
    assert cookie.startswith("mailpass_console=")
    for attribute in ("HttpOnly", "SameSite=strict", "Path=/"):
        assert attribute.lower() in cookie.lower(), cookie
    assert "secure" not in cookie.lower()  # development serves plain http
    token = cookie.split(";", 1)[0].split("=", 1)[1]
    assert token != planted  # a new session, never one from before
    assert await console_auth.find_session(db, token) is not None
    assert (await console.get("/console/overview")).status_code == 200

    # Signing out ends the session on the server: the old cookie opens nothing.
    signed_out = await post_form(console, "/console/overview", "/console/sign-out")
    assert signed_out.status_code == 303
    assert await console_auth.find_session(db, token) is None
    console.cookies.clear()
    console.cookies.set("mailpass_console", token, domain="127.0.0.1", path="/")
    again = await console.get("/console/overview")
    assert again.status_code == 303 and again.headers["location"].startswith("/console/sign-in")


async def test_sign_in_goes_on_to_the_page_asked_for_and_never_to_another_site(
    console: httpx.AsyncClient, db: Database
) -> None:
    key = await owner_key(db)
    asked = await console.get("/console/keys?x=1")
    assert asked.status_code == 303
    assert asked.headers["location"] == "/console/sign-in?next=%2Fconsole%2Fkeys%3Fx%3D1"
    for target, expected in (
        ("/console/keys?x=1", "/console/keys?x=1"),
        ("https://evil.example/console/", "/console/overview"),
        ("//evil.example/console/", "/console/overview"),
        ("/console/\\evil.example", "/console/overview"),
    ):
        page = await console.get("/console/sign-in", params={"next": target})
        done = await console.post(
            "/console/sign-in",
            data={"csrf_token": csrf_token(page), "api_key": key, "next": target},
        )
        assert done.headers["location"] == expected, target


async def test_keys_without_the_permission_or_revoked_do_not_sign_in(
    console: httpx.AsyncClient, db: Database
) -> None:
    mailer = await owner_key(db, "acme", Permission.MAIL)
    refused = await sign_in(console, mailer)
    assert refused.status_code == 403 and "lacks the &#39;console&#39; permission" in refused.text
    unknown = await sign_in(console, "mp_live_" + "x" * 32)
    assert unknown.status_code == 401 and "Invalid or revoked API key" in unknown.text
    assert "mailpass_console" not in console.cookies
    assert await db[Collections.CONSOLE_SESSIONS].find_one({}) is None


async def test_revoking_the_key_ends_the_sessions_it_opened(
    console: httpx.AsyncClient, db: Database
) -> None:
    key = await owner_key(db)
    await sign_in(console, key)
    record = await api_keys.authenticate(db, key)
    assert record is not None
    doc = await db[Collections.API_KEYS].find_one({"_id": record.key_hash})
    assert doc is not None
    await api_keys.revoke_api_key(db, record.account_id, doc["id"])
    ended = await console.get("/console/messages")
    assert ended.status_code == 303
    assert (
        ended.headers["location"]
        == "/console/sign-in?next=%2Fconsole%2Fmessages&notice=session-ended"
    )
    assert await db[Collections.CONSOLE_SESSIONS].find_one({}) is None


async def test_the_cookie_is_secure_with_a_host_prefix_outside_development(
    service_env: dict[str, Any], db: Database
) -> None:
    key = await owner_key(db)
    async with running_gateway(service_env, console_cookie_secure=True) as client:
        page = await client.get("/console/sign-in")
        signin_cookie = page.headers["set-cookie"]
        assert "secure" in signin_cookie.lower()
        # Plain http here: the client would not send a Secure cookie back by itself.
        signed_in = await client.post(
            "/console/sign-in",
            data={"csrf_token": csrf_token(page), "api_key": key},
            headers={"Cookie": signin_cookie.split(";", 1)[0]},
        )
    assert signed_in.status_code == 303, signed_in.text
    cookie = signed_in.headers["set-cookie"]
    assert cookie.startswith("__Host-mailpass_console=") and "secure" in cookie.lower()
    assert "domain=" not in cookie.lower() and "path=/;" in cookie.lower()


async def test_a_one_time_link_signs_in_once_and_only_by_its_button(
    console: httpx.AsyncClient, db: Database, service_env: dict[str, Any]
) -> None:
    await make_account(db, "acme")
    made = await mailpass(
        service_env, "console-link", "--account", "acme", "--base-url", str(console.base_url)
    )
    assert made.code == 0, made.err
    url = made.out.strip().splitlines()[-1]
    assert re.fullmatch(rf"{re.escape(str(console.base_url))}/console/link/[\w-]{{40,}}", url)
    path = url.removeprefix(str(console.base_url))

    # Opening the link (as a mail client's preview would) spends nothing.
    for _ in range(2):
        page = await console.get(path)
        assert page.status_code == 200 and "Sign in to acme" in page.text
        assert page.headers["referrer-policy"] == "no-referrer"
    used = await console.post(path, data={"csrf_token": csrf_token(page)})
    assert used.status_code == 303 and used.headers["location"] == "/console/overview"
    assert (await console.get("/console/keys")).status_code == 200  # a whole live console

    spent = await console.post(path, data={"csrf_token": csrf_token(page)})
    assert spent.status_code == 404 and "used already or has expired" in spent.text
    assert (await console.get(path)).status_code == 404

    account = await db[Collections.ACCOUNTS].find_one({"name": "acme"})
    assert account is not None
    stale = await console_auth.create_link(db, account["_id"], lifetime=timedelta(seconds=-1))
    assert (await console.get(f"/console/link/{stale}")).status_code == 404
    unknown = await mailpass(service_env, "console-link", "--account", "nobody")
    assert unknown.code == 1 and "unknown account" in unknown.err


async def test_console_sessions_can_be_listed_and_ended_by_an_operator(
    console: httpx.AsyncClient, db: Database, service_env: dict[str, Any]
) -> None:
    key = await owner_key(db)
    await sign_in(console, key)
    listed = await mailpass(service_env, "console-sessions", "--account", "acme")
    assert listed.code == 0 and f"\tkey\t{key[:12]}\tlive" in listed.out
    ended = await mailpass(service_env, "console-sessions", "--account", "acme", "--revoke")
    assert ended.code == 0 and "ended 1 console session" in ended.out
    assert (await console.get("/console/overview")).status_code == 303


async def test_sign_in_attempts_are_limited_per_client_address(
    console: httpx.AsyncClient, db: Database
) -> None:
    key = await owner_key(db)
    for _ in range(5):  # the fixture allows 5 a window
        assert (await sign_in(console, "mp_live_wrong")).status_code == 401
    limited = await sign_in(console, key)  # even the right key waits now
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) > 0
    assert "Too many sign-in attempts" in limited.text

    # Another address is counted apart.
    async with client_from("127.0.0.2", str(console.base_url)) as other:
        assert (await sign_in(other, key)).status_code == 303
