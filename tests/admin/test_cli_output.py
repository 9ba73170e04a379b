"""The ``mailpass`` command's conventions: ``-o table|json|yaml`` on every listing and show,
``--version``, noun-verb commands (former spellings kept), documented exit codes."""

from __future__ import annotations

import argparse
import json
import re
from typing import Any

import pytest
import yaml

from mailpass_cli import CliError, build_parser, run_command
from mailpass_common.platform.db import Database
from mailpass_common.platform.settings import CommonSettings
from tests.admin.test_cli import mailpass

RFC3339_Z = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


def subcommands(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> dict[tuple[str, ...], argparse.ArgumentParser]:
    found = {path: parser}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                found.update(subcommands(child, (*path, name)))
    return found


def test_every_listing_and_show_takes_an_output_format() -> None:
    commands = subcommands(build_parser())
    showing = [
        path
        for path in commands
        if path and path[-1] in ("list", "show", "sessions", "attempts", "console-sessions")
    ]
    assert len(showing) >= 10, showing
    for path in showing:
        options = {o for a in commands[path]._actions for o in a.option_strings}
        assert {"-o", "--output"} <= options, path
    assert ("console", "link") in commands and ("console-link",) in commands


async def cli(env: dict[str, Any], capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    """One command run in this process (as the console script runs it): its stdout."""
    args = build_parser().parse_args(argv)
    code = await run_command(args, CommonSettings(**env))
    assert code == 0, argv
    return capsys.readouterr().out


async def test_output_formats_of_listings_and_shows(
    service_env: dict[str, Any], db: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    env = service_env
    await cli(env, capsys, "accounts", "create", "acme")
    await cli(env, capsys, "keys", "create", "--account", "acme", "--permission", "mail")

    table = await cli(env, capsys, "keys", "list", "--account", "acme")
    assert table.startswith("ID\tPREFIX\tNAME")
    keys = json.loads(await cli(env, capsys, "keys", "list", "--account", "acme", "-o", "json"))
    assert [k["permissions"] for k in keys] == [["mail"]]
    assert RFC3339_Z.fullmatch(keys[0]["created_at"]) and keys[0]["last_used_at"] is None
    as_yaml = await cli(env, capsys, "keys", "list", "--account", "acme", "--output", "yaml")
    assert yaml.safe_load(as_yaml) == keys

    accounts = json.loads(await cli(env, capsys, "accounts", "list", "-o", "json"))
    assert [a["name"] for a in accounts] == ["acme"]
    for command in (
        ("providers", "list", "--account", "acme"),
        ("webhooks", "list", "--account", "acme"),
        ("messages", "list", "--account", "acme"),
        ("console", "sessions", "--account", "acme"),
        ("console-sessions", "--account", "acme"),
        ("templates", "list", "--account", "acme"),
        ("domains", "list", "--account", "acme"),
    ):
        assert yaml.safe_load(await cli(env, capsys, *command, "-o", "yaml")) == [], command

    for spelling in (("console", "link"), ("console-link",)):
        out = await cli(env, capsys, *spelling, "--account", "acme", "--base-url", "http://x")
        assert "http://x/console/link/" in out.splitlines()[-1]

    with pytest.raises(CliError, match="no message"):
        await run_command(
            build_parser().parse_args(["messages", "show", "<nothing@x>", "-o", "json"]),
            CommonSettings(**env),
        )
    with pytest.raises(SystemExit) as usage:
        build_parser().parse_args(["keys", "list", "-o", "xml"])
    assert usage.value.code == 2


async def test_the_console_script_version_exit_codes_and_json(
    service_env: dict[str, Any], db: Database
) -> None:
    env = service_env
    version = await mailpass(env, "--version")
    assert version.code == 0 and re.fullmatch(r"mailpass \S+\n", version.out), version
    unknown = await mailpass(env, "keys", "list", "--account", "nobody", "-o", "json")
    assert unknown.code == 1 and "unknown account" in unknown.err and unknown.out == ""
    assert "exit codes:" in (await mailpass(env, "--help")).out
