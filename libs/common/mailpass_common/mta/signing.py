"""DKIM-signing what MailPass SMTP sends, with the account's keys for the From domain.

The keys (:func:`mailpass_common.mta.dkim.signing_keys`: one index-served read and a
decryption) are kept in process for ``CACHE_TTL_SECONDS``, as provider documents are: a
rotation or a removed domain takes effect within it, and a busy sender does not read,
decrypt and load keys per message. A domain without a verified key raises LookupError:
the message fails rather than leaving unsigned.

Signing runs on the event loop's thread pool, not on the loop: an RSA 2048 signature is
most of a message's CPU in MailPass SMTP, and OpenSSL makes it without holding the GIL,
so the signatures of a burst go on beside every other delivery's network work (and on
another core) instead of stalling them.
"""

from __future__ import annotations

import asyncio

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
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, signature.sign, message, domain, keys)
