"""An account's messages, newest first, filtered, one page at a time (the console's list
and ``GET /mail/messages``).

Query shapes (see :mod:`mailpass_common.platform.db`): equality on ``account_id`` and ``sandbox``
(and ``to``) beside a ``created_at`` range, served by the index on ``(account_id,
sandbox, created_at)`` or, for one recipient, ``(account_id, sandbox, to, created_at)``.
``status`` and ``tag`` narrow the walk along that index: the database evaluates them
row by row as it walks (on nx-27017 inside SQLite, not in Python), so a rare status in
a very large account costs a longer walk, never a scan of other accounts. The tag uses
the implicit form ``{"tags": tag}``, which matches one element of the array on both
databases (nx-27017's ``$eq`` does not look inside arrays).

Live and test messages are listed apart: a test key's session sees only test messages,
and a live console lists its test messages in the sandbox inbox.

Pages are ordered by the second a message was accepted, newest first, and by id within
a second; the cursor is that second and the id of the last message shown. Whole seconds,
because nx-27017 compares dates at whole seconds (``created_at < 12:00:01.5`` misses a
message of 12:00:01.2) where MongoDB compares milliseconds: every bound this module
writes is a whole second, so both answer alike (and the date filters are cut to the
second for the same reason). The order within a second is never left to the database,
whose own order of equal keys changes with the plan (seen on nx-27017 between a bounded
and an unbounded walk): the messages of the cursor's second are read sorted by id, and
when a page ends inside a second, that second is read again sorted by id. Each such read
sorts one second's messages, never the account's (sorting the whole walk on ``_id``
would need ``_id`` in the index, which nx-27017 refuses, and without it MongoDB sorts
every matching message in memory).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from mailpass_common.messages.models import MessageDocument
from mailpass_common.platform.db import Collections, Database, where

MAX_PAGE = 100
# The list shows neither body: they are read for one message at a time.
LIST_PROJECTION = {"html": 0, "text": 0}


@dataclass(frozen=True)
class MessageFilter:
    sandbox: bool
    status: str | None = None
    tag: str | None = None
    to: str | None = None
    created_after: datetime | None = None  # inclusive
    created_before: datetime | None = None  # exclusive


@dataclass(frozen=True)
class Cursor:
    second: datetime  # the whole second the last message shown was accepted in
    message_id: str

    def encode(self) -> str:
        raw = f"{whole_second(self.second).timestamp():.0f}.{self.message_id}".encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, value: str) -> Cursor:
        """Raises ValueError for anything this module did not write."""
        try:
            raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
            seconds_text, message_id = raw.split(".", 1)
            seconds = int(seconds_text)
        except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
            raise ValueError("not a cursor of this list") from exc
        shaped = message_id.startswith("<") and message_id.endswith(">")
        if not 0 <= seconds < 10**11 or not shaped or len(message_id) > 512:
            raise ValueError("not a cursor of this list")
        return cls(datetime.fromtimestamp(seconds, UTC), message_id)


@dataclass(frozen=True)
class MessagePage:
    messages: list[MessageDocument]
    next_cursor: Cursor | None


def whole_second(value: datetime) -> datetime:
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    return aware.replace(microsecond=0)


def selector(account_id: str, filters: MessageFilter) -> dict[str, Any]:
    found = where(account_id=account_id, sandbox=filters.sandbox)
    if filters.to is not None:
        found |= where(to=filters.to)
    if filters.status is not None:
        found |= where(status=filters.status)
    if filters.tag is not None:
        found["tags"] = filters.tag  # the implicit form: one element of the array
    created: dict[str, datetime] = {}
    if filters.created_after is not None:
        created["$gte"] = whole_second(filters.created_after)
    if filters.created_before is not None:
        created["$lt"] = whole_second(filters.created_before)
    if created:
        found["created_at"] = created
    return found


def older_than(base: dict[str, Any], second: datetime) -> dict[str, Any]:
    return {**base, "created_at": {**base.get("created_at", {}), "$lt": second}}


def within(base: dict[str, Any], second: datetime) -> dict[str, Any]:
    """The messages of one second (read sorted by id: :data:`BY_ID`)."""
    return {**base, "created_at": {"$gte": second, "$lt": second + timedelta(seconds=1)}}


NEWEST_FIRST = [("created_at", -1)]
BY_ID = [("_id", -1)]


async def list_messages(
    db: Database,
    account_id: str,
    filters: MessageFilter,
    *,
    limit: int = 50,
    cursor: Cursor | None = None,
) -> MessagePage:
    limit = max(1, min(limit, MAX_PAGE))
    collection = db[Collections.MESSAGES]
    base = selector(account_id, filters)

    async def read(query: dict[str, Any], order: list[tuple[str, int]], n: int) -> list[Any]:
        found = collection.find(query, projection=LIST_PROJECTION).sort(order).limit(n)
        return await found.to_list()

    async def below(second: datetime, below_id: str, n: int) -> list[Any]:
        # The ids below the cursor's are picked here rather than with an _id range in the
        # filter, which nx-27017 cannot translate (it would scan the collection); the read
        # stops as soon as it has n, within one second's messages.
        found: list[Any] = []
        group = collection.find(within(base, second), projection=LIST_PROJECTION).sort(BY_ID)
        async for doc in group:
            if doc["_id"] < below_id:
                found.append(doc)
                if len(found) == n:
                    break
        await group.close()
        return found

    page: list[Any] = []
    older = base
    if cursor is not None:
        page = await below(cursor.second, cursor.message_id, limit + 1)
        older = older_than(base, cursor.second)
    if len(page) <= limit:
        rest = await read(older, NEWEST_FIRST, limit + 1 - len(page))
        if len(page) + len(rest) > limit:
            # The page ends inside the last second it reached: read that second in id order.
            last = whole_second(rest[-1]["created_at"])
            kept = [doc for doc in rest if whole_second(doc["created_at"]) != last]
            rest = kept + await read(within(base, last), BY_ID, limit + 1 - len(page) - len(kept))
        page += rest
    # Seconds read whole come back in the database's order: put them in the list's.
    page.sort(key=lambda doc: (whole_second(doc["created_at"]), doc["_id"]), reverse=True)
    docs = cast(list[MessageDocument], page[:limit])
    if len(page) <= limit:
        return MessagePage(docs, None)
    return MessagePage(docs, Cursor(whole_second(docs[-1]["created_at"]), docs[-1]["_id"]))
