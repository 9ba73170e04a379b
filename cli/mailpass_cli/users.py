"""``mailpass users list [--account A]``, ``mailpass users disable EMAIL`` and
``mailpass users enable EMAIL``: the console's people, for the platform's operators.

Disabling refuses every sign-in of the user and ends their console sessions at once (in
every account); the user and their memberships are kept, so enabling gives it all back.
"""

from __future__ import annotations

import argparse
from typing import Any

from mailpass_cli import CliContext, CliError
from mailpass_cli.keys import account_id
from mailpass_cli.output import add_output_option, structured
from mailpass_common.platform.db import Collections
from mailpass_common.tenants import console_auth, members, users


async def list_users(args: argparse.Namespace, ctx: CliContext) -> int:
    if args.account:
        owner = await account_id(ctx, args.account)
        found = await members.list_members(ctx.db, owner)
        roles = {m["user_id"]: m["role"] for m in found}
        people = list((await users.users_by_id(ctx.db, list(roles))).values())
    else:
        roles = {}
        people = await ctx.db[Collections.USERS].find().sort("email", 1).to_list()
    rows: list[dict[str, Any]] = [
        {
            "id": doc["_id"],
            "email": doc["email"],
            "name": doc.get("name") or "",
            "disabled": bool(doc.get("disabled")),
            **({"role": roles[doc["_id"]]} if roles else {}),
        }
        for doc in sorted(people, key=lambda d: d["email"])
    ]
    if structured(args, rows):
        return 0
    print("EMAIL\tNAME\tSTATE" + ("\tROLE" if roles else ""))
    for row in rows:
        state = "disabled" if row["disabled"] else "active"
        print(
            "\t".join([row["email"], row["name"] or "-", state, *([row["role"]] if roles else [])])
        )
    return 0


async def _set_disabled(args: argparse.Namespace, ctx: CliContext, disabled: bool) -> int:
    user = await users.get_user_by_email(ctx.db, args.email)
    if user is None:
        raise CliError(f"no user {args.email!r} (see `mailpass users list`)")
    await users.set_disabled(ctx.db, user["_id"], disabled)
    if disabled:
        ended = await console_auth.end_user_sessions(ctx.db, user["_id"])
        print(f"disabled {user['email']}; ended {ended} console session(s)")
    else:
        print(f"enabled {user['email']}")
    return 0


async def disable(args: argparse.Namespace, ctx: CliContext) -> int:
    return await _set_disabled(args, ctx, True)


async def enable(args: argparse.Namespace, ctx: CliContext) -> int:
    return await _set_disabled(args, ctx, False)


def register(groups: Any) -> None:
    parser: argparse.ArgumentParser = groups.add_parser("users", help="the console's people")
    commands = parser.add_subparsers(dest="command", required=True)
    listing = commands.add_parser("list", help="users, or an account's members with roles")
    listing.add_argument("--account", help="account name: its members only")
    add_output_option(listing)
    listing.set_defaults(handler=list_users)
    for name, handler, text in (
        ("disable", disable, "refuse the user's sign-ins and end their sessions"),
        ("enable", enable, "let a disabled user sign in again"),
    ):
        command = commands.add_parser(name, help=text)
        command.add_argument("email")
        command.set_defaults(handler=handler)
