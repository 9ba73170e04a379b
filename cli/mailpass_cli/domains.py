"""``mailpass domains add|list|verify|rotate-dkim|remove``: an account's sending domains.

A domain is named by its name (Unicode or ASCII) or its id (``dom_...``). ``add``,
``verify`` and ``rotate-dkim`` print the DNS records to publish, one a line, tab-separated
(``PURPOSE TYPE NAME VALUE STATUS``), then what was found and the advice for those not
verified. ``verify`` looks them up now through ``MTA_DNS_NAMESERVERS`` (or the system's
resolver) and exits 0 once the domain is verified, 3 while it is pending.
"""

from __future__ import annotations

import argparse
from typing import Any

from mailpass_cli import CliContext, CliError
from mailpass_cli.keys import account_id
from mailpass_cli.output import add_output_option, structured
from mailpass_common.mta import dkim, domains
from mailpass_common.mta.lookup import checking_resolver
from mailpass_common.mta.names import DomainNameError, normalize_domain, unicode_name
from mailpass_common.mta.records import DnsRecord, domain_records
from mailpass_common.mta.verification import verify_domain

PENDING_EXIT = 3


def _stamp(value: Any) -> str:
    return f"{value:%Y-%m-%dT%H:%M:%SZ}" if value else "-"


async def _owned(ctx: CliContext, account: str, name: str) -> dict[str, Any]:
    owner = await account_id(ctx, account)
    if name.startswith("dom_"):
        doc = await domains.get_domain(ctx.db, owner, name)
    else:
        doc = await domains.find_domain(ctx.db, owner, name)
    if doc is None:
        raise CliError(f"account {account!r} has no sending domain {name!r}")
    return doc


async def _keys(ctx: CliContext, doc: dict[str, Any]) -> list[dict[str, Any]]:
    keys = await dkim.domain_keys(ctx.db, doc["account_id"], doc["domain"])
    return [k for k in keys if k["domain_id"] == doc["_id"]]


def _print(doc: dict[str, Any], records: list[DnsRecord]) -> None:
    shown = unicode_name(doc["domain"])
    label = doc["domain"] if shown == doc["domain"] else f"{shown} ({doc['domain']})"
    print(f"{label} {doc['_id']}: {doc.get('status', 'pending')}")
    print("PURPOSE\tTYPE\tNAME\tVALUE\tSTATUS")
    for r in records:
        print("\t".join([r.purpose, r.type, r.name, r.value or "-", r.status]))
    for r in records:
        if r.status != "verified" and (r.advice or r.found):
            found = f" Found: {r.found}" if r.found else ""
            print(f"{r.purpose} {r.name}: {r.advice}{found}")


async def list_(args: argparse.Namespace, ctx: CliContext) -> int:
    owner = await account_id(ctx, args.account)
    found = await domains.list_domains(ctx.db, owner)
    rows = [
        {
            "id": doc["_id"],
            "domain": unicode_name(doc["domain"]),
            "status": doc.get("status", "pending"),
            "checked_at": doc.get("checked_at"),
            "verified_at": doc.get("verified_at"),
            "created_at": doc.get("created_at"),
        }
        for doc in found
    ]
    if structured(args, rows):
        return 0
    print("ID\tDOMAIN\tSTATUS\tCHECKED\tVERIFIED\tCREATED")
    for doc in found:
        print(
            "\t".join(
                [
                    doc["_id"],
                    unicode_name(doc["domain"]),
                    doc.get("status", "pending"),
                    _stamp(doc.get("checked_at")),
                    _stamp(doc.get("verified_at")),
                    _stamp(doc.get("created_at")),
                ]
            )
        )
    return 0


async def add(args: argparse.Namespace, ctx: CliContext) -> int:
    owner = await account_id(ctx, args.account)
    try:
        name = normalize_domain(args.domain)
        doc = await domains.create_domain(ctx.db, ctx.cipher, owner, name)
    except DomainNameError as exc:
        raise CliError(f"{args.domain!r} is not a domain name: {exc}") from None
    except (domains.DomainExistsError, domains.DomainLimitError) as exc:
        raise CliError(str(exc)) from None
    rp = ctx.settings.mta_return_path_domain
    _print(doc, domain_records(doc, await _keys(ctx, doc), rp))
    return 0


async def verify(args: argparse.Namespace, ctx: CliContext) -> int:
    doc = await _owned(ctx, args.account, args.domain)
    resolver = checking_resolver(ctx.settings.mta_dns_nameservers)
    rp = ctx.settings.mta_return_path_domain
    checked = await verify_domain(ctx.db, resolver, doc, rp)
    _print(checked.domain, domain_records(checked.domain, checked.keys, rp))
    for name in checked.lookup_errors:
        print(f"look-up failed (status kept): {name}")
    return 0 if checked.domain.get("status") == domains.DomainStatus.VERIFIED else PENDING_EXIT


async def rotate(args: argparse.Namespace, ctx: CliContext) -> int:
    doc = await _owned(ctx, args.account, args.domain)
    rotated = await domains.rotate_dkim(ctx.db, ctx.cipher, doc["account_id"], doc["_id"])
    if rotated is None:
        raise CliError("the domain was rotated by someone else meanwhile; try again")
    print("new DKIM keys: the current ones sign until the new record verifies")
    _print(
        rotated,
        domain_records(rotated, await _keys(ctx, rotated), ctx.settings.mta_return_path_domain),
    )
    return 0


async def remove(args: argparse.Namespace, ctx: CliContext) -> int:
    doc = await _owned(ctx, args.account, args.domain)
    await domains.delete_domain(ctx.db, doc["account_id"], doc["_id"])
    print(f"removed sending domain {doc['domain']} and its DKIM keys")
    return 0


def register(groups: Any) -> None:
    parser: argparse.ArgumentParser = groups.add_parser(
        "domains", help="sending domains and their DKIM keys"
    )
    commands = parser.add_subparsers(dest="command", required=True)

    p = commands.add_parser("list", help="an account's sending domains")
    p.add_argument("--account", required=True)
    add_output_option(p)
    p.set_defaults(handler=list_)

    p = commands.add_parser("add", help="add a domain; prints the DNS records to publish")
    p.add_argument("--account", required=True)
    p.add_argument("domain", help="e.g. example.com (internationalized names are fine)")
    p.set_defaults(handler=add)

    p = commands.add_parser(
        "verify", help="look the records up now (exit 0: verified, 3: still pending)"
    )
    p.add_argument("--account", required=True)
    p.add_argument("domain", help="the domain's name or id (dom_...)")
    p.set_defaults(handler=verify)

    p = commands.add_parser(
        "rotate-dkim", help="new DKIM keys; the current ones sign until the new record verifies"
    )
    p.add_argument("--account", required=True)
    p.add_argument("domain")
    p.set_defaults(handler=rotate)

    p = commands.add_parser("remove", help="remove a domain and its DKIM keys")
    p.add_argument("--account", required=True)
    p.add_argument("domain")
    p.set_defaults(handler=remove)
