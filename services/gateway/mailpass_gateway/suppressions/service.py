"""The suppression list as the API and the console change it: the rules, written once.

Both read the list a page at a time; adding and removing need the ``mail`` permission and
a live key (the list applies to live mail too), which each checks at its door (the API's
``LiveMailKey``, the console's ``require_change``). An address added by hand is a
``manual`` entry with the note as its detail; adding one that is listed already keeps its
first reason. Nothing is cached: a send reads the list when it is accepted.
"""

from __future__ import annotations

from typing import Any

from mailpass_common.audit.record import record
from mailpass_common.platform.db import Database, Document
from mailpass_common.platform.errors import ErrorCode
from mailpass_common.suppressions import service as suppressions
from mailpass_gateway.errors import ApiError
from mailpass_gateway.suppressions.models import SuppressionCreate


async def list_page(
    db: Database, account_id: str, *, limit: int, prefix: str = "", after: str | None = None
) -> tuple[list[Document], str | None]:
    """Up to ``limit`` entries in address order from ``prefix``, and the next page's cursor."""
    return await suppressions.page(db, account_id, limit=limit, prefix=prefix, after=after)


async def add_suppression(
    db: Database, account_id: str, body: SuppressionCreate, *, source: str
) -> tuple[Document, bool]:
    """The address's entry, and whether this call listed it (False: it was listed already,
    its first entry stands). ``source`` says where it was added: ``api`` or ``console``."""
    entry = suppressions.Suppression(
        account_id=account_id,
        address=body.address,
        reason=suppressions.SuppressionReason.MANUAL,
        source=source,
        detail=body.note,
    )
    added = await suppressions.add_many(db, [entry])
    doc = await suppressions.get(db, account_id, body.address)
    assert doc is not None  # just upserted
    if added:
        await _audit(db, account_id, "suppression.created", doc["address"], None, doc)
    return doc, bool(added)


async def remove_suppression(db: Database, account_id: str, address: str) -> bool:
    """Take the address off the list (it may be sent to again); False when it was not on it."""
    before = await suppressions.get(db, account_id, address)
    removed = await suppressions.remove(db, account_id, address)
    if removed and before is not None:
        await _audit(db, account_id, "suppression.deleted", before["address"], before, None)
    return removed


def _state(doc: Document | None) -> dict[str, Any] | None:
    if doc is None:
        return None
    return {f: doc.get(f) for f in ("address", "reason", "source", "detail", "created_at")}


async def _audit(
    db: Database,
    account_id: str,
    action: str,
    address: str,
    before: Document | None,
    after: Document | None,
) -> None:
    await record(
        db,
        account_id=account_id,
        action=action,
        resource_type="suppression",
        resource_id=address,
        before=_state(before),
        after=_state(after),
    )


def not_listed(address: str) -> ApiError:
    return ApiError(
        ErrorCode.NOT_FOUND,
        f"{address} is not on this account's suppression list",
        {"address": address},
    )
