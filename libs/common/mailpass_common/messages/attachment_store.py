"""Where attachments are kept: ``message_bodies``, in chunks, apart from the message.

The message document stays small whatever its attachments weigh: it holds their
descriptions (``attachments``: filename, type, content id, size) and how many chunks
hold their bytes (``body_chunks``); the bytes, every attachment of the message one after
the other, decoded, are in ``message_bodies`` in chunks of up to 1 MiB, each
``{_id: "<message_id>#<n>", data, created_at}``. So the sender's claims and records of a
hundred messages never carry a megabyte, and only a message that has attachments costs
its sender one more round trip: the chunks, by ``_id`` (an index lookup on MongoDB and on
nx-27017, where GridFS's ``files_id``/``n`` queries scan: checked, not assumed).

Written before the message is inserted, so a sender never finds a message whose bytes
are missing; chunks whose message was never stored (a failed insert) expire with the
metadata retention (``created_at`` TTL, as messages and events). The retention sweep
deletes the chunks with the html and text once a message's body is purged.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from bson import Binary
from pymongo.errors import BulkWriteError

from mailpass_common.messages.attachments import Attachment
from mailpass_common.messages.models import MessageDocument
from mailpass_common.platform.db import DUPLICATE_KEY, Collections, Database

CHUNK_BYTES = 1024 * 1024


def chunk_ids(message_id: str, chunks: int) -> list[str]:
    return [f"{message_id}#{n}" for n in range(chunks)]


def chunk_documents(message_id: str, data: bytes) -> list[dict[str, object]]:
    """The chunk documents of one message's attachment bytes (none when empty)."""
    view = memoryview(data)
    now = datetime.now(UTC)
    return [
        {
            "_id": f"{message_id}#{n}",
            "data": Binary(view[start : start + CHUNK_BYTES].tobytes()),
            "created_at": now,
        }
        for n, start in enumerate(range(0, len(data), CHUNK_BYTES))
    ]


async def store(db: Database, documents: Sequence[dict[str, object]]) -> None:
    """Insert chunk documents (of one message or of a whole batch), a few MiB per round
    trip (a MongoDB message holds at most 48 MB). A chunk already stored is kept: chunk ids
    derive from the message id, so only a request run again under its Idempotency-Key
    (same ids, same content) meets its first run's chunks."""
    batch: list[dict[str, object]] = []
    size = 0
    for doc in documents:
        batch.append(doc)
        size += len(doc["data"])  # type: ignore[arg-type]
        if size >= 8 * CHUNK_BYTES:
            await _insert(db, batch)
            batch, size = [], 0
    if batch:
        await _insert(db, batch)


async def _insert(db: Database, batch: list[dict[str, object]]) -> None:
    try:
        await db[Collections.MESSAGE_BODIES].insert_many(batch, ordered=False)
    except BulkWriteError as exc:
        errors = exc.details.get("writeErrors", [])
        if not errors or any(error.get("code") != DUPLICATE_KEY for error in errors):
            raise


async def load(db: Database, message_id: str, chunks: int) -> bytes:
    """A message's attachment bytes, in one round trip; ``LookupError`` if some are gone
    (purged under the retention policy)."""
    if not chunks:
        return b""
    found = await (
        db[Collections.MESSAGE_BODIES]
        .find({"_id": {"$in": chunk_ids(message_id, chunks)}})
        .to_list()
    )
    if len(found) != chunks:
        raise LookupError(f"{chunks - len(found)} of {chunks} attachment chunks are missing")
    by_number = sorted(found, key=lambda doc: int(str(doc["_id"]).rpartition("#")[2]))
    return b"".join(bytes(doc["data"]) for doc in by_number)


async def delete(db: Database, message_chunks: dict[str, int]) -> None:
    """Delete the chunks of the given messages (message id → chunk count)."""
    ids = [i for message_id, n in message_chunks.items() for i in chunk_ids(message_id, n)]
    if ids:
        await db[Collections.MESSAGE_BODIES].delete_many({"_id": {"$in": ids}})


async def load_submitted(db: Database, doc: MessageDocument) -> bytes | None:
    """A message submitted over SMTP: its stored bytes, the whole message as it is
    delivered (its ``attachments`` only describe what is inside); None for any other."""
    if doc.get("raw_mime_bytes") is None:
        return None
    inline = doc.get("raw_mime")  # a small one is kept in its document (no round trip)
    if inline is not None:
        return bytes(inline)
    chunks = int(doc.get("body_chunks") or 0)
    if not chunks:
        raise LookupError("its bytes were purged under the retention policy")
    return await load(db, doc.get("body_id") or doc["_id"], chunks)


async def load_attachments(db: Database, doc: MessageDocument) -> tuple[Attachment, ...]:
    """The message's attachments as the MIME builder and the providers take them: views
    into its bytes, loaded in one round trip (none when it has no attachments, or when
    it was submitted over SMTP: see :func:`load_submitted`)."""
    described = doc.get("attachments") or []
    if not described or doc.get("raw_mime_bytes") is not None:
        return ()
    owner = doc.get("body_id") or doc["_id"]
    data = memoryview(await load(db, owner, int(doc.get("body_chunks") or 0)))
    return tuple(
        Attachment(
            filename=str(d["filename"]),
            content_type=str(d["content_type"]),
            data=data[int(d["offset"]) : int(d["offset"]) + int(d["size"])],
            content_id=d.get("content_id"),
        )
        for d in described
    )
