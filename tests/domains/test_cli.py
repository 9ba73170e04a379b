"""``mailpass domains``: the real console script once through (add, verify, list), and the
other commands' handlers in process, against nx-27017 and the tests' DNS server."""

from __future__ import annotations

from typing import Any

import pytest

from mailpass_cli import CliContext, CliError, build_parser
from mailpass_common.mta import dkim, domains
from mailpass_common.platform.db import Database
from mailpass_common.platform.settings import CommonSettings
from tests.domains.support import RETURN_PATH_DOMAIN, unique_domain
from tests.support.dns import TestDns
from tests.support.processes import run_cli
from tests.support.tenants import cipher, make_account


def records(out: str) -> list[dict[str, str]]:
    """The tab-separated record lines the command printed."""
    lines = out.splitlines()
    start = lines.index("PURPOSE\tTYPE\tNAME\tVALUE\tSTATUS") + 1
    rows = []
    for line in lines[start:]:
        parts = line.split("\t")
        if len(parts) != 5:
            break
        rows.append(dict(zip(["purpose", "type", "name", "value", "status"], parts, strict=True)))
    return rows


@pytest.fixture
def env(service_env: dict[str, Any], dns: TestDns) -> dict[str, Any]:
    return {
        **service_env,
        "mta_dns_nameservers": dns.nameserver,
        "mta_return_path_domain": RETURN_PATH_DOMAIN,
    }


async def test_the_console_script_adds_and_verifies(
    env: dict[str, Any], db: Database, dns: TestDns
) -> None:
    owner = await make_account(db, "acme")
    name = unique_domain("bücher")
    code, out = await run_cli(env, "domains", "add", "--account", "acme", name)
    assert code == 0, out
    added = records(out)
    assert [r["purpose"] for r in added] == ["dkim", "dkim", "spf", "dmarc", "return_path"]
    assert added[0]["value"].startswith("v=DKIM1; k=rsa; p=")
    for row in added[:2]:
        dns.add(row["name"], row["type"], row["value"])
    code, out = await run_cli(env, "domains", "verify", "--account", "acme", name)
    assert code == 0, out
    assert [r["status"] for r in records(out)][:2] == ["verified", "verified"]
    [doc] = await domains.list_domains(db, owner)
    assert doc["status"] == "verified"
    code, out = await run_cli(env, "domains", "list", "--account", "acme")
    assert code == 0 and name in out and "\tverified\t" in out


async def test_the_other_commands(
    env: dict[str, Any], db: Database, dns: TestDns, capsys: pytest.CaptureFixture[str]
) -> None:
    owner = await make_account(db, "acme")
    ctx = CliContext(CommonSettings(**env), db, cipher(env))
    name = unique_domain()

    async def run(*argv: str) -> tuple[int, str]:
        args = build_parser().parse_args(["domains", *argv])
        code = await args.handler(args, ctx)
        return code, capsys.readouterr().out

    code, out = await run("add", "--account", "acme", name)
    added = records(out)
    with pytest.raises(CliError, match="already a sending domain"):
        await run("add", "--account", "acme", name.upper())
    with pytest.raises(CliError, match="is not a domain name"):
        await run("add", "--account", "acme", "not a domain")
    with pytest.raises(CliError, match="unknown account"):
        await run("add", "--account", "nobody", name)

    code, out = await run("verify", "--account", "acme", name)
    assert code == 3 and "Publish this TXT record." in out  # pending: exit 3
    dns.add(added[0]["name"], "TXT", added[0]["value"])
    [doc] = await domains.list_domains(db, owner)
    code, out = await run("verify", "--account", "acme", doc["_id"])
    assert code == 0

    code, out = await run("rotate-dkim", "--account", "acme", name)
    assert code == 0 and len([r for r in records(out) if r["purpose"] == "dkim"]) == 4
    signing = await dkim.signing_keys(db, ctx.cipher, owner, name)
    assert [k.selector for k in signing] == [added[0]["name"].split(".")[0]]

    code, out = await run("remove", "--account", "acme", name)
    assert code == 0 and await domains.list_domains(db, owner) == []
    with pytest.raises(CliError, match="has no sending domain"):
        await run("verify", "--account", "acme", name)
