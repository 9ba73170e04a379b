"""``mailpass console-link --account A`` and ``mailpass console-sessions --account A [--revoke]``.

``console-link`` prints a one-time sign-in link to the web console, alone on its last
line: it signs in once, within 15 minutes, to the account's whole console. The console's
address is ``--base-url``, else ``CONSOLE_URL``, else the development gateway's.
``console-sessions`` lists an account's console sessions, and ends them all with
``--revoke`` (each browser is sent back to the sign-in page on its next request).
"""

from __future__ import annotations

import argparse
import os
from typing import Any

from mailpass_cli import CliContext
from mailpass_cli.keys import account_id
from mailpass_common.tenants import console_auth

DEFAULT_BASE_URL = "http://127.0.0.1:8000"


def link_url(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/console/link/{token}"


async def link(args: argparse.Namespace, ctx: CliContext) -> int:
    owner = await account_id(ctx, args.account)
    token = await console_auth.create_link(ctx.db, owner)
    base_url = args.base_url or os.environ.get("CONSOLE_URL") or DEFAULT_BASE_URL
    minutes = int(console_auth.LINK_LIFETIME.total_seconds() // 60)
    print(f"one-time sign-in link to the console of {args.account} (one use, {minutes} minutes):")
    print(link_url(base_url, token))
    return 0


async def sessions(args: argparse.Namespace, ctx: CliContext) -> int:
    owner = await account_id(ctx, args.account)
    if args.revoke:
        ended = await console_auth.end_account_sessions(ctx.db, owner)
        print(f"ended {ended} console session(s) of {args.account}")
        return 0
    print("CREATED\tEXPIRES\tVIA\tKEY\tMODE")
    for session in await console_auth.list_sessions(ctx.db, owner):
        print(
            "\t".join(
                [
                    f"{session.created_at:%Y-%m-%dT%H:%M:%SZ}",
                    f"{session.expires_at:%Y-%m-%dT%H:%M:%SZ}",
                    session.via,
                    session.key_prefix or "-",
                    "test" if session.test else "live",
                ]
            )
        )
    return 0


def register(groups: Any) -> None:
    p: argparse.ArgumentParser = groups.add_parser(
        "console-link", help="print a one-time sign-in link to the web console"
    )
    p.add_argument("--account", required=True, help="account name")
    p.add_argument(
        "--base-url", help=f"the console's address (default $CONSOLE_URL or {DEFAULT_BASE_URL})"
    )
    p.set_defaults(handler=link)

    p = groups.add_parser("console-sessions", help="list (or end) an account's console sessions")
    p.add_argument("--account", required=True, help="account name")
    p.add_argument("--revoke", action="store_true", help="end every session of the account")
    p.set_defaults(handler=sessions)
