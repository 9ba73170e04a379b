"""Attachment chunks go with the bodies under MESSAGE_RETENTION_DAYS; a resend's borrowed
chunks are its owner's to delete."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

from mailpass_common.messages import attachment_store as bodies
from mailpass_common.messages import retention
from mailpass_common.messages import service as messages
from mailpass_common.platform.db import Collections, Database, ensure_indexes
from tests.delivery.test_retention import _message


async def test_purging_a_body_deletes_its_attachment_chunks(db: Database) -> None:
    await ensure_indexes(db)
    old = _message("acc_x", "prv_x", "sent", timedelta(days=40), 1)
    young = _message("acc_x", "prv_x", "sent", timedelta(days=1), 2)
    resent = _message("acc_x", "prv_x", "failed", timedelta(days=40), 3)
    data = os.urandom(bodies.CHUNK_BYTES + 10)
    for doc in (old, young):
        chunks = bodies.chunk_documents(doc["_id"], data)
        await bodies.store(db, chunks)
        doc["body_chunks"] = len(chunks)
        doc["attachments"] = [
            {
                "filename": "a.bin",
                "content_type": "application/octet-stream",
                "content_id": None,
                "offset": 0,
                "size": len(data),
            }
        ]
    resent["body_chunks"] = 2
    resent["body_id"] = young["_id"]
    resent["attachments"] = young["attachments"]
    await messages.insert_messages(db, [old, young, resent])

    purged = await retention.purge_bodies(db, datetime.now(UTC) - timedelta(days=30), 100)
    assert purged == 2
    left = await db[Collections.MESSAGE_BODIES].find({}, projection={"_id": 1}).to_list()
    assert sorted(doc["_id"] for doc in left) == bodies.chunk_ids(young["_id"], 2)
    assert await bodies.load(db, young["_id"], 2) == data
    assert (await bodies.load_attachments(db, resent))[0].data == data
