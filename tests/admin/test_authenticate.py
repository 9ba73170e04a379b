"""Key lookup: hashes only, revocation at once, ``last_used_at`` kept without a write per call."""

from __future__ import annotations

from mailpass_common.platform.db import Collections, Database
from mailpass_common.tenants import accounts, api_keys
from mailpass_common.tenants.api_keys import Permission, hash_api_key


async def test_authenticate_stamps_last_used_at_once_a_minute_and_refuses_revoked_keys(
    db: Database,
) -> None:
    account = await accounts.create_account(db, "acme")
    new = await api_keys.create_api_key(db, account["_id"], [Permission.MAIL])
    stored = db[Collections.API_KEYS]

    async def last_used() -> object:
        doc = await stored.find_one({"_id": hash_api_key(new.key)})
        assert doc is not None
        return doc["last_used_at"]

    assert await last_used() is None

    record = await api_keys.authenticate(db, new.key)
    assert record is not None and record.account_id == account["_id"]
    assert record.permissions == frozenset({"mail"}) and record.test is False
    first = await last_used()
    assert first is not None

    assert await api_keys.authenticate(db, new.key) is not None
    assert await last_used() == first

    assert await api_keys.authenticate(db, new.key + "x") is None
    await stored.update_one({"_id": new.key_hash}, {"$set": {"revoked": True}})
    assert await api_keys.authenticate(db, new.key) is None
