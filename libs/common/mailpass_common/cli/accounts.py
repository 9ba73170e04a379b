"""``mailpass accounts create NAME`` / ``mailpass accounts list``."""

from __future__ import annotations

import argparse
from typing import Any

from mailpass_common import accounts
from mailpass_common.cli import CliContext, CliError
from mailpass_common.documents import Collections


async def create(args: argparse.Namespace, ctx: CliContext) -> int:
    try:
        doc = await accounts.create_account(ctx.db, args.name)
    except accounts.AccountExists as exc:
        raise CliError(f"account {args.name!r} already exists") from exc
    print(f"created account {doc['name']} ({doc['_id']})")
    return 0


async def list_(args: argparse.Namespace, ctx: CliContext) -> int:
    async for doc in ctx.db[Collections.ACCOUNTS].find().sort("name", 1):
        print(f"{doc['_id']}\t{doc['name']}\t{doc['created_at']:%Y-%m-%dT%H:%M:%SZ}")
    return 0


def register(groups: Any) -> None:
    parser: argparse.ArgumentParser = groups.add_parser("accounts", help="manage accounts")
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("create", help="create an account")
    p.add_argument("name")
    p.set_defaults(handler=create)
    commands.add_parser("list", help="list accounts").set_defaults(handler=list_)
