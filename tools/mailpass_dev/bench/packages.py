"""The Debian packages the bench drives: Postfix (smtp-sink, smtp-source) and wrk.

Missing ones are installed with apt when the bench runs as root. Postfix is preseeded
with "No configuration", so the package configures and starts no mail system: only its
two test programs are used. A Postfix master that the install left listening on port 25
anyway is stopped.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from collections.abc import Callable
from pathlib import Path

from mailpass_dev.bench.sink import SMTP_SINK, SMTP_SOURCE

WRK = "wrk"
POSTFIX_PRESEED = "postfix postfix/main_mailer_type select No configuration\n"


def missing_packages() -> list[str]:
    missing = []
    if not (Path(SMTP_SINK).exists() and Path(SMTP_SOURCE).exists()):
        missing.append("postfix")
    if shutil.which(WRK) is None:
        missing.append("wrk")
    return missing


def _run(argv: list[str], stdin: str | None = None) -> None:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    result = subprocess.run(argv, input=stdin, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"`{' '.join(argv)}` failed:\n{result.stderr.strip()}")


def _port_25_answers() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 25), timeout=0.5):
            return True
    except OSError:
        return False


def ensure_installed(log: Callable[[str], None] = print) -> list[str]:
    """Install what is missing (as root, with apt); the packages installed."""
    missing = missing_packages()
    if not missing:
        return []
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise RuntimeError(
            f"the bench needs {' and '.join(missing)}: sudo apt-get install -y {' '.join(missing)}"
        )
    log(f"installing {', '.join(missing)} with apt-get")
    if "postfix" in missing:
        _run(["debconf-set-selections"], POSTFIX_PRESEED)
    listening_before = _port_25_answers()
    _run(["apt-get", "update", "-qq"])
    _run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing])
    if "postfix" in missing and not listening_before and _port_25_answers():
        _run(["postfix", "stop"])
    still = missing_packages()
    if still:
        raise RuntimeError(f"{', '.join(still)} still missing after apt-get install")
    return missing
