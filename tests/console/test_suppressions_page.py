"""The console's Suppressions page: the list with reasons and replies, a search by
address prefix, adding and removing; read-only for a test key's session."""

from __future__ import annotations

from typing import Any

import httpx

from mailpass_common.platform.db import Database
from mailpass_common.suppressions import service as suppressions
from mailpass_common.tenants.api_keys import Permission
from tests.console.support import post_form, sign_in
from tests.support.tenants import make_admin

PAGE = "/console/suppressions"


async def test_list_add_search_remove(
    console: httpx.AsyncClient, db: Database, service_env: dict[str, Any]
) -> None:
    admin = await make_admin(db, "acme")
    await suppressions.add_many(
        db,
        [
            suppressions.Suppression(
                admin.account_id,
                "gone@example.com",
                suppressions.SuppressionReason.BOUNCE,
                "smtp",
                "<m1@acme.test>",
                "550 5.1.1 <gone@example.com>: User unknown",
            )
        ],
    )
    await sign_in(console, admin.key)
    page = await console.get(PAGE)
    assert page.status_code == 200, page.text
    assert "gone@example.com" in page.text and "550 5.1.1" in page.text
    assert 'href="/console/suppressions" aria-current="page"' in page.text

    added = await post_form(console, PAGE, PAGE, address="Ann@Example.com", note="asked")
    assert added.status_code == 303 and "suppression-added" in added.headers["location"]
    entry = await suppressions.get(db, admin.account_id, "ann@example.com")
    assert entry is not None and entry["source"] == "console" and entry["detail"] == "asked"

    invalid = await post_form(console, PAGE, PAGE, address="not an address")
    assert invalid.status_code == 400 and "address" in invalid.text

    search = await console.get(PAGE, params={"q": "an"})
    assert "ann@example.com" in search.text and "gone@example.com" not in search.text

    removed = await post_form(console, PAGE, f"{PAGE}/remove", address="gone@example.com")
    assert removed.status_code == 303
    assert await suppressions.get(db, admin.account_id, "gone@example.com") is None


async def test_a_test_key_session_reads_but_does_not_change(
    console: httpx.AsyncClient, db: Database
) -> None:
    tester = await make_admin(db, "acme", (Permission.MAIL, Permission.CONSOLE), test=True)
    await sign_in(console, tester.key)
    page = await console.get(PAGE)
    assert page.status_code == 200 and "Suppress an address" not in page.text
    refused = await post_form(console, PAGE, PAGE, address="x@example.com")
    assert refused.status_code == 403
