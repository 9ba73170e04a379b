"""Webhook signing secrets are encrypted like provider credentials, and `mailpass secrets
rotate` re-encrypts them (the current one and one in its overlap) under the new key."""

from __future__ import annotations

from mailpass_common.platform.crypto import CredentialCipher
from mailpass_common.platform.db import Collections, Database
from mailpass_common.providers.credential_rotation import reencrypt_credentials
from mailpass_common.webhooks import endpoints
from tests.support.tenants import make_account

OLD, NEW = "old-key-0123456789abcdefghijklmnopqrstuv", "new-key-0123456789abcdefghijklmnopqrstuv"


async def test_secrets_are_encrypted_and_follow_a_key_rotation(db: Database) -> None:
    account = await make_account(db, "acme")
    old = CredentialCipher(OLD)
    doc, first = await endpoints.create_endpoint(
        db,
        old,
        account_id=account,
        url="https://h.example/x",
        events=["sent"],
        sandbox=False,
        limit=20,
    )
    rotated = await endpoints.rotate_secret(
        db, old, account, doc["_id"], sandbox=False, overlap_seconds=3600
    )
    assert rotated is not None
    stored = await db[Collections.WEBHOOK_ENDPOINTS].find_one({"_id": doc["_id"]})
    assert stored is not None
    assert first not in str(stored) and rotated[1] not in str(stored)

    report = await reencrypt_credentials(db, CredentialCipher(NEW, [OLD]))
    assert report.reencrypted == 2 and not report.undecryptable
    current = await endpoints.get_endpoint(db, account, doc["_id"], sandbox=False)
    assert current is not None
    assert endpoints.signing_secrets(current, CredentialCipher(NEW)) == [rotated[1], first]
