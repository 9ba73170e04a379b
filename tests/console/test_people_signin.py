"""People in the console: email, password and TOTP sign-in, roles enforced on every
change, sessions that end when the user is removed or disabled, switching accounts."""

from __future__ import annotations

from typing import Any

import httpx

from mailpass_common.platform.db import Database
from mailpass_common.tenants import console_auth, members, users
from mailpass_gateway.console.views.user_signin import WRONG
from tests.admin.test_cli import mailpass
from tests.console.support import post_form
from tests.support.people import make_person, sign_in_as
from tests.support.tenants import make_account


async def test_a_person_signs_in_with_password_and_a_code_used_once(
    console: httpx.AsyncClient, db: Database, service_env: dict[str, Any]
) -> None:
    acme = await make_account(db, "acme")
    ada = await make_person(db, service_env, "ada@example.test", (acme, "owner"))
    used = await ada.next_code()
    signed_in = await sign_in_as(console, ada, code=used)
    assert signed_in.status_code == 303, signed_in.text[:300]
    assert signed_in.headers["location"] == "/console/overview"
    page = await console.get("/console/overview")
    assert page.status_code == 200 and "ada@example.test · owner" in page.text
    token = signed_in.headers["set-cookie"].split(";", 1)[0].split("=", 1)[1]
    session = await console_auth.find_session(db, token)
    assert session is not None and session.user_id == ada.id and session.via == "password"
    console.cookies.clear()

    # The same code again, a wrong password, an unknown address: the same refusal.
    for attempt in (
        sign_in_as(console, ada, code=used),
        sign_in_as(console, ada, password="not the password at all"),
        sign_in_as(console, ada, code="000000"),
    ):
        refused = await attempt
        assert refused.status_code == 401 and WRONG in refused.text
    stranger = await make_person(db, service_env, "eve@example.test")
    await db["users"].delete_one({"_id": stranger.id})
    refused = await sign_in_as(console, stranger)
    assert refused.status_code == 401 and WRONG in refused.text


async def test_a_person_in_no_account_or_disabled_does_not_get_in(
    console: httpx.AsyncClient, db: Database, service_env: dict[str, Any]
) -> None:
    acme = await make_account(db, "acme")
    loner = await make_person(db, service_env, "loner@example.test")
    refused = await sign_in_as(console, loner)
    assert refused.status_code == 403 and "not a member of any account" in refused.text
    ada = await make_person(db, service_env, "ada@example.test", (acme, "owner"))
    await users.set_disabled(db, ada.id, True)
    assert (await sign_in_as(console, ada)).status_code == 401


async def test_roles_decide_what_a_session_may_change(
    console: httpx.AsyncClient, db: Database, service_env: dict[str, Any]
) -> None:
    acme = await make_account(db, "acme")
    await make_person(db, service_env, "owner@example.test", (acme, "owner"))
    people = {
        role: await make_person(db, service_env, f"{role}@example.test", (acme, role))
        for role in ("admin", "developer", "viewer")
    }
    expected_key_status = {"admin": 201, "developer": 403, "viewer": 403}
    for role, person in people.items():
        console.cookies.clear()
        assert (await sign_in_as(console, person)).status_code == 303
        # Every page reads.
        for path in (
            "/console/overview",
            "/console/keys",
            "/console/providers",
            "/console/messages",
        ):
            assert (await console.get(path)).status_code == 200, (role, path)
        created = await post_form(
            console, "/console/keys", "/console/keys", name="ci", mode="live", permissions=["mail"]
        )
        assert created.status_code == expected_key_status[role], (role, created.text[:300])
        if created.status_code == 403:
            assert f"Your role in this account ({role})" in created.text
        template = await post_form(
            console,
            "/console/templates",
            "/console/templates",
            name="welcome",
            subject="Hi",
            html="<p>Hi</p>",
            text="Hi",
        )
        assert (template.status_code < 400) == (role != "viewer"), (role, template.status_code)


async def test_removal_disabling_and_role_changes_take_effect_at_once(
    console: httpx.AsyncClient, db: Database, service_env: dict[str, Any]
) -> None:
    acme = await make_account(db, "acme")
    await make_person(db, service_env, "owner@example.test", (acme, "owner"))
    bob = await make_person(db, service_env, "bob@example.test", (acme, "admin"))
    assert (await sign_in_as(console, bob)).status_code == 303
    assert "bob@example.test · admin" in (await console.get("/console/keys")).text
    await members.change_role(db, acme, bob.id, "viewer")
    assert "bob@example.test · viewer" in (await console.get("/console/keys")).text

    await members.remove_member(db, acme, bob.id)
    ended = await console.get("/console/overview")
    assert ended.status_code == 303 and "notice=session-ended" in ended.headers["location"]

    await members.add_member(db, acme, bob.id, "developer")
    console.cookies.clear()
    assert (await sign_in_as(console, bob)).status_code == 303
    await users.set_disabled(db, bob.id, True)
    ended = await console.get("/console/overview")
    assert ended.status_code == 303 and "notice=session-ended" in ended.headers["location"]


async def test_a_person_in_two_accounts_switches_between_them(
    console: httpx.AsyncClient, db: Database, service_env: dict[str, Any]
) -> None:
    acme, globex = await make_account(db, "acme"), await make_account(db, "globex")
    other = await make_account(db, "initech")
    ada = await make_person(
        db, service_env, "ada@example.test", (acme, "viewer"), (globex, "owner")
    )
    assert (await sign_in_as(console, ada)).status_code == 303
    page = await console.get("/console/overview")
    assert "ada@example.test · viewer" in page.text and f'value="{globex}"' in page.text
    switched = await post_form(console, "/console/overview", "/console/account", account_id=globex)
    assert switched.status_code == 303
    page = await console.get("/console/overview")
    assert "ada@example.test · owner" in page.text and f'value="{acme}"' in page.text
    refused = await post_form(console, "/console/overview", "/console/account", account_id=other)
    assert refused.status_code == 404


async def test_an_operator_lists_and_disables_users_with_the_cli(
    console: httpx.AsyncClient, db: Database, service_env: dict[str, Any]
) -> None:
    acme = await make_account(db, "acme")
    ada = await make_person(db, service_env, "ada@example.test", (acme, "owner"))
    await make_person(db, service_env, "bob@example.test", (acme, "viewer"))
    assert (await sign_in_as(console, ada)).status_code == 303
    listed = await mailpass(service_env, "users", "list", "--account", "acme")
    assert listed.code == 0, listed.err
    assert "ada@example.test\tada\tactive\towner" in listed.out
    assert "bob@example.test\tbob\tactive\tviewer" in listed.out
    disabled = await mailpass(service_env, "users", "disable", "ADA@example.test")
    assert disabled.code == 0 and "ended 1 console session(s)" in disabled.out, disabled.err
    ended = await console.get("/console/overview")
    assert ended.status_code == 303
    assert (await sign_in_as(console, ada)).status_code == 401
    assert (await mailpass(service_env, "users", "enable", "ada@example.test")).code == 0
    assert (await sign_in_as(console, ada)).status_code == 303
    unknown = await mailpass(service_env, "users", "disable", "nobody@example.test")
    assert unknown.code == 1 and "no user" in unknown.err
