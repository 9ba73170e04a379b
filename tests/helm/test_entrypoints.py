"""What the chart runs exists in the image: every container command is a console script
of the distribution, and each one starts.

There is no container engine here, so the image's build stage is replayed into a
temporary virtual environment (tests.helm.image): installed from requirements-runtime.lock
alone, as the image is. Servers are not started: for the services the script's entry
point is resolved and its module imported; the one-shot commands answer --help; and none
of it writes into the installation (the chart's root filesystem is read-only). `mailpass
db init`, the hook Job's command, also runs against the test database.
"""

from __future__ import annotations

import os
import subprocess
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mailpass_common.messages import idempotency
from mailpass_common.platform.db import INDEXES, connect
from mailpass_common.platform.settings import CommonSettings
from tests.admin.test_cli import mailpass
from tests.helm.chart import ROOT, Rendered, containers, render, scenario_values, workloads
from tests.helm.image import build_image_venv


@pytest.fixture(scope="module")
def image_bin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The image's virtual environment; fails if anything writes into it meanwhile."""
    bin_dir = build_image_venv(tmp_path_factory.mktemp("image"))
    before = snapshot(bin_dir.parent)
    yield bin_dir
    assert snapshot(bin_dir.parent) == before, "a command wrote into the installation"


def snapshot(root: Path) -> dict[str, int]:
    return {str(p): p.stat().st_mtime_ns for p in root.rglob("*") if not p.is_symlink()}


def run_in_image(bin_dir: Path, tmp: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    """As the image's ENV has it: HOME and TMPDIR on /tmp, no bytecode written."""
    env = {
        "PATH": f"{bin_dir}:/usr/bin:/bin",
        "HOME": str(tmp),
        "TMPDIR": str(tmp),
        "PYTHONDONTWRITEBYTECODE": "1",
        "LANG": os.environ.get("LANG", "C.UTF-8"),
    }
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, env=env, cwd=tmp)


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
        ("mailpass-inbound",),
        ("mailpass-scheduler", "flush"),
        ("mailpass-sender",),
        ("mailpass-smtp",),
        ("mailpass-tracker",),
        ("mailpass-webhooks",),
    ]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_command_is_a_console_script_in_the_image(
    command: tuple[str, ...], image_bin: Path
) -> None:
    script = command[0]
    assert script in console_scripts(), f"{script} is not in [project.scripts]"
    assert (image_bin / script).is_file()


@pytest.mark.parametrize("command", [c for c in COMMANDS if len(c) > 1], ids=" ".join)
def test_one_shot_commands_answer_help(
    command: tuple[str, ...], image_bin: Path, tmp_path: Path
) -> None:
    done = run_in_image(image_bin, tmp_path, str(image_bin / command[0]), *command[1:], "--help")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: "), done.stdout


@pytest.mark.parametrize("command", [c for c in COMMANDS if len(c) == 1], ids=" ".join)
def test_service_entry_points_import(
    command: tuple[str, ...], image_bin: Path, tmp_path: Path
) -> None:
    """The script's target resolves and its module imports, in the image's interpreter."""
    probe = (
        "from importlib.metadata import entry_points\n"
        f"(ep,) = [e for e in entry_points(group='console_scripts') if e.name == {command[0]!r}]\n"
        "main = ep.load()\n"
        "assert callable(main), ep.value\n"
        "print(ep.value)\n"
    )
    done = run_in_image(image_bin, tmp_path, str(image_bin / "python"), "-c", probe)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == console_scripts()[command[0]]


def test_the_gateway_ships_the_consoles_pages_and_static_files(
    image_bin: Path, tmp_path: Path
) -> None:
    """Templates and static files are package data: a non-editable install has them."""
    probe = (
        "from mailpass_gateway.console.pages import STATIC, TEMPLATES, environment\n"
        "from mailpass_gateway.console.provider_forms import config_fields\n"
        "names = sorted(environment.list_templates())\n"
        "assert 'providers/form.html' in names and 'base.html' in names, names\n"
        "for name in names:\n"
        "    environment.get_template(name)\n"
        "assert config_fields('smtp')\n"
        "print(sorted(p.name for p in STATIC.iterdir()))\n"
    )
    done = run_in_image(image_bin, tmp_path, str(image_bin / "python"), "-c", probe)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "['console.css', 'console.js', 'favicon.svg']"


def test_the_image_has_no_dev_tools(image_bin: Path) -> None:
    for tool in ("pytest", "ruff", "mypy", "moto_server", "nx-27017", "honcho"):
        assert not (image_bin / tool).exists(), tool


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
