"""``mailpass webhooks list|add|remove|rotate|attempts``: an account's webhook endpoints.

``add`` and ``rotate`` print the ``whsec_`` secret alone on their last line (``tail -n1``
in scripts); it is stored encrypted and not shown again. URLs pass the same checks as
in the API (https, the egress policy).
"""

from __future__ import annotations

import argparse
from typing import Any

from mailpass_cli import CliContext, CliError
from mailpass_cli.keys import account_id
from mailpass_cli.output import add_output_option, structured
from mailpass_common.webhooks import attempts, endpoints
from mailpass_common.webhooks.endpoints import WebhookEventType
from mailpass_common.webhooks.urls import url_problem


def _stamp(value: Any) -> str:
    return f"{value:%Y-%m-%dT%H:%M:%SZ}" if value else "-"


async def _owned(ctx: CliContext, account: str, endpoint_id: str) -> dict[str, Any]:
    owner = await account_id(ctx, account)
    doc = await endpoints.get_endpoint(ctx.db, owner, endpoint_id, sandbox=None)
    if doc is None:
        raise CliError(f"account {account!r} has no webhook endpoint {endpoint_id!r}")
    return doc


async def list_(args: argparse.Namespace, ctx: CliContext) -> int:
    owner = await account_id(ctx, args.account)
    found = [
        (sandbox, doc)
        for sandbox in (False, True)
        for doc in await endpoints.list_endpoints(ctx.db, owner, sandbox=sandbox)
    ]
    rows = [
        {
            "id": doc["_id"],
            "url": doc["url"],
            "events": list(doc["events"]),
            "enabled": bool(doc.get("enabled")),
            "disabled_reason": doc.get("disabled_reason"),
            "sandbox": sandbox,
            "failing_since": doc.get("failing_since"),
            "created_at": doc["created_at"],
        }
        for sandbox, doc in found
    ]
    if structured(args, rows):
        return 0
    print("ID\tURL\tEVENTS\tENABLED\tTEST\tFAILING_SINCE\tCREATED")
    for row in rows:
        enabled = "yes" if row["enabled"] else f"no ({row['disabled_reason']})"
        print(
            "\t".join(
                [
                    row["id"],
                    row["url"],
                    ",".join(row["events"]),
                    enabled,
                    "yes" if row["sandbox"] else "no",
                    _stamp(row["failing_since"]),
                    _stamp(row["created_at"]),
                ]
            )
        )
    return 0


async def add(args: argparse.Namespace, ctx: CliContext) -> int:
    owner = await account_id(ctx, args.account)
    problem = await url_problem(args.url, ctx.settings)
    if problem is not None:
        raise CliError(f"--url {problem}")
    try:
        doc, secret = await endpoints.create_endpoint(
            ctx.db,
            ctx.cipher,
            account_id=owner,
            url=args.url,
            events=args.event,
            sandbox=args.test,
            limit=ctx.settings.webhook_max_endpoints_per_account,
        )
    except endpoints.EndpointLimitReached as exc:
        raise CliError(str(exc)) from exc
    print(f"added webhook endpoint {doc['_id']} ({', '.join(doc['events'])}); its secret:")
    print(secret)
    return 0


async def remove(args: argparse.Namespace, ctx: CliContext) -> int:
    doc = await _owned(ctx, args.account, args.id)
    await endpoints.delete_endpoint(
        ctx.db, doc["account_id"], doc["_id"], sandbox=bool(doc.get("sandbox"))
    )
    print(f"removed webhook endpoint {args.id}")
    return 0


async def rotate(args: argparse.Namespace, ctx: CliContext) -> int:
    doc = await _owned(ctx, args.account, args.id)
    rotated = await endpoints.rotate_secret(
        ctx.db,
        ctx.cipher,
        doc["account_id"],
        doc["_id"],
        sandbox=bool(doc.get("sandbox")),
        overlap_seconds=args.overlap_seconds,
    )
    if rotated is None:
        raise CliError("the secret was rotated by someone else meanwhile; try again")
    print(f"rotated; the old secret signs beside the new one for {args.overlap_seconds:g} s:")
    print(rotated[1])
    return 0


async def attempts_(args: argparse.Namespace, ctx: CliContext) -> int:
    doc = await _owned(ctx, args.account, args.id)
    page = await attempts.page(ctx.db, doc["account_id"], doc["_id"], limit=args.limit, before=None)
    views = [attempts.attempt_view(found) for found in page.attempts]
    if structured(args, views):
        return 0
    print("ID\tTIME\tEVENT\tWEBHOOK_ID\tATTEMPT\tOUTCOME\tSTATUS\tERROR")
    for view in views:
        print(
            "\t".join(
                [
                    view["id"],
                    _stamp(view["created_at"]),
                    view["event_type"],
                    view["webhook_id"],
                    str(view["attempt"]),
                    view["outcome"],
                    str(view["status_code"] or "-"),
                    view["error"] or "-",
                ]
            )
        )
    return 0


def register(groups: Any) -> None:
    parser: argparse.ArgumentParser = groups.add_parser("webhooks", help="webhook endpoints")
    commands = parser.add_subparsers(dest="command", required=True)

    p = commands.add_parser("list", help="an account's endpoints (never their secrets)")
    p.add_argument("--account", required=True)
    add_output_option(p)
    p.set_defaults(handler=list_)

    p = commands.add_parser("add", help="add an endpoint (its secret printed once, last line)")
    p.add_argument("--account", required=True)
    p.add_argument("--url", required=True, help="https:// URL on a public host")
    p.add_argument(
        "--event",
        action="append",
        required=True,
        choices=[e.value for e in WebhookEventType],
        help="repeatable",
    )
    p.add_argument("--test", action="store_true", help="receives test messages' events only")
    p.set_defaults(handler=add)

    p = commands.add_parser("remove", help="delete an endpoint")
    p.add_argument("--account", required=True)
    p.add_argument("id", help="the endpoint's id (ep_..., see `mailpass webhooks list`)")
    p.set_defaults(handler=remove)

    p = commands.add_parser("rotate", help="a new secret (printed once); the old one overlaps")
    p.add_argument("--account", required=True)
    p.add_argument("id")
    p.add_argument("--overlap-seconds", type=float, default=86400.0, help="default 24 h")
    p.set_defaults(handler=rotate)

    p = commands.add_parser("attempts", help="an endpoint's latest delivery attempts")
    p.add_argument("--account", required=True)
    p.add_argument("id")
    p.add_argument("--limit", type=int, default=20)
    add_output_option(p)
    p.set_defaults(handler=attempts_)
