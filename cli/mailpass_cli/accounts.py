"""``mailpass accounts create NAME | list | set-tracking NAME [--opens/--no-opens]
[--clicks/--no-clicks] [--unsubscribe/--no-unsubscribe]``."""

from __future__ import annotations

import argparse
from typing import Any

from mailpass_cli import CliContext, CliError
from mailpass_cli.output import add_output_option, structured
from mailpass_common.tenants import accounts


async def create(args: argparse.Namespace, ctx: CliContext) -> int:
    try:
        doc = await accounts.create_account(ctx.db, args.name)
    except accounts.AccountExists as exc:
        raise CliError(f"account {args.name!r} already exists") from exc
    print(f"created account {doc['name']} ({doc['_id']})")
    return 0


async def list_(args: argparse.Namespace, ctx: CliContext) -> int:
    found = await accounts.list_accounts(ctx.db)
    rows = [{"id": d["_id"], "name": d["name"], "created_at": d["created_at"]} for d in found]
    if structured(args, rows):
        return 0
    for doc in found:
        print(f"{doc['_id']}\t{doc['name']}\t{doc['created_at']:%Y-%m-%dT%H:%M:%SZ}")
    return 0


async def set_tracking(args: argparse.Namespace, ctx: CliContext) -> int:
    """The account's tracking defaults; a message's track_opens/track_clicks still win."""
    if args.opens is None and args.clicks is None and args.unsubscribe is None:
        raise CliError(
            "nothing to change: give --opens/--no-opens, --clicks/--no-clicks "
            "and/or --unsubscribe/--no-unsubscribe"
        )
    doc = await accounts.set_tracking(
        ctx.db, args.name, opens=args.opens, clicks=args.clicks, unsubscribe=args.unsubscribe
    )
    if doc is None:
        raise CliError(f"no account named {args.name!r}")
    defaults = accounts.tracking_defaults(doc)
    print(
        f"{args.name}: track_opens={defaults.opens} track_clicks={defaults.clicks} "
        f"unsubscribe={defaults.unsubscribe}"
    )
    return 0


def register(groups: Any) -> None:
    parser: argparse.ArgumentParser = groups.add_parser("accounts", help="manage accounts")
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("create", help="create an account")
    p.add_argument("name")
    p.set_defaults(handler=create)
    p = commands.add_parser("list", help="list accounts")
    add_output_option(p)
    p.set_defaults(handler=list_)
    p = commands.add_parser("set-tracking", help="default open/click tracking of an account")
    p.add_argument("name")
    p.add_argument("--opens", action=argparse.BooleanOptionalAction, default=None)
    p.add_argument("--clicks", action=argparse.BooleanOptionalAction, default=None)
    p.add_argument(
        "--unsubscribe",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="one-click unsubscribe headers on messages that do not choose",
    )
    p.set_defaults(handler=set_tracking)
