"""The stack's processes: one service in a session of its own (stopped with its workers),
the console scripts it runs, free ports (:mod:`stack` puts them together)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

STOP_GRACE_SECONDS = 15.0


class StackError(RuntimeError):
    """A part of the stack did not start or died; the message names its log."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def script(name: str, bin_dir: Path | None = None) -> str:
    """A console script of ``bin_dir`` (another release's virtual environment), by default
    of the one running this interpreter."""
    path = (bin_dir or Path(sys.executable).parent) / name
    if not path.exists():
        raise StackError(f"{name} is not installed in {path.parent}: run `make install`")
    return str(path)


@dataclass
class Service:
    """One process of the stack (and the workers it forks, all in its session)."""

    name: str
    argv: list[str]
    env: dict[str, str]
    log_path: Path
    management_port: int | None = None
    process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                self.argv,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

    def signal(self, sig: int) -> None:
        """Signal the service's whole session (a gateway's workers too)."""
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, sig)

    def wait_stopped(self, timeout: float) -> bool:
        if self.process is None:
            return True
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            return False
        return True

    def stop(self, grace: float = STOP_GRACE_SECONDS) -> None:
        self.signal(signal.SIGTERM)
        if not self.wait_stopped(grace):
            self.signal(signal.SIGKILL)
            self.wait_stopped(5)
        # Workers left behind by a parent that exited first.
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.process.pid, signal.SIGKILL)

    def log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""
