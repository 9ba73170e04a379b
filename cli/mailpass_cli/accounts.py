"""``mailpass accounts create NAME | list | set-tracking NAME [--opens/--no-opens]
[--clicks/--no-clicks] [--unsubscribe/--no-unsubscribe] | suspend NAME | unsuspend NAME |
set-limits NAME [--hourly N] [--daily N] | usage NAME | delete NAME --yes``.

The platform team's operations are :mod:`mailpass_common.administration.service`'s, the
same the admin API (``/admin/v1``) calls; each is in the account's audit log."""

from __future__ import annotations

import argparse
from typing import Any

from mailpass_cli import CliContext, CliError
from mailpass_cli.output import add_output_option, structured
from mailpass_common.administration import service
from mailpass_common.audit.record import CLI_ACTOR, record
from mailpass_common.platform.db import Document
from mailpass_common.tenants import accounts


async def _named(ctx: CliContext, name: str) -> Document:
    doc = await accounts.get_account_by_name(ctx.db, name)
    if doc is None:
        raise CliError(f"no account named {name!r}")
    return doc


async def create(args: argparse.Namespace, ctx: CliContext) -> int:
    try:
        doc = await service.create_account(ctx.db, CLI_ACTOR, args.name)
    except accounts.AccountExists as exc:
        raise CliError(f"account {args.name!r} already exists") from exc
    print(f"created account {doc['name']} ({doc['_id']})")
    return 0


async def list_(args: argparse.Namespace, ctx: CliContext) -> int:
    found = await accounts.list_accounts(ctx.db)
    rows = [
        {
            "id": d["_id"],
            "name": d["name"],
            "suspended": bool(d.get("suspended")),
            "created_at": d["created_at"],
        }
        for d in found
    ]
    if structured(args, rows):
        return 0
    for doc in found:
        state = "\tsuspended" if doc.get("suspended") else ""
        print(f"{doc['_id']}\t{doc['name']}\t{doc['created_at']:%Y-%m-%dT%H:%M:%SZ}{state}")
    return 0


async def suspend(args: argparse.Namespace, ctx: CliContext) -> int:
    """Keys refused and sessions ended (other gateways within CACHE_TTL_SECONDS); queued
    mail held until unsuspended."""
    doc = await _named(ctx, args.name)
    await service.set_suspended(ctx.db, CLI_ACTOR, doc["_id"], args.suspended)
    print(f"{args.name}: {'suspended' if args.suspended else 'active'}")
    return 0


async def set_limits(args: argparse.Namespace, ctx: CliContext) -> int:
    doc = await _named(ctx, args.name)
    await service.set_default_limits(
        ctx.db, CLI_ACTOR, doc["_id"], hourly=args.hourly, daily=args.daily
    )
    print(f"{args.name}: new providers default to hourly={args.hourly} daily={args.daily}")
    return 0


async def usage(args: argparse.Namespace, ctx: CliContext) -> int:
    doc = await _named(ctx, args.name)
    days = await service.usage(ctx.db, doc["_id"])
    rows = [{"day": f"{d.day:%Y-%m-%d}", **d.counts.as_dict()} for d in days]
    if structured(args, rows):
        return 0
    for row in rows:
        print(
            f"{row['day']}\taccepted={row['accepted']}\tsent={row['sent']}\tfailed={row['failed']}"
        )
    return 0


async def delete(args: argparse.Namespace, ctx: CliContext) -> int:
    if not args.yes:
        raise CliError("deleting an account removes its keys, providers and mail: add --yes")
    doc = await _named(ctx, args.name)
    await service.delete_account(ctx.db, CLI_ACTOR, doc["_id"])
    print(f"deleted account {args.name} ({doc['_id']})")
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
    await record(
        ctx.db,
        account_id=doc["_id"],
        action="settings.updated",
        resource_type="settings",
        resource_id=doc["_id"],
        after=doc.get("settings"),
        actor=CLI_ACTOR,
    )
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
    for name, suspended, text in (
        ("suspend", True, "refuse the account's keys and sessions; hold its mail"),
        ("unsuspend", False, "let a suspended account work again; release its mail"),
    ):
        p = commands.add_parser(name, help=text)
        p.add_argument("name")
        p.set_defaults(handler=suspend, suspended=suspended)
    p = commands.add_parser("set-limits", help="default send limits of new providers")
    p.add_argument("name")
    p.add_argument("--hourly", type=int, default=None, help="messages an hour (none: no limit)")
    p.add_argument("--daily", type=int, default=None, help="messages a day (none: no limit)")
    p.set_defaults(handler=set_limits)
    p = commands.add_parser("usage", help="live messages of the last 7 days")
    p.add_argument("name")
    add_output_option(p)
    p.set_defaults(handler=usage)
    p = commands.add_parser("delete", help="delete an account and everything it owns")
    p.add_argument("name")
    p.add_argument("--yes", action="store_true", help="confirm")
    p.set_defaults(handler=delete)
