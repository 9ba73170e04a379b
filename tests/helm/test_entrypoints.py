"""What the chart runs exists in the image: every container command is a console script
of the distribution, and each one starts.

The image is built from the same pyproject.toml and lock as this virtual environment
(there is no container engine here to build it), so the console scripts installed in
.venv are the ones the image has. Servers are not started: for the services the script's
entry point is resolved and its module imported; the one-shot commands answer --help;
`mailpass db init`, the hook Job's command, runs against the test database.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import pytest

from mailpass_common import idempotency
from mailpass_common.db import INDEXES, connect
from mailpass_common.settings import CommonSettings
from tests.admin.test_cli import mailpass
from tests.helm.chart import ROOT, Rendered, containers, render, scenario_values, workloads

BIN = Path(sys.executable).parent


def console_scripts() -> dict[str, str]:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    scripts: dict[str, str] = pyproject["project"]["scripts"]
    return scripts


def chart_commands() -> set[tuple[str, ...]]:
    """Every (command + args) a container of any scenario runs."""
    commands = set()
    for values in scenario_values().values():
        rendered: Rendered = render(values)
        for workload in workloads(rendered):
            for container in containers(workload):
                commands.add((*container["command"], *container.get("args", [])))
    return commands


COMMANDS = sorted(chart_commands())


def test_the_chart_runs_one_command_per_component() -> None:
    assert COMMANDS == [
        ("mailpass", "db", "init"),
        ("mailpass-gateway",),
        ("mailpass-scheduler", "flush"),
        ("mailpass-sender",),
        ("mailpass-tracker",),
    ]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_command_is_a_console_script_of_the_distribution(command: tuple[str, ...]) -> None:
    script = command[0]
    assert script in console_scripts(), f"{script} is not in [project.scripts]"
    installed = {ep.name: ep.value for ep in entry_points(group="console_scripts")}
    assert installed.get(script) == console_scripts()[script], "run `make install`"
    assert (BIN / script).is_file()


@pytest.mark.parametrize("command", [c for c in COMMANDS if len(c) > 1], ids=" ".join)
def test_one_shot_commands_answer_help(command: tuple[str, ...]) -> None:
    done = subprocess.run(
        [str(BIN / command[0]), *command[1:], "--help"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: "), done.stdout


@pytest.mark.parametrize("command", [c for c in COMMANDS if len(c) == 1], ids=" ".join)
def test_service_entry_points_import(command: tuple[str, ...]) -> None:
    """The script's target resolves and its module imports, in a fresh interpreter."""
    probe = (
        "import sys\n"
        "from importlib.metadata import entry_points\n"
        f"(ep,) = [e for e in entry_points(group='console_scripts') if e.name == {command[0]!r}]\n"
        "main = ep.load()\n"
        "assert callable(main), ep.value\n"
        "print(ep.value)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, cwd="/"
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == console_scripts()[command[0]]


async def test_db_init_creates_the_indexes_and_can_run_again(service_env: dict[str, Any]) -> None:
    # Compared by keys: nx-27017 names indexes its own way.
    expected = {
        name: {tuple(m.document["key"].items()) for m in models} for name, models in INDEXES.items()
    }
    expected[idempotency.COLLECTION] = {(("created_at", 1),)}
    client, db = connect(CommonSettings(**service_env))
    try:
        for _ in range(2):  # every upgrade runs it again
            run = await mailpass(service_env, "db", "init")
            assert run.code == 0, run.err
            assert "indexes are in place" in run.out
        for collection, keys in expected.items():
            found = await db[collection].index_information()
            assert keys <= {tuple(index["key"]) for index in found.values()}, collection
    finally:
        await client.drop_database(db.name)
        await client.close()
