"""``mailpass dlq list`` / ``mailpass dlq replay [--all | MESSAGE_ID...]``: the dead letters.

Jobs land in the dead-letter queue when the sender gave up on them (every attempt failed
temporarily) or RabbitMQ did (a job that crashed its consumer too often). ``list`` shows
each with its message's current state and leaves the queue as it was. ``replay`` puts a
message back in play: its status goes back to ``queued`` with a fresh attempt budget
(the one sanctioned step backwards, taken by an operator and recorded as an event), its
job is published again with confirms, and only then is the dead letter removed. A crash
in between leaves both, and the duplicate job is harmless: the claim lets one through.
"""

from __future__ import annotations

import argparse
from typing import Any

from mailpass_cli import CliContext, CliError
from mailpass_cli.output import add_output_option, structured
from mailpass_common.messages import events
from mailpass_common.messages import failed as failed_messages
from mailpass_common.messages import service as messages
from mailpass_common.messages.models import EventType, MessageDocument, MessageStatus
from mailpass_common.platform import broker
from mailpass_common.platform.broker import JobPublisher, Topology
from mailpass_common.platform.dead_letters import read_dead_letters
from mailpass_common.platform.jobs import MessageKind, SendJob


async def _connect(ctx: CliContext) -> Any:
    try:
        return await broker.connect(ctx.settings.amqp_url)
    except Exception as exc:
        raise CliError(f"RabbitMQ does not answer at AMQP_URL: {exc}") from exc


async def list_(args: argparse.Namespace, ctx: CliContext) -> int:
    topology = Topology(ctx.settings.amqp_prefix)
    connection = await _connect(ctx)
    async with connection:
        channel = await connection.channel()
        # Read unacked, then the channel closes: every dead letter goes back untouched.
        dead_letters = await read_dead_letters(channel, topology)
        rows: list[dict[str, Any]] = []
        for dead in dead_letters:
            job = dead.job
            if job is None:
                rows.append({"message_id": None, "reason": dead.reason, "error": dead.error})
                continue
            for message_id in job.message_ids:
                doc = await messages.get_message(ctx.db, message_id)
                rows.append(
                    {
                        "message_id": message_id,
                        "account_id": job.account_id,
                        "status": doc["status"] if doc else None,
                        "reason": dead.reason,
                        "attempts": doc.get("attempts") if doc else None,
                        "error": (doc.get("error_message") if doc else None) or dead.error,
                    }
                )
    if structured(args, rows):
        return 0
    print("message_id\taccount_id\tstatus\treason\tattempts\terror")
    for row in rows:
        if row["message_id"] is None:
            print(f"(not a job)\t-\t-\t{row['reason']}\t-\t{row['error'] or '-'}")
            continue
        status = row["status"] or "(no message)"
        attempts = "-" if row["attempts"] is None else str(row["attempts"])
        print(
            f"{row['message_id']}\t{row['account_id']}\t{status}\t{row['reason']}\t"
            f"{attempts}\t{row['error'] or '-'}"
        )
    print(f"{len(dead_letters)} dead letter(s) in {topology.dead_letter_queue}")
    return 0


async def _reset(ctx: CliContext, doc: MessageDocument) -> None:
    """Make a failed message claimable again, with a new attempt budget. One that is not
    failed (a duplicate letter, a replay already under way) is left as it is."""
    failed = await failed_messages.requeue_failed(ctx.db, doc["_id"])
    if failed is None:
        return
    # The failure was the message's outcome; it now moves into its history.
    failure = events.outcome_event(failed)
    replayed = events.event_document(
        message_id=doc["_id"],
        account_id=doc["account_id"],
        event_type=EventType.QUEUED,
        sandbox=bool(doc.get("sandbox")),
        detail="replayed from the dead-letter queue",
    )
    await events.insert_events(ctx.db, [e for e in (failure, replayed) if e is not None])


async def replay(args: argparse.Namespace, ctx: CliContext) -> int:
    """Replay the letters that name a wanted message (or all). A letter naming several
    messages (a batch job RabbitMQ gave up on) is replayed whole."""
    if not args.all and not args.message_ids:
        raise CliError("name the messages to replay, or pass --all")
    wanted = set(args.message_ids)
    topology = Topology(ctx.settings.amqp_prefix)
    connection = await _connect(ctx)
    replayed = dropped = 0
    async with connection:
        publisher = JobPublisher(connection, topology)
        channel = await connection.channel()
        for dead in await read_dead_letters(channel, topology):
            job = dead.job
            if job is None or not (args.all or wanted.intersection(job.message_ids)):
                continue  # stays: unacked letters return to the queue when we close
            wanted.difference_update(job.message_ids)
            to_publish: dict[MessageKind, list[str]] = {}
            for message_id in job.message_ids:
                doc = await messages.get_message(ctx.db, message_id)
                if doc is None or doc["status"] == MessageStatus.SENT.value:
                    # Nothing left to deliver: the letter is only noise for this one.
                    print(f"{message_id}: {'no such message' if doc is None else 'already sent'}")
                    dropped += 1
                    continue
                await _reset(ctx, doc)
                kind = MessageKind(doc.get("kind", MessageKind.BATCH.value))
                to_publish.setdefault(kind, []).append(message_id)
                replayed += 1
                print(f"{message_id}: replayed")
            for kind, ids in to_publish.items():
                await publisher.publish_many(SendJob.of(job.account_id, ids), kind)
            await dead.message.ack()
    for missing in sorted(wanted):
        print(f"{missing}: not in the dead-letter queue")
    print(f"replayed {replayed}, removed {dropped}")
    return 1 if wanted else 0


def register(groups: Any) -> None:
    parser: argparse.ArgumentParser = groups.add_parser(
        "dlq", help="inspect and replay the dead-letter queue"
    )
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("list", help="list dead letters (leaves them in place)")
    add_output_option(p)
    p.set_defaults(handler=list_)
    p = commands.add_parser("replay", help="deliver dead-lettered messages again")
    p.add_argument("message_ids", nargs="*", metavar="MESSAGE_ID")
    p.add_argument("--all", action="store_true", help="replay every dead letter")
    p.set_defaults(handler=replay)
