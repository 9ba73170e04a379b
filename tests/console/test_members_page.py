"""The Members page: owners and admins invite people (the invitation mailed through the
platform's own account), change roles and remove members; the invited person joins with
a password and a TOTP code; every rule holds (admins never touch owners, the last owner
stays, viewers change nothing)."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pyotp
import pytest

from mailpass_common.platform.db import Database
from mailpass_common.tenants import members, users
from tests.console.support import csrf_token, post_form
from tests.support.people import PASSWORD, make_person, sign_in_as
from tests.support.smtp import SmtpServer
from tests.support.stack import running_gateway, running_sender
from tests.support.tenants import make_account, make_tenant

LINK = re.compile(r"(/console/invitations/[A-Za-z0-9_-]+)")


@pytest.fixture
async def mailing_console(
    db: Database, service_env: dict[str, Any], smtp: SmtpServer
) -> AsyncIterator[httpx.AsyncClient]:
    """The gateway and a sender, with the platform account "mailpass" sending the console's
    own mail through a local SMTP server."""
    await make_tenant(
        db, service_env, "mailpass", smtp_port=smtp.port, from_email="team@mailpass.test"
    )
    async with (
        running_sender(service_env, management_port=0),
        running_gateway(
            service_env, send_timeout_seconds=10, console_mail_account="mailpass"
        ) as client,
    ):
        yield client


async def _invite(client: httpx.AsyncClient, email: str, role: str) -> httpx.Response:
    return await post_form(
        client, "/console/members", "/console/members/invitations", email=email, role=role
    )


async def test_an_owner_invites_a_colleague_by_mail_and_they_join(
    mailing_console: httpx.AsyncClient, db: Database, service_env: dict[str, Any], smtp: SmtpServer
) -> None:
    client = mailing_console
    acme = await make_account(db, "acme")
    ada = await make_person(db, service_env, "ada@example.test", (acme, "owner"))
    assert (await sign_in_as(client, ada)).status_code == 303
    invited = await _invite(client, "Bob@Example.test", "developer")
    assert invited.status_code == 201, invited.text[:500]
    assert "Invitation mailed to <strong>bob@example.test</strong>" in invited.text
    assert LINK.search(invited.text) is None  # mailed, so not shown

    [mail] = await smtp.wait_for(1)
    message = mail.message
    assert message["To"] == "bob@example.test" and "acme" in message["Subject"]
    assert mail.mail_from == "team@mailpass.test"
    body = message.get_body(("plain",))
    assert body is not None
    found = LINK.search(body.get_content())
    assert found, body.get_content()
    link = found.group(1)

    # Bob opens the link in another browser; opening changes nothing.
    async with httpx.AsyncClient(base_url=client.base_url) as bob:
        page = await bob.get(link)
        assert page.status_code == 200 and "Join acme" in page.text
        assert page.headers["referrer-policy"] == "no-referrer"
        secret = html.unescape(re.search(r'name="secret" value="([A-Z2-7]+)"', page.text).group(1))  # type: ignore[union-attr]
        weak = await bob.post(
            link,
            data={
                "csrf_token": csrf_token(page),
                "secret": secret,
                "name": "Bob",
                "password": "short",
                "code": pyotp.TOTP(secret).now(),
            },
        )
        assert weak.status_code == 400 and "at least 12 characters" in weak.text
        joined = await bob.post(
            link,
            data={
                "csrf_token": csrf_token(page),
                "secret": secret,
                "name": "Bob",
                "password": PASSWORD,
                "code": pyotp.TOTP(secret).now(),
            },
        )
        assert joined.status_code == 303, joined.text[:500]
        welcome = await bob.get(joined.headers["location"])
        assert "bob@example.test · developer" in welcome.text
        # The link worked once.
        again = await bob.get(link)
        assert again.status_code == 404 and "does not work any more" in again.text

    user = await users.get_user_by_email(db, "bob@example.test")
    assert user is not None and user["name"] == "Bob" and user["totp"]
    assert (await members.get_member(db, acme, user["_id"]) or {})["role"] == "developer"
    listing = await client.get("/console/members")
    assert "bob@example.test" in listing.text and "Pending invitations" not in listing.text


async def test_without_a_platform_account_the_link_is_shown_to_pass_on(
    console: httpx.AsyncClient, db: Database, service_env: dict[str, Any]
) -> None:
    acme = await make_account(db, "acme")
    ada = await make_person(db, service_env, "ada@example.test", (acme, "owner"))
    assert (await sign_in_as(console, ada)).status_code == 303
    invited = await _invite(console, "bob@example.test", "viewer")
    assert invited.status_code == 201 and "no mail was sent" in invited.text
    assert LINK.search(invited.text)
    listing = await console.get("/console/members")
    assert "Pending invitations" in listing.text and "bob@example.test" in listing.text
    pending = re.search(
        r'action="/console/members/invitations/(inv_[0-9a-f]+)/revoke"', listing.text
    )
    assert pending
    withdrawn = await post_form(
        console, "/console/members", f"/console/members/invitations/{pending.group(1)}/revoke"
    )
    assert withdrawn.status_code == 303
    assert "Pending invitations" not in (await console.get("/console/members")).text
    bad = await _invite(console, "not an address", "viewer")
    assert bad.status_code == 400
    bad_role = await _invite(console, "carol@example.test", "root")
    assert bad_role.status_code == 400


async def test_admins_never_touch_owners_and_the_last_owner_stays(
    console: httpx.AsyncClient, db: Database, service_env: dict[str, Any]
) -> None:
    acme = await make_account(db, "acme")
    ada = await make_person(db, service_env, "ada@example.test", (acme, "owner"))
    bob = await make_person(db, service_env, "bob@example.test", (acme, "admin"))
    carol = await make_person(db, service_env, "carol@example.test", (acme, "viewer"))

    assert (await sign_in_as(console, bob)).status_code == 303
    assert (await _invite(console, "dan@example.test", "owner")).status_code == 403
    promoted = await post_form(
        console, "/console/members", f"/console/members/{ada.id}/role", role="viewer"
    )
    assert promoted.status_code == 403 and "Only an owner" in promoted.text
    removed = await post_form(console, "/console/members", f"/console/members/{ada.id}/remove")
    assert removed.status_code == 403
    changed = await post_form(
        console, "/console/members", f"/console/members/{carol.id}/role", role="developer"
    )
    assert changed.status_code == 303
    assert (await members.get_member(db, acme, carol.id) or {})["role"] == "developer"

    console.cookies.clear()
    assert (await sign_in_as(console, ada)).status_code == 303
    last = await post_form(
        console, "/console/members", f"/console/members/{ada.id}/role", role="admin"
    )
    assert last.status_code == 409 and "last owner" in last.text
    gone = await post_form(console, "/console/members", f"/console/members/{bob.id}/remove")
    assert gone.status_code == 303
    assert await members.get_member(db, acme, bob.id) is None

    console.cookies.clear()
    carol_in = await sign_in_as(console, carol)
    assert carol_in.status_code == 303, carol_in.text[-1500:]
    page = await console.get("/console/members")
    assert page.status_code == 200 and "Only an owner or an admin" in page.text
    assert (await _invite(console, "eve@example.test", "viewer")).status_code == 403
