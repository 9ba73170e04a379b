"""Key lookup: hashes only, revocation at once, ``last_used_at`` kept without a write per call."""

from __future__ import annotations

from mailpass_common import accounts
from mailpass_common.db import Database
from mailpass_common.documents import Collections
from mailpass_common.security import Permission, hash_api_key


async def test_authenticate_stamps_last_used_at_once_a_minute_and_refuses_revoked_keys(
    db: Database,
) -> None:
    account = await accounts.create_account(db, "acme")
    new = await accounts.create_api_key(db, account["_id"], [Permission.MAIL])
    stored = db[Collections.API_KEYS]
    assert (await stored.find_one({"_id": hash_api_key(new.key)}))["last_used_at"] is None

    record = await accounts.authenticate(db, new.key)
    assert record is not None and record.account_id == account["_id"]
    assert record.permissions == frozenset({"mail"}) and record.test is False
    first = (await stored.find_one({"_id": new.key_hash}))["last_used_at"]
    assert first is not None

    assert await accounts.authenticate(db, new.key) is not None
    assert (await stored.find_one({"_id": new.key_hash}))["last_used_at"] == first

    assert await accounts.authenticate(db, new.key + "x") is None
    await stored.update_one({"_id": new.key_hash}, {"$set": {"revoked": True}})
    assert await accounts.authenticate(db, new.key) is None
