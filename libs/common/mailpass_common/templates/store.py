"""The ``templates`` collection: an account's templates and their last versions.

One document per template. Its current parts (``subject``, ``html``, ``text``) are at
the top, for sending; ``versions`` keeps the last :data:`KEPT_VERSIONS` of them, newest
last (the current one included), bounded and read together, so in the same document.
Every change is one conditional update on the version it read: two concurrent editors
cannot both make version 4; the one that loses reads again and makes version 5. The
kept versions are written whole (``$set``), not with ``$push``/``$slice``: nx-27017
0.8.1 turns the documents of an array it pushes to into JSON strings.

Ids are ``tpl_`` and an ObjectId, which grows with time; ``position`` is that ObjectId
alone, so the list is the account's templates oldest first, a page at a time, the cursor
the last position (index ``account_id, position``: nx-27017 indexes no range on
``_id``). A template is found by id or by its alias, both through ``handle``: its alias,
or its id when it has none (index ``account_id, handle``, unique). Aliases never start
with ``tpl_``, so an id never passes for another template's alias; the index is whole,
not partial on ``alias``, so one index serves both. Equalities are ``$eq`` (``where``),
the shape nx-27017 plans with an index.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bson import ObjectId
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from mailpass_common.platform.db import Collections, Database, Document, now_stamp, where

ID_PREFIX = "tpl_"
KEPT_VERSIONS = 20
MAX_PAGE = 100
SUMMARY = {"html": 0, "text": 0, "versions": 0}
_UPDATE_ATTEMPTS = 5
IN_ORDER = [("account_id", 1), ("position", 1)]


class AliasTaken(Exception):
    pass


@dataclass(frozen=True)
class TemplateParts:
    subject: str
    html: str | None
    text: str | None
    variables: list[str]  # what the parts use (shown to editors; not enforced from here)

    def version(self, number: int, now: datetime) -> Document:
        return {
            "version": number,
            "subject": self.subject,
            "html": self.html,
            "text": self.text,
            "variables": self.variables,
            "created_at": now,
        }


def _now() -> datetime:
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)  # what BSON keeps


def reference_selector(account_id: str, reference: str) -> dict[str, Any]:
    """By id, or by alias: a template with an alias is found by its id too."""
    if reference.startswith(ID_PREFIX):
        return where(_id=reference, account_id=account_id)
    return where(account_id=account_id, handle=reference)


async def create(
    db: Database, account_id: str, *, name: str, alias: str | None, parts: TemplateParts
) -> Document:
    now = _now()
    position = str(ObjectId())
    doc: Document = {
        "_id": f"{ID_PREFIX}{position}",
        "account_id": account_id,
        "position": position,
        "name": name,
        **({"alias": alias} if alias else {}),
        "handle": alias or f"{ID_PREFIX}{position}",
        **parts.version(1, now),
        "updated_at": now,
        "versions": [parts.version(1, now)],
    }
    try:
        await db[Collections.TEMPLATES].insert_one(doc)
    except DuplicateKeyError as exc:
        raise AliasTaken(alias) from exc
    return doc


async def get(
    db: Database, account_id: str, reference: str, *, summary: bool = False
) -> Document | None:
    """A template by id or alias; with ``summary``, without its bodies and versions."""
    return await db[Collections.TEMPLATES].find_one(
        reference_selector(account_id, reference), projection=SUMMARY if summary else None
    )


def page_selector(account_id: str, after: str | None = None) -> dict[str, Any]:
    if after is None:
        return where(account_id=account_id)
    return where(account_id=account_id, position={"$gt": after})


async def page(
    db: Database, account_id: str, *, limit: int, after: str | None = None
) -> tuple[list[Document], str | None]:
    """Up to ``limit`` templates oldest first (without bodies), and the next cursor."""
    limit = max(1, min(limit, MAX_PAGE))
    found = await (
        db[Collections.TEMPLATES]
        .find(page_selector(account_id, after), projection=SUMMARY)
        .sort(IN_ORDER)
        .limit(limit + 1)
        .to_list()
    )
    more = len(found) > limit
    found = found[:limit]
    return found, (str(found[-1]["position"]) if more and found else None)


async def update(
    db: Database,
    account_id: str,
    reference: str,
    *,
    name: str | None = None,
    alias: str | None = None,
    parts: TemplateParts | None = None,
) -> Document | None:
    """Rename, re-alias, or make a new version; the template as it is now, None if
    there is none. A change of the parts is a new version; the 20 newest are kept."""
    templates = db[Collections.TEMPLATES]
    for _ in range(_UPDATE_ATTEMPTS):
        current = await templates.find_one(
            reference_selector(account_id, reference), projection={"version": 1, "versions": 1}
        )
        if current is None:
            return None
        changes: dict[str, Any] = {}
        if name is not None:
            changes["name"] = name
        if alias is not None:
            changes["alias"] = changes["handle"] = alias
        # A timestamp an update writes is $currentDate: nx-27017 0.8.1 gives back a
        # datetime $set at the top of a document as a string.
        operations: dict[str, Any] = {"$set": changes, **now_stamp("updated_at")}
        if parts is not None:
            number = int(current["version"]) + 1
            version = parts.version(number, _now())
            changes.update({k: v for k, v in version.items() if k != "created_at"})
            changes["versions"] = [*(current.get("versions") or []), version][-KEPT_VERSIONS:]
        try:
            found: Document | None = await templates.find_one_and_update(
                {"_id": current["_id"], "version": current["version"]},
                operations,
                return_document=ReturnDocument.AFTER,
            )
        except DuplicateKeyError as exc:
            raise AliasTaken(alias) from exc
        if found is not None:
            return found
    raise RuntimeError("the template kept changing under this update; try again")


async def delete(db: Database, account_id: str, reference: str) -> bool:
    result = await db[Collections.TEMPLATES].delete_one(reference_selector(account_id, reference))
    return result.deleted_count == 1
