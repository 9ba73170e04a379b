"""The image's build stage, replayed without a container engine.

The Dockerfile's build stage copies a few paths and installs, with uv, the runtime lock
(no resolution, --no-deps) and then MailPass itself into a fresh virtual environment.
This does the same from the Dockerfile's own COPY lines into a temporary directory, so
the tests can run the console scripts as the image has them: installed from
requirements-runtime.lock alone, not editable, without the dev tools.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import venv
from dataclasses import dataclass
from pathlib import Path

from tests.helm.chart import ROOT

DOCKERFILE = ROOT / "Dockerfile"
UV = Path(sys.executable).with_name("uv")


@dataclass(frozen=True)
class BuildStage:
    copies: list[str]  # what the build stage copies from the context
    installs: list[list[str]]  # the uv pip install commands, after `--python VENV`
    venv: str  # the virtual environment it installs into


def build_stage() -> BuildStage:
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    stage = text.split(" AS build", 1)[1].split("\nFROM ", 1)[0]
    copies = [line.split()[1] for line in stage.splitlines() if line.startswith("COPY ")]
    (venv_path,) = re.findall(r"python -m venv (\S+)", stage)
    installs = [
        match.split()
        for match in re.findall(rf"uv pip install --python {venv_path}/bin/python ([^\n&]+)", stage)
    ]
    return BuildStage(copies, installs, venv_path)


def build_image_venv(workdir: Path) -> Path:
    """Replay the build stage in ``workdir``; returns the virtual environment's bin/."""
    stage = build_stage()
    context = workdir / "src"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    for source in stage.copies:
        origin = ROOT / source.rstrip("/")
        if origin.is_dir():
            shutil.copytree(origin, context / source, ignore=ignore)
        else:
            context.mkdir(parents=True, exist_ok=True)
            shutil.copy2(origin, context / source)
    target = workdir / "venv"
    venv.EnvBuilder(with_pip=False).create(target)
    python = str(target / "bin" / "python")
    for arguments in stage.installs:
        subprocess.run(
            [str(UV), "pip", "install", "--quiet", "--python", python, *arguments],
            cwd=context,
            check=True,
            timeout=300,
        )
    return target / "bin"
