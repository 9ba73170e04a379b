"""``mailpass``: the platform team's command line (accounts, keys, providers, ...).

Each command group is a module with ``register(subparsers)`` that adds its parsers and
sets ``handler``, an async function of (args, context) returning the exit code. The CLI
reads the same environment variables as the services (``MONGODB_URL``, ``SECRET_KEY``...).
Commands are noun then verb (``mailpass keys list``, ``mailpass console link``); every
listing and show takes ``-o table|json|yaml`` (:mod:`mailpass_cli.output`).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import importlib.metadata
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from mailpass_common.audit.record import CLI_ACTOR, act_as, request_origin
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
    "templates",
    "domains",
    "users",
]


@dataclass(frozen=True)
class CliContext:
    settings: CommonSettings
    db: Database
    cipher: CredentialCipher


Handler = Callable[[argparse.Namespace, CliContext], Awaitable[int]]


class CliError(Exception):
    """A user-facing failure: printed to stderr, exit code 1, no traceback."""


EXIT_CODES = """exit codes:
  0  done
  1  refused or failed: an unknown account, key, provider or message, a provider that
     failed its test, dead letters not found, credentials no key decrypts, a service
     (MongoDB, RabbitMQ) that does not answer; the reason is on stderr
  2  the command line itself is wrong (usage on stderr)"""


def version() -> str:
    try:
        return importlib.metadata.version("mailpass")
    except importlib.metadata.PackageNotFoundError:  # run from a source tree
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mailpass",
        description=__doc__.splitlines()[0],
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"mailpass {version()}")
    groups = parser.add_subparsers(dest="group", required=True)
    for name in GROUPS:
        importlib.import_module(f"mailpass_cli.{name}").register(groups)
    return parser


async def run_command(args: argparse.Namespace, settings: CommonSettings) -> int:
    client, db = connect(settings)
    cipher = CredentialCipher(settings.secret_key.get_secret_value(), settings.previous_secrets())
    try:
        await ensure_indexes(db)
        handler: Handler = args.handler
        # What a command changes is the platform team's doing (the audit log's actor).
        with request_origin(None, "mailpass-cli"):
            act_as(CLI_ACTOR)
            return await handler(args, CliContext(settings, db, cipher))
    finally:
        await client.close()


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    settings = load_settings(CommonSettings, "mailpass")
    try:
        code = asyncio.run(run_command(args, settings))
    except CliError as exc:
        print(f"mailpass: {exc}", file=sys.stderr)
        code = 1
    sys.exit(code)
