"""``mailpass accounts``: creation, listing, and the account's tracking defaults."""

from __future__ import annotations

from typing import Any

from mailpass_common.platform.db import Collections, Database
from mailpass_common.tenants.accounts import get_account, tracking_defaults
from tests.admin.test_cli import mailpass


async def test_accounts_create_list_and_tracking_defaults(
    service_env: dict[str, Any], db: Database
) -> None:
    assert (await mailpass(service_env, "accounts", "create", "acme")).code == 0
    again = await mailpass(service_env, "accounts", "create", "acme")
    assert again.code == 1 and "already exists" in again.err
    listed = await mailpass(service_env, "accounts", "list")
    assert listed.code == 0 and "\tacme\t" in listed.out

    account = await db[Collections.ACCOUNTS].find_one({"name": "acme"})
    assert account is not None
    before = tracking_defaults(await get_account(db, account["_id"]))
    assert (before.opens, before.clicks) == (False, False)

    on = await mailpass(service_env, "accounts", "set-tracking", "acme", "--opens", "--clicks")
    assert on.code == 0, on.err
    after = tracking_defaults(await get_account(db, account["_id"]))
    assert (after.opens, after.clicks) == (True, True)

    off = await mailpass(service_env, "accounts", "set-tracking", "acme", "--no-clicks")
    assert off.code == 0 and "track_opens=True track_clicks=False" in off.out
    final = tracking_defaults(await get_account(db, account["_id"]))
    assert (final.opens, final.clicks) == (True, False)

    missing = await mailpass(service_env, "accounts", "set-tracking", "nobody", "--opens")
    assert missing.code == 1 and "no account named" in missing.err
    nothing = await mailpass(service_env, "accounts", "set-tracking", "acme")
    assert nothing.code == 1 and "nothing to change" in nothing.err
