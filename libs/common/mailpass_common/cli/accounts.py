"""``mailpass accounts create NAME | list | set-tracking NAME [--opens/--no-opens] ...``."""

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


async def set_tracking(args: argparse.Namespace, ctx: CliContext) -> int:
    """The account's tracking defaults; a message's track_opens/track_clicks still win."""
    changes = {
        f"settings.{field}": value
        for field, value in (("track_opens", args.opens), ("track_clicks", args.clicks))
        if value is not None
    }
    if not changes:
        raise CliError("nothing to change: give --opens/--no-opens and/or --clicks/--no-clicks")
    result = await ctx.db[Collections.ACCOUNTS].update_one({"name": args.name}, {"$set": changes})
    if result.matched_count == 0:
        raise CliError(f"no account named {args.name!r}")
    doc = await ctx.db[Collections.ACCOUNTS].find_one({"name": args.name})
    settings = (doc or {}).get("settings") or {}
    print(
        f"{args.name}: track_opens={bool(settings.get('track_opens', False))} "
        f"track_clicks={bool(settings.get('track_clicks', False))}"
    )
    return 0


def register(groups: Any) -> None:
    parser: argparse.ArgumentParser = groups.add_parser("accounts", help="manage accounts")
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("create", help="create an account")
    p.add_argument("name")
    p.set_defaults(handler=create)
    commands.add_parser("list", help="list accounts").set_defaults(handler=list_)
    p = commands.add_parser("set-tracking", help="default open/click tracking of an account")
    p.add_argument("name")
    p.add_argument("--opens", action=argparse.BooleanOptionalAction, default=None)
    p.add_argument("--clicks", action=argparse.BooleanOptionalAction, default=None)
    p.set_defaults(handler=set_tracking)
