"""Signing in to the console through a real OpenID Connect provider (oidc-provider, run by
node): the authorization code flow with PKCE, discovery, the ID token verified; group
claims granting roles; an invitation accepted through the provider, in chromium."""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey
from playwright.async_api import Browser, expect

from mailpass_common.platform.db import Collections, Database
from mailpass_common.tenants import invitations, members, users
from mailpass_gateway.console.oidc import OidcClient, OidcError
from mailpass_gateway.settings import GatewaySettings
from tests.console.browser import DESKTOP, new_context
from tests.console.support import csrf_token
from tests.support.oidc import OidcProvider, running_oidc_provider
from tests.support.services import free_port
from tests.support.stack import running_gateway
from tests.support.tenants import make_account

PEOPLE = {
    "ada": {"email": "ada@example.test", "name": "Ada", "groups": ["mail-admins", "staff"]},
    "bob": {"email": "bob@example.test", "name": "Bob", "groups": ["staff"]},
    "carol": {"email": "carol@example.test", "name": "Carol", "groups": []},
}
GROUP_ROLES = "mail-admins=acme:admin,staff=globex:viewer"
HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)"')
FORM = re.compile(r'<form[^>]*action="([^"]+)"[^>]*method="post"', re.IGNORECASE)


@contextlib.asynccontextmanager
async def sso_console(
    service_env: dict[str, Any], **settings: Any
) -> AsyncIterator[tuple[httpx.AsyncClient, OidcProvider]]:
    port = free_port()
    issuer = OidcProvider(f"http://127.0.0.1:{port}")
    overrides = issuer.gateway_settings(console_oidc_group_roles=GROUP_ROLES, **settings)
    async with running_gateway(service_env, **overrides) as client:
        redirect = f"{client.base_url}".rstrip("/") + "/console/oidc/callback"
        with running_oidc_provider(redirect, PEOPLE, port) as provider:
            yield client, provider


async def sso_sign_in(
    client: httpx.AsyncClient,
    login: str,
    *,
    start: str = "/console/sign-in",
    field: dict[str, str] | None = None,
    before_callback: Callable[[], Awaitable[Any]] | None = None,
) -> httpx.Response:
    """The whole flow over HTTP, as a browser: the button, the provider's sign-in and
    consent forms, the callback. Returns the callback's answer."""
    page = await client.get(start)
    answer = await client.post(
        "/console/oidc/start", data={"csrf_token": csrf_token(page), "next": "", **(field or {})}
    )
    assert answer.status_code == 303, answer.text[:500]
    url = answer.headers["location"]
    assert "code_challenge_method=S256" in url and "nonce=" in url and "state=" in url
    for _ in range(12):
        response = await client.get(url) if url else answer
        while response.is_redirect:
            url = str(response.next_request.url) if response.next_request else ""
            if "/console/oidc/callback" in url:
                return await _callback(client, url, before_callback)
            response = await client.get(url)
        found = FORM.search(response.text)
        assert found, response.text[:1000]
        action = str(response.url.join(found.group(1)))
        data = dict(HIDDEN.findall(response.text))
        if 'name="login"' in response.text:
            data.update(login=login, password="any")
        answer = await client.post(action, data=data)
        url = str(answer.next_request.url) if answer.next_request else ""
        if "/console/oidc/callback" in url:
            return await _callback(client, url, before_callback)
    raise AssertionError("the sign-in flow did not come back")


async def _callback(
    client: httpx.AsyncClient, url: str, before: Callable[[], Awaitable[Any]] | None
) -> httpx.Response:
    if before is not None:
        await before()
    return await client.get(url)


def _moved_on_to(page: httpx.Response) -> str:
    found = re.search(r'<a href="([^"]+)" id="continue"', page.text)
    assert page.status_code == 200 and found, page.text[:800]
    return found.group(1)


async def test_a_refused_sign_in_of_a_known_subject_is_in_the_audit_log(
    db: Database, service_env: dict[str, Any]
) -> None:
    acme, globex = await make_account(db, "acme"), await make_account(db, "globex")
    async with sso_console(service_env) as (client, provider):
        _moved_on_to(await sso_sign_in(client, "ada"))
        user = await users.get_user_by_email(db, "ada@example.test")
        assert user is not None
        await users.set_disabled(db, user["_id"], True)
        client.cookies.clear()
        refused = await sso_sign_in(client, "ada")
        assert refused.status_code == 403 and "This user is disabled." in refused.text
        failed = (
            await db[Collections.AUDIT_EVENTS].find({"action": "user.sign_in_failed"}).to_list()
        )
        assert sorted(e["account_id"] for e in failed) == sorted([acme, globex])
        for entry in failed:
            assert entry["after"] == {
                "attempted": f"{provider.issuer}#ada",
                "via": "oidc",
                "reason": "disabled",
            }
            assert (entry["actor_id"], entry["ip"]) == (user["_id"], "127.0.0.1")


