"""A RabbitMQ node of the chaos run's own, so that restarting it never touches anyone else.

The machine's broker (``rabbit@localhost`` on 5672) serves ``make run``, the tests and
other people's work: the chaos run starts a second node beside it, ``chaos-<port>@localhost``
on ports of its own (AMQP ``port``, Erlang distribution ``port + 20000``), with its data,
logs, configuration (no plugins: no management listener), pid file and Erlang cookie in
one temporary directory. Its ``HOME`` is that directory, so the cookie is its own too.

The Debian scripts in ``/usr/sbin`` switch to the ``rabbitmq`` user when run as root,
which could not write that directory; the scripts they wrap
(``/usr/lib/rabbitmq/bin``) run as whoever calls them, root or not, and are preferred.

Starting a node takes several seconds (``rabbitmqctl wait`` on its pid file says when it
is up); :meth:`OwnBroker.stop` stops it with ``rabbitmqctl stop`` and kills what is left,
and :meth:`OwnBroker.close` also removes the directory: call it in a ``finally``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from mailpass_dev.processes import StackError
from mailpass_dev.stack import REPO_ROOT

WRAPPED_SCRIPTS = Path("/usr/lib/rabbitmq/bin")
DIST_PORT_OFFSET = 20_000
START_TIMEOUT_SECONDS = 90
STOP_TIMEOUT_SECONDS = 60


def _script(name: str) -> str:
    wrapped = WRAPPED_SCRIPTS / name
    if wrapped.exists():
        return str(wrapped)
    found = shutil.which(name)
    if found is None:
        raise StackError(f"{name} is not installed: run `scripts/rabbitmq.sh install`")
    return found


def ensure_installed() -> None:
    """Install rabbitmq-server when missing (apt, as root), as ``make test`` does."""
    if shutil.which("rabbitmq-server") or (WRAPPED_SCRIPTS / "rabbitmq-server").exists():
        return
    subprocess.run([str(REPO_ROOT / "scripts" / "rabbitmq.sh"), "install"], check=True)


def _free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def pick_ports() -> int:
    """An AMQP port whose distribution port (``+ 20000``) is free as well."""
    for _ in range(200):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1]) % DIST_PORT_OFFSET + 20_000
        if _free(port) and _free(port + DIST_PORT_OFFSET):
            return port
    raise StackError("no free pair of ports for the chaos broker")


# Nodes started and not yet closed: an interrupted run closes them on its way out.
_OPEN: set[OwnBroker] = set()


def close_open_brokers() -> None:
    for broker in list(_OPEN):
        broker.close()


class OwnBroker:
    def __init__(self, port: int | None = None, *, cookie: str | None = None) -> None:
        """``cookie``: the Erlang cookie, the same for every node of a cluster (None: the
        node makes one of its own on first start)."""
        self.port = port or pick_ports()
        self.dir = Path(tempfile.mkdtemp(prefix=f"mailpass-chaos-rabbitmq-{self.port}-"))
        self.node = f"chaos-{self.port}@localhost"
        if cookie is not None:
            cookie_file = self.dir / ".erlang.cookie"
            cookie_file.write_text(cookie)
            cookie_file.chmod(0o400)
        (self.dir / "rabbitmq.conf").write_text(
            f"listeners.tcp.local = 127.0.0.1:{self.port}\nloopback_users = none\n"
        )
        (self.dir / "enabled_plugins").write_text("[].\n")
        self.pid_file = self.dir / "rabbitmq.pid"
        self.log_dir = self.dir / "log"

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/"

    def _env(self) -> dict[str, str]:
        return {
            **os.environ,
            "HOME": str(self.dir),
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.port + DIST_PORT_OFFSET),
            "RABBITMQ_MNESIA_BASE": str(self.dir / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.log_dir),
            "RABBITMQ_CONFIG_FILE": str(self.dir / "rabbitmq.conf"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.dir / "enabled_plugins"),
            "RABBITMQ_PID_FILE": str(self.pid_file),
        }

    def ctl(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """``rabbitmqctl -n <this node> ...``."""
        return self.script("rabbitmqctl", *args, timeout=timeout)

    def script(
        self, name: str, *args: str, timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        """One of RabbitMQ's scripts (rabbitmqctl, rabbitmq-queues) against this node."""
        return subprocess.run(
            [_script(name), "-n", self.node, *args],
            env=self._env(),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def start(self) -> None:
        """Start the node detached and wait until it serves AMQP."""
        _OPEN.add(self)
        self.pid_file.unlink(missing_ok=True)
        subprocess.run(
            [_script("rabbitmq-server"), "-detached"],
            env=self._env(),
            cwd=self.dir,
            check=True,
            capture_output=True,
            timeout=30,
        )
        try:
            waited = self.ctl(
                "wait", str(self.pid_file), "--timeout", str(START_TIMEOUT_SECONDS),
                timeout=START_TIMEOUT_SECONDS + 10,
            )  # fmt: skip
        except subprocess.TimeoutExpired:
            waited = None
        if waited is None or waited.returncode != 0:
            detail = waited.stderr.strip() if waited is not None else "timed out"
            self.stop()
            raise StackError(
                f"the chaos RabbitMQ node did not start ({detail}); logs: {self.log_dir}"
            )

    def _pid(self) -> int | None:
        try:
            return int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None

    def stop(self) -> None:
        """Stop the node and wait until its process is gone (killed if it lingers)."""
        pid = self._pid()
        if pid is None and self not in _OPEN:
            return  # never started
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.ctl("stop", str(self.pid_file), timeout=STOP_TIMEOUT_SECONDS)
        if pid is not None and _alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            deadline = time.monotonic() + 10
            while _alive(pid) and time.monotonic() < deadline:
                time.sleep(0.1)

    def kill(self) -> None:
        """SIGKILL the node, as a crash or a lost machine would end it."""
        pid = self._pid()
        if pid is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)

    def restart(self) -> float:
        """Stop and start again on the same ports and data; the seconds it was down."""
        started = time.monotonic()
        self.stop()
        self.start()
        return time.monotonic() - started

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
        _OPEN.discard(self)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child (the detached start is not ours, but be safe) counts as gone.
    with contextlib.suppress(OSError):
        if Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1].startswith("Z"):
            return False
    return True
