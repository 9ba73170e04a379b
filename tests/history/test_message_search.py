"""The message list's pages: newest first, every message once, ties within one millisecond
included (a batch stores many messages in the same millisecond)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from mailpass_common.messages import service as messages
from mailpass_common.messages.models import MessageDocument, new_message
from mailpass_common.messages.search import Cursor, MessageFilter, list_messages
from mailpass_common.platform.db import Database
from mailpass_common.platform.jobs import MessageKind

T0 = datetime(2026, 11, 24, 12, 0, 0, tzinfo=UTC)


def message(n: int, created_at: datetime, **fields: object) -> MessageDocument:
    doc = new_message(
        message_id=f"<m{n:03d}@test>",
        account_id=str(fields.pop("account_id", "acc_a")),
        kind=MessageKind.BATCH,
        sandbox=bool(fields.pop("sandbox", False)),
        provider_id="prv_x",
        from_email="noreply@acme.test",
        from_name=None,
        to=str(fields.pop("to", f"user{n}@example.com")),
        subject=f"Hello {n}",
        html=None,
        text="hi",
        tags=list(fields.pop("tags", [])),  # type: ignore[call-overload]
    )
    doc["created_at"] = created_at
    doc.update(fields)  # type: ignore[typeddict-item]
    return doc


async def walk(db: Database, filters: MessageFilter, limit: int) -> list[list[str]]:
    pages: list[list[str]] = []
    cursor: Cursor | None = None
    while True:
        page = await list_messages(db, "acc_a", filters, limit=limit, cursor=cursor)
        pages.append([doc["_id"] for doc in page.messages])
        if page.next_cursor is None:
            return pages
        cursor = Cursor.decode(page.next_cursor.encode())  # as a client hands it back


async def test_pages_hold_every_message_once_newest_first_across_ties(db: Database) -> None:
    ms = timedelta(milliseconds=1)
    docs = [message(n, T0 - timedelta(seconds=n)) for n in range(3)]
    # A batch within one second: some in the same millisecond, some not (ids in reverse
    # order of time, so a millisecond order would differ from the id order).
    docs += [message(n, T0 - timedelta(seconds=10) + (n % 3) * ms * 200) for n in range(3, 10)]
    docs += [message(n, T0 - timedelta(seconds=n + 20, milliseconds=500)) for n in range(10, 13)]
    docs += [message(99, T0, account_id="acc_b"), message(98, T0, sandbox=True)]
    await messages.insert_messages(db, docs)

    pages = await walk(db, MessageFilter(sandbox=False), limit=3)
    listed = [mid for page in pages for mid in page]
    assert [len(page) for page in pages] == [3, 3, 3, 3, 1]
    # Newest second first; within the batch's second, by id.
    assert listed == [f"<m{n:03d}@test>" for n in (0, 1, 2, 9, 8, 7, 6, 5, 4, 3, 10, 11, 12)]
    # Every page size gives the same order, each message once.
    for limit in (1, 2, 4, 5, 7, 50):
        pages = await walk(db, MessageFilter(sandbox=False), limit)
        assert [m for page in pages for m in page] == listed, limit

    [test_page] = await walk(db, MessageFilter(sandbox=True), limit=5)
    assert test_page == ["<m098@test>"]


async def test_filters_narrow_the_list_together(db: Database) -> None:
    docs = [
        message(1, T0, to="ann@example.com", tags=["order"], status="failed"),
        message(2, T0 - timedelta(minutes=1), to="ann@example.com", tags=["order", "eu"]),
        message(3, T0 - timedelta(minutes=2), to="bob@example.com", tags=["eu"], status="failed"),
        message(4, T0 - timedelta(days=2), to="ann@example.com", tags=["order"], status="failed"),
    ]
    await messages.insert_messages(db, docs)

    async def ids(**filters: object) -> list[str]:
        page = await list_messages(db, "acc_a", MessageFilter(sandbox=False, **filters))  # type: ignore[arg-type]
        return [doc["_id"] for doc in page.messages]

    assert await ids(to="ann@example.com") == ["<m001@test>", "<m002@test>", "<m004@test>"]
    assert await ids(tag="eu") == ["<m002@test>", "<m003@test>"]
    assert await ids(status="failed", tag="order") == ["<m001@test>", "<m004@test>"]
    assert await ids(created_after=T0 - timedelta(hours=1)) == [
        "<m001@test>",
        "<m002@test>",
        "<m003@test>",
    ]
    assert await ids(created_before=T0 - timedelta(seconds=30), to="ann@example.com") == [
        "<m002@test>",
        "<m004@test>",
    ]
    assert await ids(tag="nope") == []
    page = await list_messages(db, "acc_a", MessageFilter(sandbox=False))
    assert all("html" not in doc and "text" not in doc for doc in page.messages)


def test_a_cursor_is_only_what_this_module_wrote() -> None:
    cursor = Cursor(T0, "<m001@test>")  # T0 is a whole second
    assert Cursor.decode(cursor.encode()) == cursor
    for bad in ("", "abc", "bm9wZQ", cursor.encode() + "!!", "MTIzLjA", "LTEuPGE-"):
        try:
            Cursor.decode(bad)
        except ValueError:
            continue
        raise AssertionError(f"{bad!r} was taken for a cursor")
