"""Reading the audit log: an account's entries, newest first, filtered, a page at a time.

Query shapes (see :mod:`mailpass_common.platform.db`, which declares the indexes):
equality on ``account_id`` and at most the filter's leading field beside a ``seq``
range, sorted on ``seq``; each served by one of these indexes
(``tests/audit/test_query_plans.py`` checks the plans on the database in use):

- no filter, an action, or a time range: ``(account_id, seq)``; ``action`` narrows the
  walk (evaluated along the index, never over other accounts);
- an actor: ``(account_id, actor_id, seq)``;
- a resource type (and id): ``(account_id, resource_type, resource_id, seq)``.

A time range is a ``seq`` range (an ObjectId made from the bound's time), and the cursor
is the last ``seq`` shown: the next page is ``seq`` below it, so entries appended
meanwhile never shift a page.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bson import ObjectId

from mailpass_common.platform.db import Collections, Database, Document, where

COLLECTION = Collections.AUDIT_EVENTS
MAX_PAGE = 100
NEWEST_FIRST = [("seq", -1)]


@dataclass(frozen=True)
class AuditFilter:
    actor_id: str | None = None
    actor_type: str | None = None
    resource_type: str | None = None
    resource_id: str | None = None
    action: str | None = None
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive


# An ObjectId holds its time as unsigned 32-bit seconds: dates outside 1970-2106 bound
# the range at its ends rather than failing.
_FIRST_SEQ, _LAST_SEQ = "0" * 24, "f" * 24


def _seq_at(moment: datetime) -> str:
    seconds = moment.timestamp()
    if seconds < 0:
        return _FIRST_SEQ
    if seconds >= 2**32:
        return _LAST_SEQ
    return str(ObjectId.from_datetime(moment))


def is_cursor(value: str) -> bool:
    return ObjectId.is_valid(value) and value == value.lower()


def selector(account_id: str, found: AuditFilter, before_seq: str | None = None) -> Document:
    fields: dict[str, Any] = {"account_id": account_id}
    if found.actor_id is not None:
        fields["actor_id"] = found.actor_id
    if found.resource_type is not None:
        fields["resource_type"] = found.resource_type
    if found.resource_id is not None:
        fields["resource_id"] = found.resource_id
    if found.actor_type is not None:
        fields["actor_type"] = found.actor_type
    if found.action is not None:
        fields["action"] = found.action
    seq: dict[str, str] = {}
    if found.since is not None:
        seq["$gte"] = _seq_at(found.since)
    uppers = [s for s in (before_seq, found.until and _seq_at(found.until)) if s]
    if uppers:
        seq["$lt"] = min(uppers)
    if seq:
        fields["seq"] = seq
    return where(**fields)


async def page(
    db: Database, account_id: str, found: AuditFilter, *, limit: int, cursor: str | None
) -> tuple[list[Document], str | None]:
    """Up to ``limit`` entries newest first after ``cursor``, and the next page's cursor
    (None on the last). ``cursor`` must satisfy :func:`is_cursor`."""
    docs = (
        await db[COLLECTION]
        .find(selector(account_id, found, cursor))
        .sort(NEWEST_FIRST)
        .limit(limit + 1)
        .to_list()
    )
    shown = docs[:limit]
    return shown, shown[-1]["seq"] if len(docs) > limit and shown else None
