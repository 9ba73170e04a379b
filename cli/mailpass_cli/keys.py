"""``mailpass keys create|list|revoke``: API keys of an account.

``create`` prints the new key alone on its last line (``tail -n1`` in scripts); it is
stored only as a hash and cannot be shown again.
"""

from __future__ import annotations

import argparse
from typing import Any

from mailpass_cli import CliContext, CliError
from mailpass_cli.output import add_output_option, structured
from mailpass_common.tenants import accounts, api_keys
from mailpass_common.tenants.api_keys import Permission


async def account_id(ctx: CliContext, name: str) -> str:
    account = await accounts.get_account_by_name(ctx.db, name)
    if account is None:
        raise CliError(f"unknown account {name!r} (see `mailpass accounts list`)")
    return str(account["_id"])


def _stamp(value: Any) -> str:
    return f"{value:%Y-%m-%dT%H:%M:%SZ}" if value else "-"


async def create(args: argparse.Namespace, ctx: CliContext) -> int:
    owner = await account_id(ctx, args.account)
    created = await api_keys.create_api_key(
        ctx.db, owner, args.permission, test=args.test, name=args.name
    )
    kind = "test" if args.test else "live"
    print(
        f"created {kind} API key {created.id} for account {args.account} "
        f"(permissions: {', '.join(sorted(set(args.permission)))}); "
        "it is shown only now, store it:"
    )
    print(created.key)
    return 0


async def list_(args: argparse.Namespace, ctx: CliContext) -> int:
    owner = await account_id(ctx, args.account)
    views = [api_keys.api_key_view(doc) for doc in await api_keys.list_api_keys(ctx.db, owner)]
    if structured(args, views):
        return 0
    print("ID\tPREFIX\tNAME\tPERMISSIONS\tTEST\tREVOKED\tCREATED\tLAST_USED")
    for view in views:
        print(
            "\t".join(
                [
                    view["id"] or "-",
                    view["prefix"],
                    view["name"] or "-",
                    ",".join(view["permissions"]),
                    "yes" if view["test"] else "no",
                    "yes" if view["revoked"] else "no",
                    _stamp(view["created_at"]),
                    _stamp(view["last_used_at"]),
                ]
            )
        )
    return 0


async def revoke(args: argparse.Namespace, ctx: CliContext) -> int:
    owner = await account_id(ctx, args.account)
    if await api_keys.revoke_api_key(ctx.db, owner, args.id) is None:
        raise CliError(f"account {args.account!r} has no API key {args.id!r}")
    print(f"revoked API key {args.id}")
    return 0


def register(groups: Any) -> None:
    parser: argparse.ArgumentParser = groups.add_parser("keys", help="manage API keys")
    commands = parser.add_subparsers(dest="command", required=True)

    p = commands.add_parser("create", help="create an API key (printed once, on the last line)")
    p.add_argument("--account", required=True, help="account name")
    p.add_argument(
        "--permission", action="append", required=True, choices=list(Permission), help="repeatable"
    )
    p.add_argument("--test", action="store_true", help="a test key: delivers only to the sandbox")
    p.add_argument("--name", default="", help="what the key is for")
    p.set_defaults(handler=create)

    p = commands.add_parser("list", help="list an account's keys (never the keys themselves)")
    p.add_argument("--account", required=True)
    add_output_option(p)
    p.set_defaults(handler=list_)

    p = commands.add_parser("revoke", help="revoke a key: refused from the next request on")
    p.add_argument("--account", required=True)
    p.add_argument("id", help="the key's id (key_..., see `mailpass keys list`)")
    p.set_defaults(handler=revoke)
