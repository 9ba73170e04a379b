"""DKIM-signing what MailPass SMTP sends, with the account's keys for the From domain.

The keys (:func:`mailpass_common.mta.dkim.signing_keys`: one index-served read and a
decryption) are kept in process for ``CACHE_TTL_SECONDS``, as provider documents are: a
rotation or a removed domain takes effect within it, and a busy sender does not read,
decrypt and load keys per message. A domain without a verified key raises LookupError:
the message fails rather than leaving unsigned.

The canonicalization runs on the event loop (Python: it needs the GIL anyway); the
private-key operations (the RSA 2048 signature, about 0.27 ms a message, most of the
signing's CPU, and Ed25519's) run on one worker thread of their own, where OpenSSL makes
them without holding the GIL, so they go on beside the loop's network work, on another
core. The messages of a burst go to the thread together, in one hand-off, and come back
a few at a time (so the first deliveries start while the rest are signed): a hand-off per
message (a wake-up of a worker and one of the loop, each) cost about as much CPU as the
signature it moved.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from mailpass_common.mta import dkim, signature
from mailpass_common.platform.cache import TtlCache
from mailpass_common.platform.crypto import CredentialCipher
from mailpass_common.platform.db import Database


class DkimSigner:
    def __init__(self, db: Database, cipher: CredentialCipher, ttl_seconds: float) -> None:
        self._db = db
        self._cipher = cipher
        self._keys: TtlCache[tuple[str, str], list[dkim.DkimKey]] = TtlCache(ttl_seconds)
        self._operations = PrivateOperations()

    async def sign(self, account_id: str, domain: str, message: bytes) -> bytes:
        async def load() -> list[dkim.DkimKey]:
            return await dkim.signing_keys(self._db, self._cipher, account_id, domain)

        keys = await self._keys.get_or_load((account_id, domain), load)
        if not keys:
            raise LookupError(f"no verified DKIM key for {domain}")
        unsigned = signature.prepare(message, domain, keys)
        return unsigned.signed(await self._operations.run(unsigned.inputs))


Inputs = Sequence[tuple[dkim.DkimKey, bytes]]
Waiting = tuple[Inputs, "asyncio.Future[list[bytes]]"]
# The thread answers the loop every this many messages: the first deliveries of a burst
# start while the rest are signed, for one wake-up of the loop per so many messages.
ANSWER_EVERY = 8


class PrivateOperations:
    """The private-key operations of what the loop asked for since the thread last took
    any, done on one worker thread in one hand-off (module docstring)."""

    def __init__(self) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dkim-sign")
        self._waiting: list[Waiting] = []

    async def run(self, inputs: Inputs) -> list[bytes]:
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[list[bytes]] = loop.create_future()
        self._waiting.append((inputs, answer))
        if len(self._waiting) == 1:  # the first since the last hand-off: schedule one
            loop.call_soon(self._hand_off, loop)
        return await answer

    def _hand_off(self, loop: asyncio.AbstractEventLoop) -> None:
        batch, self._waiting = self._waiting, []
        self._executor.submit(_operate, loop, batch)


def _operate(loop: asyncio.AbstractEventLoop, batch: list[Waiting]) -> None:
    """On the thread: each request's signatures, or the error of a key that could not sign
    (it fails that message only), handed to the loop ANSWER_EVERY requests at a time."""
    for start in range(0, len(batch), ANSWER_EVERY):
        chunk = batch[start : start + ANSWER_EVERY]
        results: list[list[bytes] | Exception] = []
        for inputs, _ in chunk:
            try:
                results.append([signature.private_operation(k, data) for k, data in inputs])
            except Exception as exc:  # handed back to the message it belongs to
                results.append(exc)
        try:
            loop.call_soon_threadsafe(_answer, chunk, results)
        except RuntimeError:  # the loop is closed: nobody is waiting any more
            return


def _answer(chunk: list[Waiting], results: list[list[bytes] | Exception]) -> None:
    for (_, answer), result in zip(chunk, results, strict=True):
        if answer.done():  # its caller was cancelled meanwhile
            continue
        if isinstance(result, BaseException):
            answer.set_exception(result)
        else:
            answer.set_result(result)
