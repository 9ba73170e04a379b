"""DKIM-signing what MailPass SMTP sends, with the account's keys for the From domain.

The keys (:func:`mailpass_common.mta.dkim.signing_keys`: one index-served read and a
decryption) are kept in process for ``CACHE_TTL_SECONDS``, as provider documents are: a
rotation or a removed domain takes effect within it, and a busy sender does not read,
decrypt and load keys per message. A domain without a verified key raises LookupError:
the message fails rather than leaving unsigned.

Signing runs on the event loop itself (about 0.35 ms a message: the RSA 2048 signature
0.27 ms, Ed25519 0.03 ms, the rest canonicalization). It ran on the loop's thread pool
once, since OpenSSL signs without holding the GIL; measured in ``make bench``'s MTA path,
the hand-offs (a task, a wake-up of a worker thread, a wake-up of the loop, and the
worker and the loop taking turns at the GIL for the canonicalization) cost the sender
some 0.15 ms of CPU a message more than the signing saved, on a machine whose other core
is busy anyway (the database, the gateway). One sender process uses one core; more
throughput is more sender processes (replicas or ``SENDER_WORKERS``).
"""

from __future__ import annotations

from mailpass_common.mta import dkim, signature
from mailpass_common.platform.cache import TtlCache
from mailpass_common.platform.crypto import CredentialCipher
from mailpass_common.platform.db import Database


class DkimSigner:
    def __init__(self, db: Database, cipher: CredentialCipher, ttl_seconds: float) -> None:
        self._db = db
        self._cipher = cipher
        self._keys: TtlCache[tuple[str, str], list[dkim.DkimKey]] = TtlCache(ttl_seconds)

    async def sign(self, account_id: str, domain: str, message: bytes) -> bytes:
        async def load() -> list[dkim.DkimKey]:
            return await dkim.signing_keys(self._db, self._cipher, account_id, domain)

        keys = await self._keys.get_or_load((account_id, domain), load)
        if not keys:
            raise LookupError(f"no verified DKIM key for {domain}")
        return signature.sign(message, domain, keys)
