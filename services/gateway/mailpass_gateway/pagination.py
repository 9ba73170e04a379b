"""One pagination shape for every list: ``limit`` and ``cursor`` in, ``next_cursor`` out
(null on the last page), the items under the resource's plural name:
``{"data": {"<items>": [...], "next_cursor": ...}}``.

Lists kept in their own order by the database (messages, events, suppressions, webhook
attempts) make their own cursors; :func:`page_query` gives each the same parameters, with
the former names (``after`` on suppressions, ``before`` on a message's events) still
accepted. Keys, providers and webhook endpoints are a few entries per account, read whole
in their creation order: :func:`cut_page` pages them with a cursor naming the last entry
shown (its creation time and id), so an entry removed between two pages loses nothing.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Query

from mailpass_common.platform.errors import ErrorCode
from mailpass_gateway.errors import ApiError

T = TypeVar("T")
MAX_CURSOR_CHARS = 400
CURSOR_DESCRIPTION = "`next_cursor` of the previous page"


@dataclass(frozen=True)
class PageQuery:
    limit: int
    cursor: str | None


def page_query(
    *, default: int, maximum: int, former: str | None = None
) -> Callable[..., Awaitable[PageQuery]]:
    """The ``limit`` and ``cursor`` parameters (and the former name of ``cursor``)."""

    def limit_query() -> Any:
        return Query(default, ge=1, le=maximum, description="Entries per page")

    def cursor_query() -> Any:
        return Query(None, max_length=MAX_CURSOR_CHARS, description=CURSOR_DESCRIPTION)

    if former is None:

        async def plain(
            limit: int = limit_query(), cursor: str | None = cursor_query()
        ) -> PageQuery:
            return PageQuery(limit, cursor)

        return plain

    async def with_former(
        limit: int = limit_query(),
        cursor: str | None = cursor_query(),
        former_cursor: str | None = Query(
            None,
            alias=former,
            max_length=MAX_CURSOR_CHARS,
            deprecated=True,
            description="The former name of `cursor`, still accepted",
        ),
    ) -> PageQuery:
        return PageQuery(limit, cursor if cursor is not None else former_cursor)

    return with_former


def _position(key: tuple[str, str]) -> str:
    return base64.urlsafe_b64encode("\n".join(key).encode()).decode().rstrip("=")


def _parse(cursor: str) -> tuple[str, str]:
    try:
        created, _, entry_id = (
            base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode().partition("\n")
        )
    except (binascii.Error, UnicodeDecodeError, ValueError):
        created, entry_id = "", ""
    if not entry_id:
        raise ApiError(
            ErrorCode.VALIDATION_ERROR,
            "Invalid request: cursor",
            [{"field": "cursor", "message": "not a cursor returned by this list"}],
        )
    return created, entry_id


def cut_page(
    entries: Sequence[T], page: PageQuery, position: Callable[[T], tuple[str, str]]
) -> tuple[list[T], str | None]:
    """The page of ``entries`` (in ``position`` order) after ``page.cursor``, and the cursor
    of the next page (None on the last)."""
    ordered = sorted(entries, key=position)
    if page.cursor is not None:
        after = _parse(page.cursor)
        ordered = [e for e in ordered if position(e) > after]
    shown = ordered[: page.limit]
    more = len(ordered) > page.limit
    return shown, _position(position(shown[-1])) if more and shown else None


def created_then_id(id_field: str) -> Callable[[Mapping[str, Any]], tuple[str, str]]:
    """A stored document's place in its list: its creation time, then its id."""
    return lambda doc: (str(doc.get("created_at") or ""), str(doc.get(id_field) or ""))


# The small administered lists (keys, providers, webhook endpoints): 100 a page at most.
Page = Annotated[PageQuery, Depends(page_query(default=100, maximum=100))]
