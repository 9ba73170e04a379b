"""The previous release, ready to run: its source and a virtual environment of its own.

The release is a git ref (the last tag by default, else ``HEAD~10`` on the first-parent
line). Its tree is exported with ``git archive`` (no worktree is registered in the
repository) into ``.data/upgrade/releases/<commit>/src`` and installed with uv into
``.../venv``: the runtime lock of that release (``requirements-runtime.lock``, else
``requirements.lock``) from uv's cache, then the release itself, editable. A prepared
release is reused by the next run. Its console scripts are read from its own
``pyproject.toml``, so a service the previous release did not have is known as such.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

from mailpass_dev.processes import StackError

DEFAULT_BACK = "HEAD~10"
LOCKS = ("requirements-runtime.lock", "requirements.lock")


@dataclass(frozen=True)
class Release:
    ref: str  # as given, or as picked
    commit: str
    subject: str
    root: Path  # the exported tree
    bin_dir: Path  # its virtual environment's console scripts
    scripts: frozenset[str]

    @property
    def short(self) -> str:
        return self.commit[:10]


def _git(repo: Path, *args: str) -> str:
    result = subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise StackError(f"git {' '.join(args)}: {result.stderr.strip()}")
    return result.stdout.strip()


def default_ref(repo: Path) -> str:
    """The last tag reachable from HEAD, else ``HEAD~10`` (first parents: main's own line)."""
    result = subprocess.run(
        ["git", "-C", str(repo), "describe", "--tags", "--abbrev=0"],
        capture_output=True,
        text=True,
        check=False,
    )
    return result.stdout.strip() if result.returncode == 0 else DEFAULT_BACK


def console_scripts(root: Path) -> frozenset[str]:
    with (root / "pyproject.toml").open("rb") as f:
        project = tomllib.load(f).get("project", {})
    return frozenset(project.get("scripts", {}))


def _uv() -> str:
    uv = Path(sys.executable).with_name("uv")
    if not uv.exists():
        raise StackError(f"uv is not installed in {uv.parent}: run `make install`")
    return str(uv)


def _install(root: Path, venv: Path) -> None:
    lock = next((root / name for name in LOCKS if (root / name).exists()), None)
    if lock is None:
        raise StackError(f"the release at {root} has no {' or '.join(LOCKS)}")
    py = str(venv / "bin" / "python")
    steps = [
        [_uv(), "venv", "--quiet", "--python", sys.executable, str(venv)],
        [_uv(), "pip", "install", "--quiet", "--python", py, "-r", str(lock)],
        [_uv(), "pip", "install", "--quiet", "--python", py, "--no-deps", "-e", str(root)],
    ]
    for argv in steps:
        result = subprocess.run(argv, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise StackError(f"{' '.join(argv[:3])} failed:\n{result.stderr.strip()[-2000:]}")


def prepare(repo: Path, ref: str, cache_dir: Path) -> Release:
    """Export and install ``ref`` (once per commit; later runs reuse it)."""
    commit = _git(repo, "rev-parse", "--verify", f"{ref}^{{commit}}")
    subject = _git(repo, "log", "-1", "--format=%s", commit)
    home = cache_dir / commit
    root, venv, done = home / "src", home / "venv", home / ".prepared"
    if not done.exists():
        shutil.rmtree(home, ignore_errors=True)
        root.mkdir(parents=True)
        archive = subprocess.Popen(
            ["git", "-C", str(repo), "archive", commit], stdout=subprocess.PIPE
        )
        subprocess.run(["tar", "-x", "-C", str(root)], stdin=archive.stdout, check=True)
        if archive.wait() != 0:
            raise StackError(f"git archive {commit} failed")
        _install(root, venv)
        done.touch()
    return Release(ref, commit, subject, root, venv / "bin", console_scripts(root))
