"""``mailpass messages show ID`` / ``mailpass messages list --account A``: where mail stands.

``show`` answers "why is it still queued?" without reading logs: the message's state in
a sentence (waiting for the scheduler, in a queue, being delivered, waiting for its next
attempt...), then its timeline, oldest first: each delivery event with the provider's
reply as the provider gave it, tracking events, and when the next attempt is due (the
last deferral's time plus the delay its job waits in a RabbitMQ delay queue).

``list`` shows an account's messages, newest first, optionally of one status, with the
next attempt of each deferred one. Neither ever prints a message's content.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta
from typing import Any

from mailpass_cli import CliContext, CliError
from mailpass_cli.keys import account_id
from mailpass_cli.output import add_output_option, structured
from mailpass_common.messages import events
from mailpass_common.messages import search as message_search
from mailpass_common.messages import service as messages
from mailpass_common.messages.ids import normalize_message_id
from mailpass_common.messages.models import MessageDocument, MessageStatus, stored_datetime
from mailpass_common.messages.search import MessageFilter
from mailpass_common.platform.db import Document
from mailpass_common.platform.jobs import MessageKind


def stamp(value: Any) -> str:
    """A date as UTC ``YYYY-MM-DDTHH:MM:SSZ`` (``-`` when there is none)."""
    when = stored_datetime(value)
    return "-" if when is None else f"{when:%Y-%m-%dT%H:%M:%SZ}"


def _from_now(when: datetime, now: datetime) -> str:
    seconds = round((when - now).total_seconds())
    return f"in {seconds} s" if seconds >= 0 else f"{-seconds} s ago"


def state(doc: MessageDocument, deferral: Document | None, now: datetime) -> str:
    """Where the message stands, in one sentence."""
    status = doc["status"]
    if status == MessageStatus.QUEUED.value:
        if doc.get("published_at") is None:
            return (
                "queued: waiting for the scheduler to publish it (its provider's hourly or "
                "daily limit, or the next run)"
            )
        published = stamp(doc["published_at"])
        kind = doc.get("kind", MessageKind.BATCH.value)
        return f"queued: its job was published at {published}; waiting in the {kind} queue"
    if status == MessageStatus.SENDING.value:
        claimed = stamp(doc.get("claimed_at"))
        return f"sending: claimed by a sender at {claimed} (attempt {doc.get('attempts', 1)})"
    if status == MessageStatus.DEFERRED.value:
        due = events.retry_due(deferral) if deferral else None
        if due is None:
            return "deferred: no retry recorded"
        return f"deferred: next attempt at {stamp(due)} ({_from_now(due, now)})"
    if status == MessageStatus.SENT.value:
        by = f"{doc.get('provider_type', 'provider')} {doc.get('delivered_by', '')}".strip()
        fallback = " (a fallback)" if doc.get("fallback") else ""
        return f"sent at {stamp(doc.get('sent_at'))} by {by}{fallback}"
    dead = (
        "; its job is in the dead-letter queue (mailpass dlq list)"
        if doc.get("dead_lettered")
        else ""
    )
    return f"failed: {doc.get('error_message') or 'no reason recorded'}{dead}"


def _event_line(event: Document) -> str:
    kind = str(event.get("event_type", "?"))
    parts = [stamp(event.get("created_at")), f"{kind:<9}"]
    if event.get("attempt") is not None:
        parts.append(f"attempt {event['attempt']}")
    detail = event.get("detail") or event.get("url") or ""
    if detail:
        parts.append(str(detail))
    if event.get("classification"):
        parts.append(f"({event['classification']})")
    if kind == "deferred" and (due := events.retry_due(event)) is not None:
        parts.append(f"-> retry at {stamp(due)}")
    return "  ".join(parts).rstrip()


def _event_record(event: Document) -> dict[str, Any]:
    record = {
        "event_type": event.get("event_type"),
        "created_at": stored_datetime(event.get("created_at")),
    }
    for field in ("attempt", "detail", "url", "classification"):
        if event.get(field) is not None:
            record[field] = event[field]
    if event.get("event_type") == "deferred":
        record["retry_at"] = events.retry_due(event)
    return record


async def show(args: argparse.Namespace, ctx: CliContext) -> int:
    message_id = normalize_message_id(args.message_id)
    doc = await messages.get_message(ctx.db, message_id)
    if doc is None:
        raise CliError(f"no message {message_id}")
    history = await events.timeline(ctx.db, doc)
    deferrals = [e for e in history if e.get("event_type") == "deferred"]
    now = datetime.now(UTC)
    status = state(doc, deferrals[-1] if deferrals else None, now)
    record = {
        "message_id": doc["_id"],
        "account_id": doc["account_id"],
        "kind": doc.get("kind"),
        "to": doc.get("to"),
        "subject": doc.get("subject"),
        "attempts": doc.get("attempts", 0),
        "status": doc["status"],
        "state": status,
        "created_at": doc.get("created_at"),
        "timeline": [_event_record(event) for event in history],
    }
    if structured(args, record):
        return 0
    print(f"message   {doc['_id']}")
    print(f"account   {doc['account_id']}")
    print(f"kind      {doc.get('kind', '-')}")
    print(f"to        {doc.get('to', '-')}")
    print(f"subject   {doc.get('subject', '-')}")
    print(f"attempts  {doc.get('attempts', 0)}")
    print(f"status    {status}")
    print()
    print("timeline")
    print(f"{stamp(doc.get('created_at'))}  accepted")
    for event in history:
        print(_event_line(event))
    return 0


async def list_(args: argparse.Namespace, ctx: CliContext) -> int:
    owner = await account_id(ctx, args.account)
    filters = MessageFilter(
        sandbox=args.test,
        status=args.status,
        created_after=datetime.now(UTC) - timedelta(days=args.days),
    )
    found: list[MessageDocument] = []
    cursor = None
    while len(found) < args.limit:
        page = await message_search.list_messages(
            ctx.db, owner, filters, limit=args.limit - len(found), cursor=cursor
        )
        found += page.messages
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    rows: list[dict[str, Any]] = []
    for doc in found:
        due = None
        if doc["status"] == MessageStatus.DEFERRED.value:
            deferral = await events.last_deferral(ctx.db, doc)
            due = events.retry_due(deferral) if deferral else None
        rows.append(
            {
                "message_id": doc["_id"],
                "status": doc["status"],
                "attempts": doc.get("attempts", 0),
                "created_at": stored_datetime(doc.get("created_at")),
                "next_attempt_at": due,
                "to": doc.get("to"),
                "error_message": doc.get("error_message"),
            }
        )
    if structured(args, rows):
        return 0
    print("MESSAGE_ID\tSTATUS\tATTEMPTS\tCREATED\tNEXT_ATTEMPT\tTO\tLAST_ERROR")
    for row in rows:
        error = (row["error_message"] or "-").replace("\t", " ").replace("\n", " ")
        print(
            f"{row['message_id']}\t{row['status']}\t{row['attempts']}\t"
            f"{stamp(row['created_at'])}\t{stamp(row['next_attempt_at'])}\t"
            f"{row['to'] or '-'}\t{error[:120]}"
        )
    print(f"{len(found)} message(s) created in the last {args.days} day(s), newest first")
    return 0


def register(groups: Any) -> None:
    parser: argparse.ArgumentParser = groups.add_parser(
        "messages", help="where a message stands, and an account's messages"
    )
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("show", help="a message's state and timeline")
    p.add_argument("message_id", metavar="MESSAGE_ID", help="with or without its <>")
    add_output_option(p)
    p.set_defaults(handler=show)
    p = commands.add_parser("list", help="an account's messages, newest first")
    p.add_argument("--account", required=True, help="the account's name")
    p.add_argument("--status", choices=[s.value for s in MessageStatus])
    p.add_argument("--limit", type=int, default=20, choices=range(1, 1001), metavar="1..1000")
    p.add_argument("--days", type=int, default=7, help="created in the last DAYS days (default 7)")
    p.add_argument("--test", action="store_true", help="messages sent with test keys instead")
    add_output_option(p)
    p.set_defaults(handler=list_)
