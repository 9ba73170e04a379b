"""The Dockerfile agrees with the chart and the locks (tests.helm.image replays its build
stage without an engine; tests/image builds the image with podman and runs it)."""

from __future__ import annotations

import re
import tomllib

import yaml

from tests.helm.chart import CHART_DIR, ROOT
from tests.helm.image import DOCKERFILE, build_stage

DOCKERFILE_TEXT = DOCKERFILE.read_text()
COMPONENTS = ["gateway", "sender", "tracker", "webhooks", "inbound", "smtp", "scheduler", "dbInit"]


def pins(lock: str) -> dict[str, str]:
    text = (ROOT / lock).read_text()
    return dict(re.findall(r"^([A-Za-z0-9._-]+)==(\S+)", text, flags=re.MULTILINE))


def normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_names(requirements: list[str]) -> set[str]:
    return {normalized(re.split(r"[\[<>=~!; ]", r, maxsplit=1)[0]) for r in requirements}


def test_the_base_image_is_pinned_and_shared_by_both_stages() -> None:
    (base,) = re.findall(r"^ARG PYTHON_IMAGE=(\S+)$", DOCKERFILE_TEXT, flags=re.MULTILINE)
    assert re.fullmatch(r"python:3\.11\.\d+-slim-bookworm(@sha256:[0-9a-f]{64})?", base)
    stages = re.findall(r"^FROM (\S+) AS (\w+)$", DOCKERFILE_TEXT, flags=re.MULTILINE)
    assert stages == [("${PYTHON_IMAGE}", "build"), ("${PYTHON_IMAGE}", "runtime")]


def test_the_image_user_is_the_charts_run_as_user() -> None:
    (user,) = re.findall(r"^USER (\d+):(\d+)$", DOCKERFILE_TEXT, flags=re.MULTILINE)
    assert re.search(rf"useradd --system --uid {user[0]} ", DOCKERFILE_TEXT)
    assert re.search(rf"groupadd --system --gid {user[1]} ", DOCKERFILE_TEXT)
    values = yaml.safe_load((CHART_DIR / "values.yaml").read_text())
    for component in COMPONENTS:
        for context in ("podSecurityContext", "containerSecurityContext"):
            settings = values[component][context]
            assert (settings["runAsUser"], settings["runAsGroup"]) == tuple(map(int, user))


def test_the_runtime_image_writes_only_to_tmp() -> None:
    runtime = DOCKERFILE_TEXT.split(" AS runtime", 1)[1]
    for setting in ("HOME=/tmp", "TMPDIR=/tmp", "PYTHONDONTWRITEBYTECODE=1"):
        assert setting in runtime
    assert "UV_COMPILE_BYTECODE=1" in DOCKERFILE_TEXT  # compiled once, at build time


def test_dependencies_come_from_the_runtime_lock_only() -> None:
    stage = build_stage()
    assert stage.installs == [
        ["--no-deps", "-r", "requirements-runtime.lock"],
        ["--no-deps", "."],
    ]
    assert stage.copies[0] == "requirements-runtime.lock"  # its own cached layer


def test_the_runtime_lock_is_the_runtime_part_of_the_full_lock() -> None:
    """Same versions as .venv (what the tests ran), the project's runtime dependencies,
    none of the dev ones."""
    runtime, full = pins("requirements-runtime.lock"), pins("requirements.lock")
    assert {name: full.get(name) for name in runtime} == runtime
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    locked = {normalized(name) for name in runtime}
    wanted = requirement_names(project["dependencies"])
    assert wanted <= locked, wanted - locked
    dev = requirement_names(project["optional-dependencies"]["dev"])
    assert not dev & locked, dev & locked


def test_the_build_context_holds_what_the_build_copies() -> None:
    ignore = (ROOT / ".dockerignore").read_text().splitlines()
    # Everything out first, then the allowlist back in.
    first_allowed = min(i for i, line in enumerate(ignore) if line.startswith("!"))
    assert "*" in ignore[:first_allowed]
    allowed = {line[1:].rstrip("/") for line in ignore if line.startswith("!")}
    assert set(build_stage().copies) == allowed
