"""``mailpass``: the platform team's command line (accounts, keys, providers, ...).

Each command group is a module with ``register(subparsers)`` that adds its parsers and
sets ``handler``, an async function of (args, context) returning the exit code. The CLI
reads the same environment variables as the services (``MONGODB_URL``, ``SECRET_KEY``...).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from mailpass_common.platform.crypto import CredentialCipher
from mailpass_common.platform.db import Database, connect, ensure_indexes
from mailpass_common.platform.settings import CommonSettings, load_settings

GROUPS = [
    "accounts",
    "keys",
    "providers",
    "messages",
    "dlq",
    "db",
    "secrets",
    "console",
    "webhooks",
]


@dataclass(frozen=True)
class CliContext:
    settings: CommonSettings
    db: Database
    cipher: CredentialCipher


Handler = Callable[[argparse.Namespace, CliContext], Awaitable[int]]


class CliError(Exception):
    """A user-facing failure: printed to stderr, exit code 1, no traceback."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mailpass", description=__doc__.splitlines()[0])
    groups = parser.add_subparsers(dest="group", required=True)
    for name in GROUPS:
        importlib.import_module(f"mailpass_cli.{name}").register(groups)
    return parser


async def _run(args: argparse.Namespace, settings: CommonSettings) -> int:
    client, db = connect(settings)
    cipher = CredentialCipher(settings.secret_key.get_secret_value(), settings.previous_secrets())
    try:
        await ensure_indexes(db)
        handler: Handler = args.handler
        return await handler(args, CliContext(settings, db, cipher))
    finally:
        await client.close()


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    settings = load_settings(CommonSettings, "mailpass")
    try:
        code = asyncio.run(_run(args, settings))
    except CliError as exc:
        print(f"mailpass: {exc}", file=sys.stderr)
        code = 1
    sys.exit(code)
