"""``mailpass templates list|export``: an account's templates.

``export`` writes JSON (to stdout, or ``--output FILE``): one object per template with
its current parts and the versions kept, the shape ``GET /api/v1/templates/{id}``
answers, so a template can be kept in version control or moved to another installation.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from mailpass_cli import CliContext, CliError
from mailpass_cli.keys import account_id
from mailpass_cli.output import add_output_option, structured
from mailpass_common.platform.db import Document
from mailpass_common.templates import store


def _stamp(value: Any) -> str:
    return f"{value:%Y-%m-%dT%H:%M:%SZ}" if value else "-"


async def _all(ctx: CliContext, owner: str) -> list[Document]:
    found: list[Document] = []
    after = None
    while True:
        docs, after = await store.page(ctx.db, owner, limit=store.MAX_PAGE, after=after)
        found += docs
        if after is None:
            return found


def _exported(doc: Document) -> dict[str, Any]:
    return {
        "id": doc["_id"],
        "name": doc["name"],
        "alias": doc.get("alias"),
        "version": int(doc["version"]),
        "subject": doc["subject"],
        "html": doc.get("html"),
        "text": doc.get("text"),
        "variables": list(doc.get("variables") or []),
        "updated_at": _stamp(doc.get("updated_at")),
        "versions": [
            {
                "version": int(v["version"]),
                "subject": v["subject"],
                "html": v.get("html"),
                "text": v.get("text"),
                "created_at": _stamp(v.get("created_at")),
            }
            for v in reversed(doc.get("versions") or [])
        ],
    }


async def list_(args: argparse.Namespace, ctx: CliContext) -> int:
    owner = await account_id(ctx, args.account)
    found = await _all(ctx, owner)
    rows = [
        {
            "id": doc["_id"],
            "alias": doc.get("alias"),
            "name": doc["name"],
            "version": doc["version"],
            "updated_at": doc.get("updated_at"),
        }
        for doc in found
    ]
    if structured(args, rows):
        return 0
    print("ID\tALIAS\tNAME\tVERSION\tUPDATED")
    for doc in found:
        row = [doc["_id"], doc.get("alias") or "-", doc["name"], str(doc["version"])]
        print("\t".join([*row, _stamp(doc.get("updated_at"))]))
    return 0


async def export(args: argparse.Namespace, ctx: CliContext) -> int:
    owner = await account_id(ctx, args.account)
    references = args.template or [d["_id"] for d in await _all(ctx, owner)]
    docs: list[Document] = []
    for reference in references:
        doc = await store.get(ctx.db, owner, reference)
        if doc is None:
            raise CliError(f"account {args.account!r} has no template {reference!r}")
        docs.append(doc)
    text = json.dumps([_exported(d) for d in docs], indent=2, ensure_ascii=False)
    if args.output:
        await asyncio.to_thread(Path(args.output).write_text, text + "\n", encoding="utf-8")
        print(f"exported {len(docs)} template(s) to {args.output}", file=sys.stderr)
    else:
        print(text)
    return 0


def register(groups: Any) -> None:
    parser: argparse.ArgumentParser = groups.add_parser("templates", help="message templates")
    commands = parser.add_subparsers(dest="command", required=True)

    p = commands.add_parser("list", help="an account's templates")
    p.add_argument("--account", required=True)
    add_output_option(p)
    p.set_defaults(handler=list_)

    p = commands.add_parser("export", help="templates as JSON, with their kept versions")
    p.add_argument("--account", required=True)
    p.add_argument("template", nargs="*", help="ids or aliases (default: all)")
    p.add_argument("--output", help="a file to write (default: stdout)")
    p.set_defaults(handler=export)
