"""``mailpass db init``: create the MongoDB indexes every service relies on.

The chart runs it in a post-install/post-upgrade Job, so a new version's indexes exist
before its traffic depends on them. Creating an index that exists is a no-op: it is safe
to run any number of times. A database that does not answer fails the command (exit 1)
and the Job retries it. The TTL indexes follow ``MESSAGE_METADATA_RETENTION_DAYS``
(created, changed or dropped).
"""

from __future__ import annotations

import argparse
from typing import Any

from mailpass_cli import CliContext
from mailpass_common.messages import idempotency
from mailpass_common.platform import db


async def init(args: argparse.Namespace, ctx: CliContext) -> int:
    await db.ensure_indexes(ctx.db, ctx.settings)
    await idempotency.ensure_indexes(ctx.db)
    print(f"indexes are in place in database {ctx.db.name}")
    return 0


def register(groups: Any) -> None:
    parser: argparse.ArgumentParser = groups.add_parser("db", help="database maintenance")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("init", help="create the MongoDB indexes (idempotent)").set_defaults(
        handler=init
    )
