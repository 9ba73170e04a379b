"""Re-encrypting every provider's stored credentials, every webhook endpoint's signing
secrets and every DKIM private key, under the current ``SECRET_KEY``.

Rotating the key: deploy the new ``SECRET_KEY`` with the old one in
``SECRET_KEY_PREVIOUS`` (both decrypt), run ``mailpass secrets rotate``, then drop the
old key once nothing needs it (tracking links in old mail verify only while it is
listed). The run is idempotent: credentials already under the current key are counted
and left alone, so it is safe to run again, e.g. after an interrupted run.

Each write is conditional on the token it read: a provider updated meanwhile keeps the
update (whose writer encrypted with its own current key) and is counted as changed, for
the next run to look at. The plaintext does not change, so the provider's ``version``
does not either, and senders keep their open connections.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mailpass_common.platform.crypto import CredentialCipher
from mailpass_common.platform.db import Collections, Database, where


@dataclass
class RotationReport:
    reencrypted: int = 0
    already_current: int = 0
    changed_meanwhile: int = 0
    # Providers whose credentials no listed key decrypts: they cannot deliver either.
    undecryptable: list[str] = field(default_factory=list)


# Where encrypted secrets are kept: (collection, field).
ENCRYPTED_FIELDS = (
    (Collections.PROVIDERS, "secret"),
    (Collections.WEBHOOK_ENDPOINTS, "secret"),
    (Collections.WEBHOOK_ENDPOINTS, "previous_secret"),  # during a rotation's overlap
    (Collections.DKIM_KEYS, "secret"),  # sending domains' DKIM private keys
)


async def reencrypt_credentials(db: Database, cipher: CredentialCipher) -> RotationReport:
    report = RotationReport()
    for name, field_name in ENCRYPTED_FIELDS:
        collection = db[name]
        # Every document of every account, once: an operator's command, not a request path.
        async for doc in collection.find({}, projection={field_name: 1}):
            token = doc.get(field_name)
            if not token:
                if field_name == "secret":
                    report.already_current += 1
                continue
            if cipher.is_current(token):
                report.already_current += 1
                continue
            try:
                fresh = cipher.reencrypt(token)
            except ValueError:
                report.undecryptable.append(str(doc["_id"]))
                continue
            result = await collection.update_one(
                where(_id=doc["_id"], **{field_name: token}), {"$set": {field_name: fresh}}
            )
            if result.matched_count == 1:
                report.reencrypted += 1
            else:
                report.changed_meanwhile += 1
    return report
