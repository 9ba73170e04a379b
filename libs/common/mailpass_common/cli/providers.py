"""``mailpass providers add|list|set-default|test|delete``: an account's providers.

Secrets are read only from environment variables named on the command line
(``--password-env SMTP_PASSWORD``), never from arguments, which other users of the
machine can see in the process list and which shells keep in their history.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

from mailpass_common import providers
from mailpass_common.cli import CliContext, CliError
from mailpass_common.cli.keys import account_id
from mailpass_common.db import Document
from mailpass_common.delivery.check import check_connection
from mailpass_common.provider_config import (
    PROVIDER_TYPES,
    ProviderConfigError,
    public_view,
    validate_config,
    validate_fields,
)

# (option, config key) read from the arguments when given.
CONFIG_OPTIONS = [
    ("host", "host"),
    ("port", "port"),
    ("security", "security"),
    ("username", "username"),
    ("verify_tls", "verify_tls"),
    ("region", "region"),
    ("endpoint_url", "endpoint_url"),
    ("configuration_set", "configuration_set"),
    ("domain", "domain"),
    ("base_url", "base_url"),
]
# (option naming an environment variable, secret config key).
SECRET_OPTIONS = [
    ("password_env", "password"),
    ("access_key_id_env", "access_key_id"),
    ("secret_access_key_env", "secret_access_key"),
    ("api_key_env", "api_key"),
]


def _secret_from_env(option: str, variable: str) -> str:
    value = os.environ.get(variable)
    if not value:
        flag = "--" + option.replace("_", "-")
        raise CliError(f"environment variable {variable} ({flag}) is not set or empty")
    return value


async def _provider(ctx: CliContext, account: str, name_or_id: str) -> tuple[str, Document]:
    owner = await account_id(ctx, account)
    doc = await providers.find_provider(ctx.db, owner, name_or_id)
    if doc is None:
        raise CliError(f"account {account!r} has no provider {name_or_id!r}")
    return owner, doc


async def add(args: argparse.Namespace, ctx: CliContext) -> int:
    owner = await account_id(ctx, args.account)
    values: dict[str, Any] = {
        key: getattr(args, option)
        for option, key in CONFIG_OPTIONS
        if getattr(args, option) is not None
    }
    for option, key in SECRET_OPTIONS:
        if getattr(args, option):
            values[key] = _secret_from_env(option, getattr(args, option))
    try:
        fields = validate_fields(
            {
                "name": args.name,
                "from_email": args.from_email,
                "from_name": args.from_name,
                "hourly_limit": args.hourly_limit,
                "daily_limit": args.daily_limit,
                "fallback_priority": args.fallback_priority,
            }
        )
        checked = validate_config(args.type, values)
    except ProviderConfigError as exc:
        raise CliError(f"invalid provider: {exc}") from exc
    try:
        doc = await providers.add_provider(
            ctx.db,
            ctx.cipher,
            account_id=owner,
            type=args.type,
            config=checked.config,
            secrets_=checked.secrets,
            default=args.default,
            **fields.model_dump(),
        )
    except providers.ProviderNameTaken as exc:
        raise CliError(f"account {args.account!r} already has a provider {args.name!r}") from exc
    role = " (default)" if args.default else ""
    print(f"added {args.type} provider {doc['name']} ({doc['_id']}){role}")
    return 0


def _target(view: dict[str, Any]) -> str:
    config = view["config"]
    if view["type"] == "smtp":
        return f"{config.get('host')}:{config.get('port')} {config.get('security')}"
    return str(config.get("region") or config.get("domain") or config.get("base_url") or "-")


async def list_(args: argparse.Namespace, ctx: CliContext) -> int:
    owner = await account_id(ctx, args.account)
    print("ID\tNAME\tTYPE\tDEFAULT\tTARGET\tHOURLY\tDAILY\tFALLBACK\tFROM\tVERSION")
    for doc in await providers.list_providers(ctx.db, owner):
        view = public_view(doc)
        columns = [
            view["id"],
            view["name"],
            view["type"],
            "yes" if view["is_default"] else "no",
            _target(view),
            view["hourly_limit"],
            view["daily_limit"],
            view["fallback_priority"],
            view["from_email"],
            view["version"],
        ]
        print("\t".join("-" if c is None else str(c) for c in columns))
    return 0


async def set_default(args: argparse.Namespace, ctx: CliContext) -> int:
    owner, doc = await _provider(ctx, args.account, args.provider)
    if not await providers.set_default_provider(ctx.db, owner, doc["_id"]):
        raise CliError(f"account {args.account!r} has no provider {args.provider!r}")
    print(f"default provider of {args.account} is now {doc['name']} ({doc['_id']})")
    return 0


async def test(args: argparse.Namespace, ctx: CliContext) -> int:
    _, doc = await _provider(ctx, args.account, args.provider)
    error = await check_connection(doc, ctx.cipher)
    if error is not None:
        raise CliError(f"provider {doc['name']} failed the test: {error}")
    print(f"provider {doc['name']}: ok (connected and authenticated)")
    return 0


async def delete(args: argparse.Namespace, ctx: CliContext) -> int:
    owner, doc = await _provider(ctx, args.account, args.provider)
    await providers.delete_provider(ctx.db, owner, doc["_id"])
    suffix = "; the account has no default provider now" if doc.get("is_default") else ""
    print(f"deleted provider {doc['name']} ({doc['_id']}){suffix}")
    return 0


def _add_parser(commands: Any) -> None:
    p = commands.add_parser("add", help="add a provider")
    p.add_argument("--account", required=True)
    p.add_argument("--name", required=True)
    p.add_argument("--type", required=True, choices=PROVIDER_TYPES)
    p.add_argument("--default", action="store_true", help="make it the account's default")
    p.add_argument("--hourly-limit", type=int)
    p.add_argument("--daily-limit", type=int)
    p.add_argument("--from-email")
    p.add_argument("--from-name")
    p.add_argument("--fallback-priority", type=int, help="tried in ascending order on failure")
    smtp = p.add_argument_group("smtp")
    smtp.add_argument("--host")
    smtp.add_argument("--port", type=int)
    smtp.add_argument("--security", choices=["none", "starttls", "tls"])
    smtp.add_argument("--username")
    smtp.add_argument("--password-env", metavar="VAR", help="environment variable with it")
    smtp.add_argument("--no-verify-tls", dest="verify_tls", action="store_const", const=False)
    ses = p.add_argument_group("ses")
    ses.add_argument("--region")
    ses.add_argument("--endpoint-url")
    ses.add_argument("--configuration-set")
    ses.add_argument("--access-key-id-env", metavar="VAR")
    ses.add_argument("--secret-access-key-env", metavar="VAR")
    http = p.add_argument_group("sendgrid / mailgun")
    http.add_argument("--api-key-env", metavar="VAR")
    http.add_argument("--domain", help="mailgun sending domain")
    http.add_argument("--base-url", help="API base URL (e.g. Mailgun's EU region)")
    p.set_defaults(handler=add)


def register(groups: Any) -> None:
    parser: argparse.ArgumentParser = groups.add_parser("providers", help="manage providers")
    commands = parser.add_subparsers(dest="command", required=True)
    _add_parser(commands)
    p = commands.add_parser("list", help="list an account's providers (never secrets)")
    p.add_argument("--account", required=True)
    p.set_defaults(handler=list_)
    for name, handler, text in [
        ("set-default", set_default, "make a provider the account's default"),
        ("test", test, "connect and authenticate without sending (exit 1 if refused)"),
        ("delete", delete, "delete a provider"),
    ]:
        p = commands.add_parser(name, help=text)
        p.add_argument("--account", required=True)
        p.add_argument("provider", metavar="NAME_OR_ID")
        p.set_defaults(handler=handler)
