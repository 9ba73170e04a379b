"""The machine and software a bench ran on, written beside its figures."""

from __future__ import annotations

import contextlib
import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

import aio_pika

from mailpass_common.platform.db import Database
from mailpass_dev.stack import REPO_ROOT

PACKAGES = (
    "mailpass",
    "pymongo",
    "aio-pika",
    "aiormq",
    "fastapi",
    "uvicorn",
    "aiosmtplib",
    "pydantic",
    "nx-27017",
)


def _first_line(argv: list[str]) -> str | None:
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        result = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
        lines = (result.stdout or result.stderr).strip().splitlines()
        return lines[0] if lines else None
    return None


def cpu_model() -> str | None:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or None


def memory_gib() -> float | None:
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    return None


def package_versions() -> dict[str, str | None]:
    versions: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


async def rabbitmq_version(amqp_url: str) -> str | None:
    with contextlib.suppress(Exception):
        connection = await aio_pika.connect(amqp_url)
        async with connection:
            transport = connection.transport
            if transport is None:
                return None
            version = transport.connection.server_properties.get("version")
            return version.decode() if isinstance(version, bytes) else str(version)
    return None


async def mongodb_version(db: Database) -> str | None:
    with contextlib.suppress(Exception):
        info = await db.client.admin.command("buildInfo")
        return str(info.get("version"))
    return None


def git_commit() -> dict[str, Any]:
    commit = _first_line(["git", "-C", str(REPO_ROOT), "rev-parse", "HEAD"])
    branch = _first_line(["git", "-C", str(REPO_ROOT), "rev-parse", "--abbrev-ref", "HEAD"])
    status = subprocess.run(
        ["git", "-C", str(REPO_ROOT), "status", "--porcelain", "--untracked-files=no"],
        capture_output=True,
        text=True,
        check=False,
    )
    return {"commit": commit, "branch": branch, "dirty": bool(status.stdout.strip())}


async def describe(amqp_url: str, db: Database, mongodb_url_set: bool) -> dict[str, Any]:
    uname = platform.uname()
    return {
        "cpu_model": cpu_model(),
        "cores": os.cpu_count(),
        "memory_gib": memory_gib(),
        "kernel": f"{uname.system} {uname.release}",
        "machine": uname.machine,
        "python": platform.python_version(),
        "packages": package_versions(),
        "rabbitmq": await rabbitmq_version(amqp_url),
        "mongodb": {
            "server": "MONGODB_URL" if mongodb_url_set else "nx-27017",
            "build_info_version": await mongodb_version(db),
        },
        "postfix": _first_line(["dpkg-query", "-W", "-f=${Version}", "postfix"]),
        "wrk": _first_line(["wrk", "-v"]),
        "git": git_commit(),
    }
