"""``mailpass providers add|list|set-default|test|delete``: an account's providers.

Secrets are read only from environment variables named on the command line
(``--password-env SMTP_PASSWORD``), never from arguments, which other users of the
machine can see in the process list and which shells keep in their history.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic.fields import FieldInfo

from mailpass_cli import CliContext, CliError
from mailpass_cli.keys import account_id
from mailpass_cli.output import add_output_option, structured
from mailpass_common.providers import service as providers
from mailpass_common.providers.config import ProviderConfigError, ProviderFields, validate_fields
from mailpass_common.providers.delivery.check import check_connection, check_options
from mailpass_common.providers.delivery.options import delivery_options
from mailpass_common.providers.models import ProviderDocument
from mailpass_common.providers.registry import (
    PLUGINS,
    PROVIDER_TYPES,
    check_targets,
    public_view,
    validate_config,
)

# The options of ``providers add`` are made from the models that validate providers, so
# the CLI offers exactly what the API accepts: one option per field (``--max-connections``),
# ``--<secret>-env VAR`` for secrets (read from the environment, never from arguments),
# ``--<field>-file PATH`` for long texts such as a CA certificate.


def _unwrap(annotation: Any) -> Any:
    """The field's type without Optional and Annotated wrappers."""
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (Union, UnionType):
            annotation = next(a for a in get_args(annotation) if a is not type(None))
        else:
            return annotation


def _option(name: str) -> str:
    return "--" + name.replace("_", "-")


def _add_field(
    group: Any, name: str, field: FieldInfo, *, secret: bool, file: bool, required: bool = False
) -> None:
    help_text = field.description or ""
    if secret:
        group.add_argument(
            _option(f"{name}_env"), metavar="VAR", help=f"{help_text}: read from VAR"
        )
        return
    if file:
        group.add_argument(_option(f"{name}_file"), metavar="PATH", help=f"{help_text}: a file")
        return
    kind = _unwrap(field.annotation)
    if kind is bool:
        group.add_argument(_option(name), action=argparse.BooleanOptionalAction, help=help_text)
    elif get_origin(kind) is Literal:
        group.add_argument(_option(name), choices=get_args(kind), help=help_text)
    else:
        group.add_argument(
            _option(name),
            type=kind if kind in (int, float) else str,
            required=required,
            help=help_text,
        )


def _config_values(args: argparse.Namespace, model: type[Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name in model.model_fields:
        if name in model.SECRETS:
            variable = getattr(args, f"{name}_env")
            if variable:
                values[name] = _secret_from_env(f"{name}_env", variable)
        elif name in model.FILES:
            path = getattr(args, f"{name}_file")
            if path:
                values[name] = _read_file(f"{name}_file", path)
        elif getattr(args, name) is not None:
            values[name] = getattr(args, name)
    return values


def _read_file(option: str, path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError as exc:
        raise CliError(f"{_option(option)} {path}: {exc.strerror or exc}") from exc


def _secret_from_env(option: str, variable: str) -> str:
    value = os.environ.get(variable)
    if not value:
        flag = "--" + option.replace("_", "-")
        raise CliError(f"environment variable {variable} ({flag}) is not set or empty")
    return value


async def _provider(ctx: CliContext, account: str, name_or_id: str) -> tuple[str, ProviderDocument]:
    owner = await account_id(ctx, account)
    doc = await providers.find_provider(ctx.db, owner, name_or_id)
    if doc is None:
        raise CliError(f"account {account!r} has no provider {name_or_id!r}")
    return owner, doc


async def add(args: argparse.Namespace, ctx: CliContext) -> int:
    owner = await account_id(ctx, args.account)
    values = _config_values(args, PLUGINS[args.type].config_model)
    try:
        fields = validate_fields(
            {name: getattr(args, name) for name in ProviderFields.model_fields}
        )
        checked = validate_config(args.type, values)
        # The operator's own rules (PROVIDER_ALLOWED_*, SES_*) bind the CLI as well: the
        # provider will deliver through the same egress policy.
        await check_targets(args.type, checked, delivery_options(ctx.settings))
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
    views = [public_view(doc) for doc in await providers.list_providers(ctx.db, owner)]
    if structured(args, views):
        return 0
    print("ID\tNAME\tTYPE\tDEFAULT\tTARGET\tHOURLY\tDAILY\tFALLBACK\tFROM\tVERSION")
    for view in views:
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
    error = await check_connection(doc, ctx.cipher, check_options(ctx.settings))
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
    p.add_argument("--type", required=True, choices=PROVIDER_TYPES)
    p.add_argument("--default", action="store_true", help="make it the account's default")
    common = p.add_argument_group("every type")
    for name, field in ProviderFields.model_fields.items():
        _add_field(common, name, field, secret=False, file=False, required=field.is_required())
    seen: set[str] = set()
    for type_, plugin in PLUGINS.items():
        model = plugin.config_model
        group = p.add_argument_group(type_)
        for name, field in model.model_fields.items():
            if name not in seen:  # a field several types share is one option
                seen.add(name)
                _add_field(
                    group, name, field, secret=name in model.SECRETS, file=name in model.FILES
                )
    p.set_defaults(handler=add)


def register(groups: Any) -> None:
    parser: argparse.ArgumentParser = groups.add_parser("providers", help="manage providers")
    commands = parser.add_subparsers(dest="command", required=True)
    _add_parser(commands)
    p = commands.add_parser("list", help="list an account's providers (never secrets)")
    p.add_argument("--account", required=True)
    add_output_option(p)
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
