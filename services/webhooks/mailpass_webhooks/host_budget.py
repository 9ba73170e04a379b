"""Deliveries per destination host per second, across endpoints, accounts and replicas.

Endpoints are capped per account, but many endpoints (of one account or of several) can
name one host: without a bound, one event fans out into a burst of signed requests at it,
each retried. So every delivery first takes a slot of its host's current second from a
counter shared by all webhooks processes::

    {_id: "webhook_host:{host}", second: 1765051234, count: 7}

One ``find_one_and_update`` with ``$inc`` in the common case (the counter of the current
second exists): the count it returns says whether the slot is within
``WEBHOOK_HOST_RATE_PER_SECOND``. Beyond it, the job waits in a delay queue for as many
whole seconds as the excess asks (a burst of 300 at a rate of 20 comes back over 15
seconds, not all at the next second), and takes a slot again then: the bound holds for
the jobs that come back too. A new second resets the counter with a conditional update
that only one racer wins (the others then count in it); a second older than the
counter's (another process's clock runs ahead) counts in the counter's.

The host is the URL's host name as the HTTP client connects to it (lower-cased, without
a trailing dot), so ``Hooks.Example.com.`` and ``hooks.example.com`` share one budget.
"""

from __future__ import annotations

import contextlib
import math
import time
from urllib.parse import urlsplit

from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from mailpass_common.platform.db import Collections, Database, where

# A job past the budget waits at most this long before it tries again.
MAX_WAIT_SECONDS = 60
_ATTEMPTS = 4


def host_of(url: str) -> str:
    return (urlsplit(url).hostname or "").rstrip(".").lower()


async def wait_seconds(db: Database, host: str, rate: int, now: float | None = None) -> int:
    """0 when a delivery to ``host`` may go now (its slot is taken), else how many
    seconds it should wait before asking again."""
    second = int(time.time() if now is None else now)
    counters = db[Collections.COUNTERS]
    doc_id = f"webhook_host:{host}"
    for _ in range(_ATTEMPTS):
        doc = await counters.find_one_and_update(
            where(_id=doc_id, second={"$gte": second}),
            {"$inc": {"count": 1}},
            return_document=ReturnDocument.AFTER,
        )
        if doc is not None:
            excess = int(doc["count"]) - rate
            return 0 if excess <= 0 else min(MAX_WAIT_SECONDS, math.ceil(excess / rate))
        reset = await counters.update_one(
            where(_id=doc_id, second={"$lt": second}), {"$set": {"second": second, "count": 1}}
        )
        if reset.modified_count == 1:
            return 0
        with contextlib.suppress(DuplicateKeyError):  # created by a racer: count in it
            await counters.insert_one({"_id": doc_id, "second": second, "count": 1})
            return 0
    return 1
