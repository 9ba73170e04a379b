"""The console: changes made there are in the audit log with the session's key as actor,
the Audit log page lists them read-only with filters, and a suspended account's session
ends (real gateway and database)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from mailpass_common.administration import service
from mailpass_common.audit.record import CLI_ACTOR
from mailpass_common.platform.db import Collections, Database
from mailpass_common.tenants import api_keys
from mailpass_common.tenants.api_keys import Permission
from tests.console.support import post_form, sign_in
from tests.support.stack import running_gateway
from tests.support.tenants import make_account


@pytest.fixture
async def console(service_env: dict[str, Any], db: Database) -> AsyncIterator[httpx.AsyncClient]:
    async with running_gateway(service_env) as client:
        yield client


async def test_console_changes_are_listed_on_the_audit_page(
    console: httpx.AsyncClient, db: Database
) -> None:
    account_id = await make_account(db, "acme")
    owner = await api_keys.create_api_key(db, account_id, tuple(Permission), name="owner")
    assert (await sign_in(console, owner.key)).status_code == 303
    made = await post_form(
        console, "/console/keys", "/console/keys", name="deploy", permissions=["mail"]
    )
    assert made.status_code == 201, made.text[:300]  # the page showing the new key once
    [entry] = await db[Collections.AUDIT_EVENTS].find({"action": "key.created"}).to_list()
    assert (entry["actor_type"], entry["actor_id"]) == ("key", owner.id)
    assert entry["after"]["name"] == "deploy"

    page = await console.get("/console/audit")
    assert page.status_code == 200 and "key.created" in page.text and "deploy" in page.text
    filtered = await console.get("/console/audit", params={"resource_type": "provider"})
    assert filtered.status_code == 200 and "key.created" not in filtered.text
    assert "No change matches these filters." in filtered.text
    # Read-only: nothing posts to it.
    assert (await console.post("/console/audit", data={})).status_code in (404, 405)


async def test_the_audit_permission_is_needed(console: httpx.AsyncClient, db: Database) -> None:
    account_id = await make_account(db, "acme")
    viewer = await api_keys.create_api_key(db, account_id, (Permission.CONSOLE, Permission.MAIL))
    assert (await sign_in(console, viewer.key)).status_code == 303
    assert (await console.get("/console/audit")).status_code == 403


async def test_a_suspended_accounts_session_ends(console: httpx.AsyncClient, db: Database) -> None:
    account_id = await make_account(db, "acme")
    owner = await api_keys.create_api_key(db, account_id, tuple(Permission))
    assert (await sign_in(console, owner.key)).status_code == 303
    assert (await console.get("/console/overview")).status_code == 200
    await service.set_suspended(db, CLI_ACTOR, account_id, True)
    ended = await console.get("/console/overview")
    assert ended.status_code == 303 and ended.headers["location"].startswith("/console/sign-in")
    # Signing in again with the account's key does not open a usable session.
    await sign_in(console, owner.key)
    assert (await console.get("/console/overview")).status_code == 303


async def test_the_audit_page_filters_by_time(console: httpx.AsyncClient, db: Database) -> None:
    account_id = await make_account(db, "acme")
    owner = await api_keys.create_api_key(db, account_id, tuple(Permission), name="owner")
    assert (await sign_in(console, owner.key)).status_code == 303
    made = await post_form(
        console, "/console/keys", "/console/keys", name="deploy", permissions=["mail"]
    )
    assert made.status_code == 201, made.text[:300]
    now = datetime.now(UTC)
    minute = "%Y-%m-%dT%H:%M"
    earlier, later = (now - timedelta(minutes=2)).strftime(minute), (now + timedelta(minutes=2))
    shown = {
        "since earlier": {"since": earlier},
        "until later": {"until": later.strftime(minute)},
        "both": {"since": earlier, "until": later.strftime(minute)},
        "until tomorrow (a day)": {"until": (now + timedelta(days=1)).date().isoformat()},
    }
    hidden = {
        "since later": {"since": later.strftime(minute)},
        "until earlier": {"until": earlier},
        "since tomorrow (a day)": {"since": (now + timedelta(days=1)).date().isoformat()},
    }
    for name, params in shown.items():
        page = await console.get("/console/audit", params=params)
        assert page.status_code == 200 and "key.created" in page.text, name
        assert f'value="{next(iter(params.values()))}"' in page.text, name  # kept in the form
    for name, params in hidden.items():
        page = await console.get("/console/audit", params=params)
        assert page.status_code == 200, name
        assert "key.created" not in page.text and "No change matches" in page.text, name
    bad = await console.get("/console/audit", params={"since": "yesterday"})
    assert bad.status_code == 200 and "The filters are not right" in bad.text
