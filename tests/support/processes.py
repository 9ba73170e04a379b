"""MailPass processes (services, the CLI) started for real, with a test's settings."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Any

BIN = Path(sys.executable).parent


def process_env(env: dict[str, Any], **extra: Any) -> dict[str, str]:
    """Environment variables for a real MailPass process with the test's settings."""
    variables = {key.upper(): str(value) for key, value in {**env, **extra}.items()}
    return {**os.environ, "LOG_LEVEL": "WARNING", **variables}


async def run_cli(env: dict[str, Any], *args: str) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        str(BIN / "mailpass"),
        *args,
        env=process_env(env),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await proc.communicate()
    return proc.returncode or 0, out.decode()