async def test_groups_grant_roles_and_the_session_follows_them(
    db: Database, service_env: dict[str, Any]
) -> None:
    acme, globex = await make_account(db, "acme"), await make_account(db, "globex")
    async with sso_console(service_env) as (client, provider):
        page = await client.get("/console/sign-in")
        assert (
            "Sign in with Test SSO" in page.text
            and 'name="password"' not in page.text.split("With an API key")[0]
        )
        done = await sso_sign_in(client, "ada")
        target = _moved_on_to(done)
        assert target == "/console/overview"
        overview = await client.get(target)
        assert overview.status_code == 200 and "ada@example.test · admin" in overview.text
        user = await users.get_user_by_email(db, "ada@example.test")
        assert user is not None and user["oidc_subject"] == f"{provider.issuer}#ada"
        assert user["password_hash"] is None
        found = {
            m["account_id"]: (m["role"], m["source"])
            for m in await members.memberships(db, user["_id"])
        }
        assert found == {acme: ("admin", "group"), globex: ("viewer", "group")}

        # Carol is in no group and was never invited: no way in.
        client.cookies.clear()
        refused = await sso_sign_in(client, "carol")
        assert refused.status_code == 403 and "not a member of any account" in refused.text
        assert await users.get_user_by_email(db, "carol@example.test") is None

        # An ID token whose nonce is not this flow's is refused (and so is any token the
        # provider did not sign).
        client.cookies.clear()
        flows = db["console_oidc_flows"]
        tampered = await sso_sign_in(
            client,
            "ada",
            before_callback=lambda: flows.update_many({}, {"$set": {"nonce": "another"}}),
        )
        assert tampered.status_code == 401 and "did not verify" in tampered.text
        foreign = jwt.encode(
            {"alg": "RS256", "kid": "foreign"},
            {
                "iss": provider.issuer,
                "aud": provider.client_id,
                "sub": "ada",
                "nonce": "n",
                "iat": int(time.time()),
                "exp": int(time.time()) + 60,
            },
            RSAKey.generate_key(2048, parameters={"kid": "foreign"}),
        )
        client_side = OidcClient(GatewaySettings(**service_env, **provider.gateway_settings()))
        with pytest.raises(OidcError):
            await client_side.verify_id_token(foreign, "n")
        with pytest.raises(OidcError):
            await client_side.verify_id_token("not.a.token", "n")

        # A callback this browser did not start is refused.
        stray = await client.get("/console/oidc/callback", params={"code": "x", "state": "y"})
        assert stray.status_code == 400
        # Password sign-in is off while a provider is configured.
        page = await client.get("/console/sign-in")
        off = await client.post(
            "/console/sign-in/password",
            data={
                "csrf_token": csrf_token(page),
                "email": "ada@example.test",
                "password": "x" * 12,
                "code": "123456",
            },
        )
        assert off.status_code == 403


async def test_an_invitation_is_accepted_through_the_provider_in_chromium(
    browser: Browser, db: Database, service_env: dict[str, Any]
) -> None:
    acme = await make_account(db, "acme")
    invitation = await invitations.create_invitation(
        db, account_id=acme, email="carol@example.test", role="developer", invited_by="platform"
    )
    wrong = await invitations.create_invitation(
        db, account_id=acme, email="dave@example.test", role="viewer", invited_by="platform"
    )
    async with sso_console(service_env) as (client, _provider):
        base = str(client.base_url).rstrip("/")
        context = await new_context(browser, base, DESKTOP)
        page = await context.new_page()
        await page.goto(invitation.path)
        await expect(page.get_by_role("heading", name="Join acme")).to_be_visible()
        await page.get_by_role("button", name="Continue with Test SSO").click()
        # The provider's own pages: sign in, then allow MailPass.
        await page.locator('input[name="login"]').fill("carol")
        await page.locator('input[name="password"]').fill("anything")
        await page.locator('button[type="submit"]').click()
        await page.locator('button[type="submit"]').click()
        await expect(page).to_have_url(re.compile(r"/console/overview\?notice=welcome$"))
        await expect(page.get_by_text("carol@example.test · developer")).to_be_visible()
        await (
            page.get_by_role("navigation", name="Console")
            .get_by_role("link", name="Members")
            .click()
        )
        await expect(page.get_by_role("cell", name="carol@example.test (you)")).to_be_visible()
        await context.close()

        # An invitation for another address is not taken by whoever signs in.
        client.cookies.clear()
        refused = await sso_sign_in(
            client, "bob", start=wrong.path, field={"invitation": wrong.token}
        )
        assert refused.status_code == 403 and "dave@example.test" in refused.text
    user = await users.get_user_by_email(db, "carol@example.test")
    assert user is not None
    assert (await members.get_member(db, acme, user["_id"]) or {})["source"] == "invitation"
