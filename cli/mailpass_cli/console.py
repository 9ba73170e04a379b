"""``mailpass console link --account A`` and ``mailpass console sessions --account A
[--revoke]`` (the former spellings ``console-link`` and ``console-sessions`` still work).

``console link`` prints a one-time sign-in link to the web console, alone on its last
line: it signs in once, within 15 minutes, to the account's whole console. The console's
address is ``--base-url``, else ``CONSOLE_URL``, else the development gateway's.
``console sessions`` lists an account's console sessions, and ends them all with
``--revoke`` (each browser is sent back to the sign-in page on its next request).
"""

from __future__ import annotations

import argparse
import os
from typing import Any

from mailpass_cli import CliContext
from mailpass_cli.keys import account_id
from mailpass_cli.output import add_output_option, structured
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
    found = await console_auth.list_sessions(ctx.db, owner)
    rows = [
        {
            "created_at": session.created_at,
            "expires_at": session.expires_at,
            "via": session.via,
            "key_prefix": session.key_prefix,
            "test": session.test,
        }
        for session in found
    ]
    if structured(args, rows):
        return 0
    print("CREATED\tEXPIRES\tVIA\tKEY\tMODE")
    for session in found:
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


def _link_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--account", required=True, help="account name")
    p.add_argument(
        "--base-url", help=f"the console's address (default $CONSOLE_URL or {DEFAULT_BASE_URL})"
    )
    p.set_defaults(handler=link)


def _sessions_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--account", required=True, help="account name")
    p.add_argument("--revoke", action="store_true", help="end every session of the account")
    add_output_option(p)
    p.set_defaults(handler=sessions)


LINK_HELP = "print a one-time sign-in link to the web console"
SESSIONS_HELP = "list (or end) an account's console sessions"


def register(groups: Any) -> None:
    parser: argparse.ArgumentParser = groups.add_parser("console", help="the web console")
    commands = parser.add_subparsers(dest="command", required=True)
    _link_options(commands.add_parser("link", help=LINK_HELP))
    _sessions_options(commands.add_parser("sessions", help=SESSIONS_HELP))
    # The former spellings, kept working (not listed).
    _link_options(groups.add_parser("console-link", help=argparse.SUPPRESS))
    _sessions_options(groups.add_parser("console-sessions", help=argparse.SUPPRESS))
